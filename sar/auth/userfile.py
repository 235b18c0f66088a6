"""The users file: JSON ``{"format": "dwatch.users.v1", "users": [...]}`` with argon2 hashes.

Writes go to a temporary file in the same folder, are flushed to disk and renamed over the old
one (a reader never sees half a file), with mode 0600. A change is applied to the file's current
content under an exclusive lock (``<file>.lock``), so the server and ``dwatch user add`` cannot
lose each other's changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

FORMAT = "dwatch.users.v1"
M = TypeVar("M", bound=BaseModel)
Signature = tuple[int, int, int] | None  # inode, mtime ns, size; None: no file
ALWAYS: object = object()  # as ``seen``: read whatever the signature


class UserFileError(Exception):
    """The users file cannot be read, parsed or written; the message says which and why."""


def signature(path: Path) -> Signature:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserFileError(f"cannot read users file {path}: {exc.strerror}") from None
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_users(path: Path, model: type[M], seen: object = ALWAYS) -> tuple[dict[str, M] | None, Signature]:
    """The users by name, or None when the file is as ``seen`` (unchanged since the last read)."""
    sig = signature(path)
    if seen is not ALWAYS and sig == seen:
        return None, sig
    if sig is None:
        return {}, None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserFileError(f"cannot read users file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UserFileError(f"users file {path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("users"), list):
        raise UserFileError(f'users file {path} is not a {FORMAT} document ({{"format": ..., "users": [...]}})')
    users: dict[str, M] = {}
    for i, item in enumerate(doc["users"]):
        try:
            rec = model.model_validate(item)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            raise UserFileError(f"users file {path}: user #{i + 1}: {where}: {message}") from None
        name = str(dict(rec)["username"])
        if name in users:
            raise UserFileError(f"users file {path}: user {name!r} appears twice")
        users[name] = rec
    return users, sig


def update_users(path: Path, apply: Callable[[dict[str, M]], None], model: type[M]) -> tuple[dict[str, M], Signature]:
    """Apply ``apply`` to the file's current users and write the result; returns it."""
    with _locked(path):
        users, _ = read_users(path, model)
        assert users is not None
        apply(users)
        doc = {"format": FORMAT, "users": [users[n].model_dump(mode="json") for n in sorted(users)]}
        _write_atomic(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return users, signature(path)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserFileError(f"cannot lock users file {path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _write_atomic(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UserFileError(f"cannot write users file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise UserFileError(f"cannot write users file {path}: {exc.strerror}") from None
    with contextlib.suppress(OSError):  # the rename itself is durable once the folder is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
