"""``/ws/crew``: a crew's socket (tablet or phone): its orders in, its answers and reports out.

Authentication by the boat's crew token (its SHA-256 in the fleet config) or a crew user's login
token (the user's ``asset_id``): ``Authorization: Bearer <token>`` or ``?token=`` (browsers cannot
set headers); an unknown token is refused with close code 4401, another role's token or a crew
user without a boat in the fleet with 4403. Resume with
``?since=SEQ&epoch=E`` or a first message ``{"type": "hello", "last_seq": SEQ, "epoch": E}``;
a client that says nothing for ``HELLO_WAIT_S`` gets its open order's messages. The protocol is
in ``docs/crew-protocol.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from sar.api.security import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, websocket_token
from sar.auth.service import Auth
from sar.auth.users import Role
from sar.dispatch.crew import CrewChannel, CrewSubscription, HelloIn, parse
from sar.dispatch.fleet import AssetState, Fleet, UnknownAsset
from sar.live import ClientTooSlow

log = logging.getLogger(__name__)
router = APIRouter(tags=["crew"])

HELLO_WAIT_S = 2.0
INBOX = 100  # crew messages read ahead of their handling
CLOSE_BAD_REQUEST = 4400


@router.websocket("/ws/crew")
async def crew_socket(ws: WebSocket) -> None:
    channel: CrewChannel = ws.app.state.crew
    await ws.accept()
    asset = _authenticate(ws, ws.app.state.fleet, ws.app.state.auth)
    if isinstance(asset, tuple):
        await ws.close(code=asset[0], reason=asset[1])
        return
    try:
        since, epoch = _resume_params(ws)
    except ValueError as exc:
        await ws.close(code=CLOSE_BAD_REQUEST, reason=str(exc))
        return
    inbox: asyncio.Queue[str] = asyncio.Queue(maxsize=INBOX)
    reader = asyncio.create_task(_read(ws, inbox))
    try:
        first: str | None = None
        if since is None:
            with contextlib.suppress(TimeoutError):
                first = await asyncio.wait_for(inbox.get(), HELLO_WAIT_S)
            hello = _hello(first)
            if hello is not None:
                since, epoch, first = hello.last_seq, hello.epoch, None
        await _serve(ws, channel, asset.id, (since, epoch, first), inbox, reader)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _serve(
    ws: WebSocket,
    channel: CrewChannel,
    asset_id: str,
    start: tuple[int | None, str | None, str | None],
    inbox: asyncio.Queue[str],
    reader: asyncio.Task[None],
) -> None:
    """Send hello and the backlog, then stream while handling what the crew sends, until the
    crew goes (what it sent before going is still applied) or the socket fails."""
    since, epoch, first = start
    conn = channel.connect(asset_id, since, epoch)
    tasks: list[asyncio.Task[None]] = []
    try:
        await ws.send_text(conn.hello.text)
        for msg in conn.backlog:
            await ws.send_text(msg.text)
        if first is not None:
            _apply(channel, asset_id, first)
        tasks = [asyncio.create_task(_handle(channel, asset_id, inbox)), asyncio.create_task(_write(ws, conn.sub))]
        done, _ = await asyncio.wait([reader, *tasks], return_when=asyncio.FIRST_COMPLETED)
        while not inbox.empty():
            _apply(channel, asset_id, inbox.get_nowait())
        for task in done:
            exc = None if task.cancelled() else task.exception()
            if isinstance(exc, ClientTooSlow):
                with contextlib.suppress(RuntimeError):
                    await ws.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="too slow: reconnect with ?since=")
            elif exc is not None and not isinstance(exc, WebSocketDisconnect | RuntimeError | OSError):
                log.error("crew socket of %s failed", asset_id, exc_info=exc)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        channel.disconnect(asset_id, conn.sub)


def _authenticate(ws: WebSocket, fleet: Fleet, auth: Auth) -> AssetState | tuple[int, str]:
    """The asset of a boat's crew token or of a crew user's token; else (close code, reason)."""
    token = websocket_token(ws)
    asset = fleet.authenticate(token) if token else None
    if asset is not None:
        return asset
    found = auth.identify(token) if token else None
    if found is None:
        return CLOSE_UNAUTHORIZED, "unknown or missing crew token"
    user = found.user
    if user.role is not Role.CREW or user.asset_id is None:
        return CLOSE_FORBIDDEN, f"needs a crew token (you are {user.role.value})"
    try:
        return fleet.get(user.asset_id)
    except UnknownAsset:
        return CLOSE_FORBIDDEN, f"crew user {user.username}: asset {user.asset_id} is not in the fleet"


def _resume_params(ws: WebSocket) -> tuple[int | None, str | None]:
    text = ws.query_params.get("since")
    epoch = ws.query_params.get("epoch") or None
    if text is None:
        return None, epoch
    if not text.isdigit() or len(text) > 18:
        raise ValueError(f"since must be a non-negative integer, got {text[:40]!r}")
    return int(text), epoch


def _hello(text: str | None) -> HelloIn | None:
    if text is None:
        return None
    try:
        msg = parse(text)
    except ValueError:
        return None
    return msg if isinstance(msg, HelloIn) else None


async def _read(ws: WebSocket, inbox: asyncio.Queue[str]) -> None:
    """Read frames into the inbox (binary frames as UTF-8 text) until the crew goes."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                text = (frame.get("bytes") or b"").decode("utf-8", "replace")
            await inbox.put(text)


async def _handle(channel: CrewChannel, asset_id: str, inbox: asyncio.Queue[str]) -> None:
    while True:
        _apply(channel, asset_id, await inbox.get())


def _apply(channel: CrewChannel, asset_id: str, text: str) -> None:
    """Bad messages are answered by the channel; a bug in it is logged, never closes the socket."""
    try:
        channel.handle(asset_id, text)
    except Exception:
        log.exception("crew message of %s not handled: %.200r", asset_id, text)


async def _write(ws: WebSocket, sub: CrewSubscription) -> None:
    while True:
        msg = await sub.next()
        await ws.send_text(msg.text)
