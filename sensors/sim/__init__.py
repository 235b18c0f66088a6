"""The deterministic scenario simulator: ground truth, simulated sensors and their wire bytes.

It is the demo's traffic (``dwatch demo``) and a drill generator: the same seed gives the same
bytes, and the ground truth (positions, true border crossings) is written next to them.
"""

from sensors.sim.emit import Frame, RunStats, Simulator, TruthLog, make_sim_sensor
from sensors.sim.scenario import DemoPorts, build_world, demo_sensor_configs, demo_simulator, demo_specs
from sensors.sim.sensing import CLUTTER, SensorSpec, SimSensor
from sensors.sim.world import Entity, EntityState, RiverPath, Waypoint, World

__all__ = [
    "CLUTTER",
    "DemoPorts",
    "Entity",
    "EntityState",
    "Frame",
    "RiverPath",
    "RunStats",
    "SensorSpec",
    "SimSensor",
    "Simulator",
    "TruthLog",
    "Waypoint",
    "World",
    "build_world",
    "demo_sensor_configs",
    "demo_simulator",
    "demo_specs",
    "make_sim_sensor",
]
