"""``dwatch report`` (a response-time report to a file) and ``dwatch history`` (synthetic months
of incidents into a database, for trying reports). Bad input: exit 2 and one line."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from tqdm import tqdm

from sar.reports.model import FORMATS
from sar.reports.period import ReportError, parse_day, report_period
from sar.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_USAGE = 2


def _day(name: str) -> Any:
    def parse(text: str) -> date:
        try:
            return parse_day(text, name)
        except ReportError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _out(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower().lstrip(".") not in FORMATS:
        raise argparse.ArgumentTypeError(f"FILE must end in .{', .'.join(FORMATS)}; got {text[:80]!r}")
    return path


def _positive(kind: type[int] | type[float], limit: float) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
        if not 0 < value <= limit:
            raise argparse.ArgumentTypeError(f"must be > 0 and <= {limit:g}, got {text[:40]!r}")
        return value

    return parse


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="first", required=True, type=_day("from"), metavar="DATE", help="first day (UTC)")
    p.add_argument("--to", dest="last", required=True, type=_day("to"), metavar="DATE", help="last day, included")
    p.add_argument("--out", required=True, type=_out, metavar="FILE.{html,csv,pdf,json}", help="format by extension")
    p.add_argument("--db", metavar="URL", help="database (default: the storage settings' database)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def add_history_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", required=True, type=_positive(int, 3660), help="local calendar days of incidents")
    p.add_argument("--seed", type=int, default=0, help="same seed and start, same history")
    p.add_argument("--start", type=_day("start"), metavar="DATE", help="first day (default: DAYS days before today)")
    p.add_argument("--rate", type=_positive(float, 10_000), default=4.0, help="incidents per day, yearly mean")
    p.add_argument("--db", metavar="URL", help="database (default: the storage settings' database)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _engine(url: str | None, settings: Settings, must_exist: bool) -> Engine:
    """The database of ``--db`` or of the storage settings, opened as the server opens it. A
    report never creates a SQLite file that is not there."""
    from sqlalchemy.engine import make_url

    from sar.store.config import StorageSettings
    from sar.store.engine import make_engine

    try:
        storage = settings.storage if url is None else StorageSettings(url=url)
    except ValidationError as exc:
        raise ReportError(f"--db: {exc.errors()[0]['msg']}") from None
    target = make_url(storage.database_url())
    db = target.database
    if must_exist and target.get_backend_name() == "sqlite" and db and db != ":memory:" and not Path(db).is_file():
        raise ReportError(f"no database at {db}")
    return make_engine(storage)


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from sar.reports.compute import compute_report
    from sar.reports.output import render
    from sar.store.engine import describe

    fmt = args.out.suffix.lower().lstrip(".")
    try:
        period = report_period(args.first, args.last)
        engine = _engine(args.db, settings, must_exist=True)
        with tqdm(total=4, desc="report", unit="step", file=sys.stderr, disable=args.no_progress) as bar:

            def step(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            try:
                report = compute_report(engine, period, step)
            except SQLAlchemyError as exc:
                raise ReportError(f"database: {describe(exc)}") from None
            finally:
                engine.dispose()
            data = render(report, fmt, _layers(settings) if fmt in ("html", "pdf") else None)
            step(f"rendered {fmt}")
            try:
                args.out.write_bytes(data)
            except OSError as exc:
                raise ReportError(f"cannot write {args.out}: {exc.strerror}") from None
            step("written")
    except ReportError as exc:
        print(f"dwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    summary = {"out": str(args.out), "format": fmt, "bytes": len(data), "incidents": report.incidents}
    print(json.dumps({**summary, "period": period.to_dict()}))
    return 0


def _layers(settings: Settings) -> dict[str, Any]:
    from geo.layers import build_layers
    from geo.river import RiverModel

    return build_layers(RiverModel(settings.geo))


def run_history(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    from geo.river import RiverModel
    from geo.routing import RouteGraph
    from sar.dispatch.fleet import Fleet
    from sar.history import generate_history
    from sar.store.engine import describe
    from sar.store.migrate import upgrade

    start = args.start or datetime.now(UTC).date() - timedelta(days=args.days)
    try:
        engine = _engine(args.db, settings, must_exist=False)
    except ReportError as exc:
        print(f"dwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        upgrade(engine)  # the server's own schema, so a server can open the database afterwards
        river = RiverModel(settings.geo)
        fleet = [s.config for s in Fleet.from_settings(settings.dispatch.fleet, datetime.now(UTC)).all()]
        with tqdm(desc="history", unit=" incidents", file=sys.stderr, disable=args.no_progress) as bar:
            summary = generate_history(
                engine,
                river,
                RouteGraph(river, settings.routing),
                start,
                args.days,
                args.seed,
                args.rate,
                assets=fleet or None,
                dispatch=settings.dispatch,
                progress=bar.update,
            )
    except IntegrityError:
        print(
            f"dwatch: error: the history of seed {args.seed} from {start} is already in the database", file=sys.stderr
        )
        return EXIT_USAGE
    except SQLAlchemyError as exc:
        print(f"dwatch: error: database: {describe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        engine.dispose()
    print(json.dumps({"start": start.isoformat(), "days": args.days, "seed": args.seed, **summary.to_dict()}))
    return 0
