"""``/ws/live``: the command centre's live stream (tracks, incidents, sensor health).

Connect with ``?since=SEQ`` (the last seq seen) to resume after a reconnect; without it, or when
SEQ is older than the feed's history, the first message is a ``resync`` with the full picture.
Needs an operator's, analyst's or admin's token (``?token=`` or ``Authorization: Bearer``): else
closed with 4401 (no, unknown or expired token) or 4403 (a crew's token); closed with 4401 too
when the token expires or is logged out while connected.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from sar.api.security import CLOSE_UNAUTHORIZED, READERS, websocket_identity
from sar.auth.service import Auth
from sar.live import ClientTooSlow, LiveFeed

router = APIRouter(tags=["live"])


@router.websocket("/ws/live")
async def live(ws: WebSocket, since: Annotated[int | None, Query(ge=0)] = None) -> None:
    feed: LiveFeed = ws.app.state.feed
    auth: Auth = ws.app.state.auth
    await ws.accept()
    found = await websocket_identity(ws, READERS)
    if found is None:
        return
    sub, backlog = feed.subscribe(since)
    try:
        for msg in backlog:
            await ws.send_text(msg.text)
        while True:
            msg = await sub.next()
            if not auth.still_valid(found):
                await ws.close(code=CLOSE_UNAUTHORIZED, reason="token expired or logged out: log in again")
                return
            await ws.send_text(msg.text)
    except ClientTooSlow:
        with contextlib.suppress(RuntimeError):
            await ws.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="too slow: reconnect with ?since=")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        feed.unsubscribe(sub)
