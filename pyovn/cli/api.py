"""pyovn api: a Neutron-compatible networking API that writes the OVN Northbound database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from aiohttp import web

from pyovn.api.app import make_app
from pyovn.api.models import make_engine, make_sessionmaker
from pyovn.api.nb import NbWriter
from pyovn.api.ports import PortService
from pyovn.daemon import (
    add_daemon_options,
    daemon_main,
    install_stop_handlers,
    remove_pidfile,
    write_pidfile,
)

log = logging.getLogger("pyovn.api")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="pyovn api", description=__doc__)
    p.add_argument(
        "--ovnnb-db",
        default=os.environ.get("OVN_NB_DB"),
        required=not os.environ.get("OVN_NB_DB"),
        metavar="REMOTE",
        help="the OVN Northbound database (pyovn's or OVN's)",
    )
    p.add_argument(
        "--database-url",
        default="sqlite:///api.db",
        metavar="URL",
        help="SQLAlchemy URL: sqlite:///PATH (default) or postgresql://...",
    )
    p.add_argument(
        "--fsync",
        action="store_true",
        help="SQLite: make every commit wait for the disk (survives power loss; slower). "
        "Without it a commit survives the process being killed, as with ovsdb-server",
    )
    p.add_argument("--listen", default="127.0.0.1:9696", metavar="IP:PORT")
    p.add_argument(
        "--auth",
        choices=("noauth", "token"),
        default="noauth",
        help="noauth: project from X-Project-Id; token: require X-Auth-Token",
    )
    p.add_argument(
        "--token",
        default=os.environ.get("PYOVN_API_TOKEN"),
        help="the shared token for --auth=token (default $PYOVN_API_TOKEN)",
    )
    p.add_argument(
        "--mac-base",
        default="fa:16:3e:00:00:00",
        metavar="MAC",
        help="generated MACs keep the first three octets of this",
    )
    p.add_argument(
        "--sync",
        choices=("log", "repair"),
        help="compare NB with the database once (log: report; repair: fix), exit",
    )
    p.add_argument(
        "--sync-interval",
        type=float,
        default=60.0,
        metavar="SECS",
        help="how often the reconciler repairs NB drift while running (0: never)",
    )
    add_daemon_options(p)
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.auth == "token" and not args.token:
        print("pyovn api: --auth=token needs --token or $PYOVN_API_TOKEN", file=sys.stderr)
        return 2
    return daemon_main(argv, args, "api", run)


def _url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


async def run(args: argparse.Namespace) -> int:
    engine = make_engine(_url(args.database_url), fsync=args.fsync)
    nb = NbWriter(args.ovnnb_db)
    await nb.start()
    service = PortService(make_sessionmaker(engine), nb, mac_base=args.mac_base)
    if args.sync:
        lines = await service.reconcile(repair=args.sync == "repair")
        for line in lines:
            print(line)
        print(f"{'repaired' if args.sync == 'repair' else 'found'} {len(lines)} difference(s)")
        await nb.close()
        service.close()
        return 0
    repaired = await service.reconcile(repair=True)
    for line in repaired:
        log.warning("start-up repair: %s", line)
    await service.refresh_statuses()
    nb.status_listeners.append(service.set_status)
    app = make_app(service, args.auth, args.token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = args.listen.rpartition(":")
    site = web.TCPSite(runner, host or "127.0.0.1", int(port))
    await site.start()
    log.info("listening on http://%s", args.listen)
    if args.pidfile is not None:
        write_pidfile(args.pidfile or "api.pid")
    stop = asyncio.Event()
    install_stop_handlers(stop)
    reconciler = asyncio.ensure_future(_reconcile_loop(service, args.sync_interval, stop))
    try:
        await stop.wait()
    finally:
        reconciler.cancel()
        await runner.cleanup()
        await nb.close()
        service.close()
        remove_pidfile((args.pidfile or "api.pid") if args.pidfile is not None else None)
    return 0


async def _reconcile_loop(service: PortService, interval: float, stop: asyncio.Event) -> None:
    if interval <= 0:
        return
    while not stop.is_set():
        await asyncio.sleep(interval if not service.nb_dirty else min(interval, 1.0))
        try:
            for line in await service.reconcile(repair=True):
                log.warning("repair: %s", line)
            await service.refresh_statuses()
        except Exception as exc:
            log.warning("reconcile failed: %s", exc)
