"""HTTP API: one router per resource, built by :func:`sar.api.app.create_app`."""
