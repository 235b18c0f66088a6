"""Exceptions of SAR planning; each carries a one-line, operator-readable message."""

from __future__ import annotations


class SarPlanError(Exception):
    """Base class of every error raised by ``sar.sarplan``."""


class DriftError(SarPlanError):
    """The drift cannot be predicted from these inputs (position off the river, bad times)."""


class PatternError(SarPlanError):
    """A search pattern cannot be laid out (area off the water, bad spacing, current too strong)."""


class MissionError(SarPlanError):
    """A MAVLink exchange failed: the vehicle did not answer in time or refused."""


class MissionTimeout(MissionError):
    """No answer from the vehicle within the timeout, after all retries."""
