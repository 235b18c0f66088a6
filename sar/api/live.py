"""``/ws/live``: the command centre's live stream (tracks, incidents, sensor health).

Connect with ``?since=SEQ`` (the last seq seen) to resume after a reconnect; without it, or when
SEQ is older than the feed's history, the first message is a ``resync`` with the full picture.
"""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status

from sar.live import ClientTooSlow, LiveFeed

router = APIRouter(tags=["live"])


@router.websocket("/ws/live")
async def live(ws: WebSocket, since: Annotated[int | None, Query(ge=0)] = None) -> None:
    feed: LiveFeed = ws.app.state.feed
    await ws.accept()
    sub, backlog = feed.subscribe(since)
    try:
        for msg in backlog:
            await ws.send_text(msg.text)
        while True:
            msg = await sub.next()
            await ws.send_text(msg.text)
    except ClientTooSlow:
        with contextlib.suppress(RuntimeError):
            await ws.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="too slow: reconnect with ?since=")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        feed.unsubscribe(sub)
