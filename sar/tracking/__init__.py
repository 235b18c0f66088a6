"""Multi-sensor multi-target tracking in the metric CRS."""
