"""The users file shared by the server and ``dwatch user``: changes by one are seen by the other
and none is lost; a bad file is one clear line; ``dwatch user add`` makes the first admin, who
then logs in to a real server; the admin from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from sar.auth.userfile import UserFileError
from sar.auth.users import Language, Role, User, UserError, UserExists, UserStore
from sar.dispatch.fleet import Agency
from tests.conftest import REPO, TEST_PASSWORD, hashed_test_password, http_json, login, start_server, stop_server

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # only where the cost is not under test


def dwatch(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sar", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_two_stores_on_one_file_see_each_others_changes_and_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    server, cli = UserStore(path, CHEAP), UserStore(path, CHEAP)
    server.add(User("ana", Role.OPERATOR, Agency.MD), TEST_PASSWORD)
    cli.add(User("bogdan", Role.ANALYST, Agency.UA), TEST_PASSWORD)  # cli had not re-read the file yet
    assert [u.username for u in server.list()] == ["ana", "bogdan"]
    assert server.verify("bogdan", TEST_PASSWORD) == User("bogdan", Role.ANALYST, Agency.UA)
    server.set_language("bogdan", Language.UK)
    assert cli.get("bogdan") == User("bogdan", Role.ANALYST, Agency.UA, language=Language.UK)
    with pytest.raises(UserExists, match="user 'ana' exists"):
        cli.add(User("ANA", Role.ADMIN, Agency.MD), TEST_PASSWORD)
    server.add_hashed(User("demo-x", Role.OPERATOR, Agency.MD), hashed_test_password(), persist=False)
    names = [u["username"] for u in json.loads(path.read_text(encoding="utf-8"))["users"]]
    assert names == ["ana", "bogdan"]  # an in-memory user is never written
    assert cli.get("demo-x") is None and server.verify("demo-x", TEST_PASSWORD) is not None


def test_wrong_passwords_and_unknown_names_verify_to_none(tmp_path: Path) -> None:
    store = UserStore(None, CHEAP)
    store.add(User("crina", Role.CREW, Agency.MD, "MD-B1"), TEST_PASSWORD)
    assert store.verify("crina", TEST_PASSWORD + "x") is None and store.verify("nobody", TEST_PASSWORD) is None
    assert store.verify(" Crina ", TEST_PASSWORD) == User("crina", Role.CREW, Agency.MD, "MD-B1")


@pytest.mark.parametrize(
    ("user", "password", "message"),
    [
        (User("a b", Role.OPERATOR, Agency.MD), TEST_PASSWORD,
         "username: use 1 to 64 lower-case letters, digits and . _ @ - (first a letter or digit)"),
        (User("c", Role.CREW, Agency.MD), TEST_PASSWORD, "a crew user needs asset_id (the boat they crew)"),
        (User("o", Role.OPERATOR, Agency.MD, "MD-B1"), TEST_PASSWORD, "asset_id is only for crew users, not operator"),
        (User("o", Role.OPERATOR, Agency.MD), "short", "password: give 10 to 1024 characters"),
    ],
)  # fmt: skip
def test_bad_users_are_refused_in_one_line(user: User, password: str, message: str) -> None:
    with pytest.raises(UserError) as refused:
        UserStore(None, CHEAP).add(user, password)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not valid JSON"),
        ('{"users": []}', "is not a dwatch.users.v1 document"),
        ('{"format": "dwatch.users.v1", "users": [{"username": "x", "role": "king", "agency": "MD", '
         '"password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA"}]}', "user #1: role: Input should be"),
        ('{"format": "dwatch.users.v1", "users": [{"username": "x", "role": "admin", "agency": "MD", '
         '"password_hash": "secret"}]}', "user #1: password_hash: String should match pattern"),
    ],
)  # fmt: skip
def test_a_bad_users_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "users.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserFileError) as bad:
        UserStore(path, CHEAP)
    assert str(bad.value).startswith(f"users file {path}") and message in str(bad.value)


def test_dwatch_user_add_makes_an_admin_who_logs_in_to_a_real_server(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[auth]\nusers_file = "{users}"\n', encoding="utf-8")
    password = "first admin's passphrase"
    r = dwatch("--config", str(cfg), "user", "add", "--username", "Root", "--role", "admin", "--agency", "UA",
               "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert (r.returncode, r.stderr) == (0, f"dwatch: user root (admin, UA) added to {users}\n")
    assert password not in users.read_text(encoding="utf-8")
    again = dwatch("--config", str(cfg), "user", "add", "--username", "root", "--role", "admin", "--agency", "MD",
                   "--password-stdin", stdin=password + "\n")  # fmt: skip
    assert (again.returncode, again.stderr) == (2, "dwatch: error: user 'root' exists\n")
    server = start_server(["serve", "--config", str(cfg)])
    try:
        root = login(server.url, "root", password)
        assert http_json(server.url + "/api/auth/me", token=root)[1] == {
            "username": "root", "role": "admin", "agency": "UA", "asset_id": None, "language": "en"
        }  # fmt: skip
        assert http_json(server.url + "/api/auth/login", {"username": "root", "password": "wrong one!"}) == (
            401,
            {"detail": "wrong username or password"},
        )
        # added while the server runs: the server sees it at once
        r = dwatch("--config", str(cfg), "user", "add", "--username", "late", "--role", "analyst", "--agency", "MD",
                   "--password-stdin", stdin=TEST_PASSWORD)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert http_json(server.url + "/api/incidents", token=login(server.url, "late", TEST_PASSWORD))[0] == 200
        # the server's own changes go to the same file
        assert http_json(server.url + "/api/auth/me", {"language": "ro"}, root, method="PATCH")[0] == 200
    finally:
        stop_server(server)
    listed = [json.loads(line) for line in dwatch("--config", str(cfg), "user", "list").stdout.splitlines()]
    # the test operator was added over HTTP by the admin: written; the admin from the environment: not
    assert [(u["username"], u["language"]) for u in listed] == [("late", "en"), ("root", "ro"), ("test-operator", "en")]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "--username", "x", "--role", "admin", "--agency", "MD", "--password-stdin"], "long enough pw",
         "auth.users_file is not set and storage is disabled: set [auth] users_file or [storage] enabled = true"),
        (["user", "add", "--username", "x", "--role", "admin", "--agency", "MD"], "",
         "no terminal to ask the password on: use --password-stdin"),
        (["user", "add", "--username", "x", "--role", "admin", "--agency", "MD", "--password-stdin"], "",
         "no password on stdin"),
    ],
)  # fmt: skip
def test_dwatch_user_add_refuses_in_one_line(tmp_path: Path, args: list[str], stdin: str, message: str) -> None:
    env = {"DWATCH_AUTH__USERS_FILE": str(tmp_path / "u.json")} if "not set" not in message else {}
    env |= {"DWATCH_STORAGE__ENABLED": "false"}  # neither a users file nor a database to write to
    r = dwatch(*args, stdin=stdin, env=env)
    assert (r.returncode, r.stderr) == (2, f"dwatch: error: {message}\n")
    assert not (tmp_path / "u.json").exists()


def test_an_admin_from_the_environment_needs_both_name_and_password(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("", encoding="utf-8")
    r = dwatch("serve", "--config", str(cfg), env={"DWATCH_ADMIN_USERNAME": "boss", "DWATCH_ADMIN_PASSWORD": ""})
    assert (r.returncode, r.stderr) == (
        2,
        "dwatch: error: set both DWATCH_ADMIN_USERNAME and DWATCH_ADMIN_PASSWORD, or neither\n",
    )
