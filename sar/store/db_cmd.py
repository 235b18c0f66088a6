"""``dwatch db upgrade`` / ``dwatch db current``: the storage schema by hand (the server upgrades
it at start anyway). Both print one JSON line: the database (password hidden), its revision, the
head revision of the installed scripts, and whether they agree."""

from __future__ import annotations

import argparse
import json

from sar.settings import Settings
from sar.store.engine import StoreError, make_engine, safe_url
from sar.store.migrate import current, head, upgrade


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="db_command", required=True, parser_class=type(parser))
    sub.add_parser("upgrade", help="migrate the database (storage.url or storage.data_dir) to the newest schema")
    sub.add_parser("current", help="the database's schema revision and the newest one (JSON)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.storage.enabled:
        raise StoreError("storage is disabled (storage.enabled = false): there is no database")
    engine = make_engine(settings.storage)
    try:
        revision = upgrade(engine) if args.db_command == "upgrade" else current(engine)
        newest = head()
        where = safe_url(str(engine.url))
        print(json.dumps({"database": where, "revision": revision, "head": newest, "up_to_date": revision == newest}))
    finally:
        engine.dispose()
    return 0
