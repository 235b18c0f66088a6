"""Cutting byte streams (TCP, files) and datagrams into the frames decoders take."""

from __future__ import annotations

from sensors.adapter import Framing
from sensors.model import Reject

MAX_LINE = 4096
MAX_BUFFER = 1 << 20


class StreamFramer:
    """Keeps the unfinished tail of a stream between reads; one per connection or file."""

    def __init__(self, framing: Framing) -> None:
        self.framing = framing
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> tuple[list[bytes], list[Reject]]:
        if self.framing in (Framing.STREAM, Framing.DATAGRAM):
            return ([bytes(chunk)] if chunk else []), []
        self._buf += chunk
        if self.framing is Framing.LINES:
            return self._lines()
        return self._asterix()

    def _lines(self) -> tuple[list[bytes], list[Reject]]:
        frames, rejects = [], []
        *complete, tail = bytes(self._buf).split(b"\n")
        for line in complete:
            line = line.rstrip(b"\r")
            if len(line) > MAX_LINE:
                rejects.append(Reject("line_too_long", f"line of {len(line)} bytes", line[:80]))
            elif line.strip():
                frames.append(line)
        if len(tail) > MAX_LINE:
            rejects.append(Reject("line_too_long", f"unterminated line of {len(tail)} bytes", tail[:80]))
            tail = b""
        self._buf = bytearray(tail)
        return frames, rejects

    def _asterix(self) -> tuple[list[bytes], list[Reject]]:
        frames, rejects = [], []
        buf = self._buf
        while len(buf) >= 3:
            length = int.from_bytes(buf[1:3], "big")
            if length < 3:
                rejects.append(Reject("bad_block_length", f"block LEN {length} < 3: stream lost, buffer dropped"))
                buf = bytearray()
                break
            if len(buf) < length:
                break
            frames.append(bytes(buf[:length]))
            del buf[:length]
        if len(buf) > MAX_BUFFER:
            rejects.append(Reject("buffer_overflow", f"{len(buf)} bytes without a complete block"))
            buf = bytearray()
        self._buf = buf
        return frames, rejects


def split_datagram(framing: Framing, data: bytes) -> tuple[list[bytes], list[Reject]]:
    """Frames in one datagram (UDP, MQTT message, HTTP body): several lines may share one;
    ASTERIX blocks are cut by the decoder itself, which reports each bad block."""
    if framing is Framing.LINES:
        framer = StreamFramer(Framing.LINES)
        frames, rejects = framer.feed(data if data.endswith(b"\n") else data + b"\n")
        return frames, rejects
    return ([data] if data else []), []
