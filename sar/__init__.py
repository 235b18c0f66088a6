"""Dniester Watch application: pipeline, API, web UI, settings and the command line."""
