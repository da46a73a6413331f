"""Huiyuan hardware proxy: a small asyncio service bridging till devices to the browser POS."""

__version__ = "0.1.0"
