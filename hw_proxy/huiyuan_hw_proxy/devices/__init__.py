"""One driver per file on the shared :class:`~.base.Device` base."""

from .base import Device, Job
from .card_reader import CardReader
from .display import CustomerDisplay
from .printer import Printer
from .scale import Scale

DRIVERS = {
    "printer": Printer,
    "card_reader": CardReader,
    "display": CustomerDisplay,
    "scale": Scale,
}

__all__ = ["DRIVERS", "Device", "Job", "Printer", "CardReader", "CustomerDisplay", "Scale"]
