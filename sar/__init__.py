"""Dniester Watch application: pipeline, API, web UI, settings and the command line."""

__version__ = "0.1.0"
