"""``hw-proxy`` command line: serve, demo, swipe, weigh, printer-mode, render, tokens."""

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from .config import Config, normalize_origin
from .exceptions import ProxyError

HERE = Path(__file__).parent
DEMO_CONFIG = HERE / "demo.toml"


def load_config(args):
    path = Path(args.config) if getattr(args, "config", None) else DEMO_CONFIG
    config = Config.load(path)
    runtime = getattr(args, "runtime_dir", None) or os.environ.get("HW_PROXY_RUNTIME_DIR")
    if runtime or path == DEMO_CONFIG:
        # the packaged demo config keeps its runtime dir relative to the working directory
        data = _raw_toml(path)
        data.setdefault("server", {})["runtime_dir"] = str(
            Path(runtime or data.get("server", {}).get("runtime_dir", "var/hw_proxy")).absolute())
        config = Config.from_dict(data, base=Path.cwd(), source=path)
    if getattr(args, "port", None):
        config.port = args.port
    if getattr(args, "origin", None):
        config.allowed_origins = tuple(normalize_origin(o) for o in args.origin)
    return config


def _raw_toml(path):
    import tomllib
    return tomllib.loads(Path(path).read_text("utf-8"))


async def _serve(config, *, virtual, pair):
    from .app import PROXY, create_app
    from .virtual import start_virtual_devices

    try:
        twins = await start_virtual_devices(config) if virtual else {}
    except OSError as exc:
        raise ProxyError(f"cannot start the virtual devices: {exc} (is another demo "
                         "running? change the printer port in the config)") from None
    app = create_app(config)
    runner = web.AppRunner(app, access_log_format='%a "%r" %s %b %Tfs')
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, shutdown_timeout=3)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        for twin in twins.values():
            await twin.stop()
        raise ProxyError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    proxy = app[PROXY]
    print(f"Huiyuan hardware proxy on http://{config.host}:{config.port}/ "
          f"(origins: {', '.join(config.allowed_origins) or 'none'})", flush=True)
    for name, device in proxy.devices.items():
        print(f"  {device.type:12} {name:10} {device.url}", flush=True)
    if virtual:
        reader = next((n for n, d in config.devices.items()
                       if d.virtual and d.type == "card_reader"), None)
        print(f"Virtual devices in {config.runtime_dir}: try `hw-proxy swipe 0012345678`"
              + (f" (reader {reader})" if reader else "")
              + ", `hw-proxy weigh 1.250`, `hw-proxy printer-mode paper_out`", flush=True)
    if pair:
        proxy.pairing.ttl = max(proxy.pairing.ttl, 600)
        proxy.pairing.request(None, "POS (startup code)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        for twin in twins.values():
            await twin.stop()


def cmd_serve(args):
    config = load_config(args)
    asyncio.run(_serve(config, virtual=args.virtual, pair=args.pair))


def cmd_demo(args):
    args.config = args.config or None
    config = load_config(args)
    asyncio.run(_serve(config, virtual=True, pair=not args.no_pair))


def _virtual_path(config, device_type, name):
    devices = [(n, d) for n, d in config.devices.items()
               if d.type == device_type and d.virtual and (name is None or n == name)]
    if not devices:
        raise ProxyError(f"no virtual {device_type} in {config.source}"
                         + (f" named {name!r}" if name else ""))
    return devices[0]


def cmd_swipe(args):
    from .parsers import card_number_to_tag, em4100_frame

    config = load_config(args)
    name, dev = _virtual_path(config, "card_reader", args.device)
    number = args.number.strip()
    if not args.hex and number.isdigit() and int(number) >= 2**32:
        # too long for a 125 kHz EM4100 tag (32-bit number): a magnetic card carries it
        args.magstripe = True
        print(f"{number} does not fit an EM4100 tag: swiping it as a magnetic card")
    if args.magstripe:
        if not args.number.isdigit() or len(args.number) > 19:
            raise ProxyError("a magstripe card number is 1-19 digits")
        frame = f";{args.number}?\r".encode()
    else:
        try:
            tag = args.number.upper() if args.hex else card_number_to_tag(args.number)
            frame = em4100_frame(tag)
        except ValueError as exc:
            raise ProxyError(str(exc)) from None
    path = f"{dev.url.path}-host"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY)
    except OSError as exc:
        raise ProxyError(f"cannot open the virtual reader {path}: {exc.strerror} "
                         "(is `hw-proxy demo` running with the same runtime dir?)") from None
    try:
        os.write(fd, frame)
    finally:
        os.close(fd)
    print(f"swiped {args.number} on {name}: {frame!r}")


def cmd_weigh(args):
    config = load_config(args)
    name, dev = _virtual_path(config, "scale", args.device)
    state = {"weight": args.weight, "motion": args.motion, "over": args.over,
             "under": args.under}
    path = Path(config.runtime_dir) / f"{name}.json"
    path.write_text(json.dumps(state))
    print(f"virtual scale {name}: {state}")


def cmd_printer_mode(args):
    from .virtual import PRINTER_MODES

    if args.mode not in PRINTER_MODES:
        raise ProxyError(f"mode must be one of {', '.join(PRINTER_MODES)}")
    config = load_config(args)
    name, dev = _virtual_path(config, "printer", args.device)
    (Path(config.runtime_dir) / f"{name}.mode").write_text(args.mode)
    print(f"virtual printer {name}: {args.mode}")


def cmd_render(args):
    from .commands import dump
    from .receipt import render_receipt

    try:
        receipt = json.loads(Path(args.file).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProxyError(f"{args.file}: {exc}") from None
    data = render_receipt(receipt, args.paper)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"{len(data)} bytes written to {args.output}")
    if args.dump or not args.output:
        sys.stdout.write(dump(data))


def cmd_tokens(args):
    from .security import TokenStore

    config = load_config(args)
    store = TokenStore(config.token_store)
    if args.action == "revoke":
        if not args.id or not store.revoke(args.id):
            raise ProxyError(f"no token with id {args.id!r}")
        print(f"revoked {args.id}")
        return
    for t in store.tokens:
        print(f"{t['id']}  {t['name']!r:30} {t['origin']}")


def build_parser():
    p = argparse.ArgumentParser(prog="hw-proxy", description="Huiyuan hardware proxy")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp, port=False):
        sp.add_argument("--config", help="TOML config (default: the packaged demo.toml)")
        sp.add_argument("--runtime-dir", help="directory for tokens, dummy output, virtual "
                                              "devices (default var/hw_proxy)")
        if port:
            sp.add_argument("--port", type=int, help="listen port (default 8400)")
            sp.add_argument("--origin", action="append",
                            help="allowed POS origin, repeatable (replaces the config list)")

    sp = sub.add_parser("serve", help="run the proxy")
    common(sp, port=True)
    sp.add_argument("--virtual", action="store_true", help="start twins for virtual devices")
    sp.add_argument("--pair", action="store_true", help="print a pairing code at start")
    sp.set_defaults(func=cmd_serve)

    sp = sub.add_parser("demo", help="run with every device virtual and print a pairing code")
    common(sp, port=True)
    sp.add_argument("--no-pair", action="store_true")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("swipe", help="swipe a card on the virtual serial reader")
    common(sp)
    sp.add_argument("number", help="card number as printed (decimal; numbers above 32 bits "
                                   "go as a magnetic track 2) or 10 hex digits with --hex")
    sp.add_argument("--hex", action="store_true", help="number is the 10-hex-digit EM4100 tag")
    sp.add_argument("--magstripe", action="store_true", help="send a track 2 instead")
    sp.add_argument("--device")
    sp.set_defaults(func=cmd_swipe)

    sp = sub.add_parser("weigh", help="put a weight on the virtual scale")
    common(sp)
    sp.add_argument("weight")
    for flag in ("motion", "over", "under"):
        sp.add_argument(f"--{flag}", action="store_true")
    sp.add_argument("--device")
    sp.set_defaults(func=cmd_weigh)

    sp = sub.add_parser("printer-mode", help="switch the virtual network printer")
    common(sp)
    sp.add_argument("mode", help="online, near_end, offline, paper_out, silent, off")
    sp.add_argument("--device")
    sp.set_defaults(func=cmd_printer_mode)

    sp = sub.add_parser("render", help="render a receipt JSON to ESC/POS")
    sp.add_argument("file")
    sp.add_argument("--paper", default="80mm", choices=["58mm", "80mm"])
    sp.add_argument("-o", "--output")
    sp.add_argument("--dump", action="store_true", help="print a readable dump")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("tokens", help="list or revoke paired tills")
    common(sp)
    sp.add_argument("action", choices=["list", "revoke"])
    sp.add_argument("id", nargs="?")
    sp.set_defaults(func=cmd_tokens)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        args.func(args)
    except ProxyError as exc:
        print(f"hw-proxy: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
