"""The ``dwatch`` command line. Bad input exits with code 2 and a one-line message."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from geo.errors import GeoError
from geo.routing import KNOT_MPS
from sar.crew_client import add_arguments as add_crew_arguments
from sar.dispatch.fleet import FleetError
from sar.reports.command import add_history_arguments, add_report_arguments
from sar.settings import Settings, SettingsError, load_settings
from sar.store.config import StorageSettings
from sar.store.db_cmd import add_arguments as add_db_arguments
from sar.store.engine import StoreError
from sar.user_cmd import UserCommandError
from sar.user_cmd import add_arguments as add_user_arguments
from sensors.replay import ReplayError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _number(text: str, name: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise argparse.ArgumentTypeError(f"{name} must be a finite number in [-{limit:g}, {limit:g}], got {text!r}")
    return value


def _lon(text: str) -> float:
    return _number(text, "longitude", 180)


def _lat(text: str) -> float:
    return _number(text, "latitude", 90)


def _lonlat(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected LON,LAT (e.g. 27.80,48.44), got {text!r}")
    return _lon(parts[0]), _lat(parts[1])


def _speed(text: str) -> float:
    value = _number(text, "speed", 80)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"speed must be positive, got {text!r}")
    return value


def _replay_speed(text: str) -> float:
    value = _number(text, "speed", 1e6)
    if value < 0:
        raise argparse.ArgumentTypeError(f"speed must be >= 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dwatch", description="Dniester Watch: river-border surveillance and SAR dispatch.")
    p.add_argument("--config", type=Path, help="TOML settings file (environment DWATCH_* overrides it)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="run the whole system on the built-in data; live map in the browser")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--speed", type=_replay_speed, default=1.0, help="simulation speed (1 = real time)")
    demo.add_argument("--seed", type=int, default=0, help="scenario seed (same seed, same drill)")
    demo.add_argument("--truth", type=Path, help="write the scenario's ground truth as JSON lines here")

    serve = sub.add_parser("serve", help="run the server as configured (production)")
    serve.add_argument("--config", dest="serve_config", type=Path, required=True, help="TOML settings file")

    loc = sub.add_parser("locate", help="where a point is on the river border (JSON)")
    loc.add_argument("lon", type=_lon, help="longitude, degrees east")
    loc.add_argument("lat", type=_lat, help="latitude, degrees north")

    rep = sub.add_parser("replay", help="feed recordings (NMEA radar, AIS, ASTERIX, MAVLink tlog) through the sensors")
    rep.add_argument("files", type=Path, nargs="+", metavar="FILE")
    rep.add_argument(
        "--speed", type=_replay_speed, default=1.0, help="1 = original timing, 10 = ten times faster, 0 = flat out"
    )
    rep.add_argument("--agency", choices=["MD", "UA"], default="MD", help="agency owning the recorded sensors")
    rep.add_argument("--site", type=_lonlat, metavar="LON,LAT", help="radar site, for radar recordings")
    rep.add_argument("--out", type=Path, help="write every decoded message as JSON lines to this file")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    route = sub.add_parser("route", help="travel time by water between two points (JSON)")
    route.add_argument("origin", type=_lonlat, metavar="LON,LAT")
    route.add_argument("destination", type=_lonlat, metavar="LON,LAT")
    route.add_argument("--speed-kn", type=_speed, default=20.0, help="boat speed through water, knots (default 20)")

    add_crew_arguments(sub.add_parser("crew", help="a crew's client of /ws/crew: print orders, accept, report status"))
    add_user_arguments(sub.add_parser("user", help="add or list users (users file, else the database)"))
    add_db_arguments(sub.add_parser("db", help="the storage database's schema: upgrade, current revision"))
    add_report_arguments(sub.add_parser("report", help="response-time report of a period to FILE.{html,csv,pdf,json}"))
    add_history_arguments(sub.add_parser("history", help="synthetic incidents and their response, into the database"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from sar.auth.userfile import UserFileError
    from sar.auth.users import UserError

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "serve_config", None) or args.config)
        return _run(args, settings)
    except (
        SettingsError,
        GeoError,
        ReplayError,
        FleetError,
        UserError,
        UserFileError,
        UserCommandError,
        StoreError,
    ) as exc:
        print(f"dwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "crew":
        from sar.crew_client import run_cli

        return run_cli(args)
    if args.command == "user":
        from sar.user_cmd import run as run_user

        return run_user(args, settings)
    if args.command == "db":
        from sar.store.db_cmd import run as run_db

        return run_db(args, settings)
    if args.command in ("report", "history"):
        from sar.reports.command import run_history, run_report

        return run_report(args, settings) if args.command == "report" else run_history(args, settings)
    from geo.river import RiverModel  # deferred: argument errors answer without loading geodata

    if args.command == "replay":
        from sar.replay_cmd import run_replay

        return run_replay(args)
    if args.command == "demo":
        return _demo(settings, args)
    if args.command == "serve":
        return _serve(settings, None, None)
    river = RiverModel(settings.geo)
    if args.command == "locate":
        _print(river.locate(args.lon, args.lat).to_dict())
        return 0
    from geo.routing import RouteGraph

    graph = RouteGraph(river, settings.routing)
    route = graph.eta(args.origin, args.destination, args.speed_kn * KNOT_MPS)
    _print({**route.to_dict(), "speed_kn": args.speed_kn})
    return 0


def _serve(settings: Settings, host: str | None, port: int | None, app: Any = None, access_log: bool = True) -> int:
    import uvicorn

    from sar.api.app import create_app
    from sar.api.security import redact_tokens_in_server_logs
    from sar.auth.service import admin_from_env, ensure_admin

    host = host or settings.server.host
    port = port or settings.server.port
    admin = admin_from_env(os.environ)  # checked before the slow start
    if app is None:
        from sar.store.store import Store

        app = create_app(settings, store=Store(settings.storage) if settings.storage.enabled else None)
    _print_storage(app)
    if admin is not None:
        user = ensure_admin(app.state.auth.users, *admin)
        print(f"Dniester Watch: admin user {user.username} (from DWATCH_ADMIN_USERNAME)", flush=True)
    print(f"Dniester Watch: live map at http://{host}:{port}/  (API docs at /docs; Ctrl-C stops)", flush=True)
    redact_tokens_in_server_logs()  # websocket URLs carry ?token=
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    import secrets
    from datetime import UTC, datetime

    from geo.river import RiverModel
    from sar.api.app import create_app
    from sar.auth.service import Auth
    from sar.demo import (
        MQTT_HOST,
        ScenarioClock,
        broker_reachable,
        demo_fleet,
        demo_settings,
        demo_users,
        simulator_lifespan,
    )
    from sar.dispatch.fleet import Fleet
    from sar.store.store import Store
    from sensors.sim.scenario import DemoPorts

    mqtt = broker_reachable(MQTT_HOST, 1883)
    if not mqtt:
        print(f"Dniester Watch demo: no MQTT broker at {MQTT_HOST}:1883, camera events go over HTTP", flush=True)
    ports = DemoPorts.free()
    sensor_token = secrets.token_urlsafe(32)  # the simulator's, for the scenario sensors' HTTP ingest
    settings = demo_settings(settings, ports, mqtt, args.speed, sensor_token)
    settings, tokens = demo_fleet(settings)
    if tokens:
        url = f"ws://{args.host}:{args.port}"
        print(f"Demo crews (example fleet, new tokens each run): dwatch crew --url {url} --token TOKEN", flush=True)
        for asset_id, token in tokens.items():
            print(f"  {asset_id:<7} {token}", flush=True)
    auth = Auth.from_settings(settings.auth)
    assets = [a.config for a in Fleet.from_settings(settings.dispatch.fleet, datetime.now(UTC)).all()]
    _print_demo_users(demo_users(auth.users, assets), f"http://{args.host}:{args.port}/")
    river = RiverModel(settings.geo)
    base_url = f"http://127.0.0.1:{args.port}"
    clock = ScenarioClock(args.speed)
    companion = simulator_lifespan(river, ports, base_url, args.seed, clock, mqtt, args.truth, sensor_token)
    with _demo_storage(settings) as storage:
        store = Store(storage) if storage.enabled else None
        app = create_app(settings, river=river, clock=clock, companion=companion, auth=auth, store=store)
        return _serve(settings, args.host, args.port, app, access_log=False)  # the simulator POSTs a lot


@contextlib.contextmanager
def _demo_storage(settings: Settings) -> Iterator[StorageSettings]:
    """The demo keeps its run in a throw-away database (deleted at exit) unless storage.url or
    storage.data_dir is configured: a drill must not mix with yesterday's."""
    storage = settings.storage
    if not storage.enabled or {"url", "data_dir"} & storage.model_fields_set:
        yield storage
        return
    with tempfile.TemporaryDirectory(prefix="dwatch-demo-") as tmp:
        yield storage.model_copy(update={"data_dir": Path(tmp)})


def _print_storage(app: Any) -> None:
    store, restored = getattr(app.state, "store", None), getattr(app.state, "restored", None)
    if store is None:
        print("Dniester Watch: storage disabled: a restart loses incidents and orders", flush=True)
    elif restored is not None:
        print(f"Dniester Watch: storage {store.where}: {restored.line()}", flush=True)


def _print_demo_users(users: list[tuple[Any, str]], url: str) -> None:
    print(f"Demo users (in memory only, new passwords each run; log in at {url}):", flush=True)
    for user, password in users:
        boat = user.asset_id or ""
        print(f"  {user.username:<18} {user.role.value:<8} {user.agency.value} {boat:<6} {password}", flush=True)


def _print(obj: object) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
