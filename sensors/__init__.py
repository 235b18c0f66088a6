"""Sensor adapters (radar, AIS, cameras, drones): bytes in, typed observations out."""
