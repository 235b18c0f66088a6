"""The period a report covers: whole UTC days, checked once for the CLI and the API alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

MAX_DAYS = 400


class ReportError(ValueError):
    """A report cannot be made as asked (bad period, format or database); one readable line."""


@dataclass(frozen=True)
class ReportPeriod:
    """Incidents detected in [start, end): from the first day's 00:00 UTC to the day after the last."""

    first_day: date
    last_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "start_utc": self.start.isoformat(),
            "end_utc": self.end.isoformat(),
            "days": self.days,
        }


def parse_day(text: str, name: str) -> date:
    """A calendar date written YYYY-MM-DD; ReportError otherwise."""
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(f"{name}: expected a date YYYY-MM-DD, got {text[:40]!r}") from None


def report_period(first: str | date, last: str | date, max_days: int = MAX_DAYS) -> ReportPeriod:
    """The days ``first`` to ``last`` (both included, UTC); at most ``max_days`` of them."""
    a = parse_day(first, "from") if isinstance(first, str) else first
    b = parse_day(last, "to") if isinstance(last, str) else last
    if b < a:
        raise ReportError(f"to ({b}) is before from ({a})")
    period = ReportPeriod(a, b)
    if period.days > max_days:
        raise ReportError(f"the period has {period.days} days; a report covers at most {max_days}")
    return period
