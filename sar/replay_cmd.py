"""``dwatch replay``: recordings through the sensor adapters; summary JSON on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO

from sensors.model import SensorMessage
from sensors.replay import ReplayError, detect_format, recording_config, replay
from sensors.serialize import message_to_dict


def run_replay(args: argparse.Namespace) -> int:
    recordings = []
    for path in args.files:
        fmt = detect_format(path)
        recordings.append((path, recording_config(path, fmt, args.agency, args.site)))
    try:
        out: IO[str] | None = args.out.open("w", encoding="utf-8") if args.out else None
    except OSError as exc:
        raise ReplayError(f"cannot write {args.out}: {exc.strerror}") from None

    def sink(msg: SensorMessage) -> None:
        if out is not None:
            out.write(json.dumps(message_to_dict(msg), ensure_ascii=False) + "\n")

    try:
        summary = replay(recordings, sink, speed=args.speed, progress=not args.no_progress)
    finally:
        if out is not None:
            out.close()
    json.dump(summary.to_dict(), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0
