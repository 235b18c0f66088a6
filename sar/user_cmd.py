"""``dwatch user add`` / ``dwatch user list``: users in the users file (``auth.users_file``), else in
the storage database, so the first admin can be made before the server starts. The password comes from stdin
(``--password-stdin``, first line) or is asked twice on the terminal; there is no default."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING, TextIO

from sar.settings import Settings

if TYPE_CHECKING:
    from sar.auth.users import UserStore

EXIT_USAGE = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_command", required=True, parser_class=type(parser))
    add = sub.add_parser("add", help="add a user to the users file (auth.users_file)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=["operator", "crew", "analyst", "admin"])
    add.add_argument("--agency", required=True, choices=["MD", "UA"])
    add.add_argument("--asset-id", help="crew: the boat they crew (fleet asset id)")
    add.add_argument("--language", choices=["en", "ro", "uk"], default="en")
    add.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    sub.add_parser("list", help="the users in the users file (JSON lines, no hashes)")


class UserCommandError(Exception):
    """One line for stderr; exit code 2."""


def run(args: argparse.Namespace, settings: Settings, stdin: TextIO | None = None) -> int:
    from sar.store.users import command_users

    with command_users(settings) as found:
        if found is None:
            raise UserCommandError(
                "auth.users_file is not set and storage is disabled: set [auth] users_file or [storage] enabled = true"
            )
        return _run(args, *found, stdin)


def _run(args: argparse.Namespace, store: UserStore, where: str, stdin: TextIO | None) -> int:
    from sar.auth.users import Language, Role, User
    from sar.dispatch.fleet import Agency

    if args.user_command == "list":
        for user in store.list():
            print(json.dumps(user.to_dict()))
        return 0
    password = _password(args.password_stdin, stdin or sys.stdin)
    user = User(args.username, Role(args.role), Agency(args.agency), args.asset_id, Language(args.language))
    added = store.add(user, password)
    print(f"dwatch: user {added.username} ({added.role.value}, {added.agency.value}) added to {where}", file=sys.stderr)
    return 0


def _password(from_stdin: bool, stdin: TextIO) -> str:
    if from_stdin:
        password = stdin.readline().rstrip("\r\n")
        if not password:
            raise UserCommandError("no password on stdin")
        return password
    if not stdin.isatty():
        raise UserCommandError("no terminal to ask the password on: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise UserCommandError("the two passwords differ")
    return first
