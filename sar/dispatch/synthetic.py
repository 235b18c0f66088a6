"""Seeded synthetic incidents on the real river (a year of them) and the fleet's state at each.

Made for benchmarks of dispatch policies and, later, for reports; nothing here is real data.
Every number below is a field of :class:`SyntheticModel` or :class:`TypeModel`.

- How many: for each local calendar day d and incident type t,
  N ~ Poisson(rate_per_day * share_t * season_t(d)) with
  season_t(d) = 1 + A_t * cos(2 pi (day_of_year(d) - peak_doy_t) / 365.25), whose yearly mean
  is 1. Swimmers (person in the water, A = 0.9) and fishermen (loitering, A = 0.6) crowd the
  summer; crossings, rendezvous and dark targets vary less (A = 0.2-0.3).
- When in the day (local time, Europe/Chisinau; Kyiv keeps the same clock): von Mises around a
  peak hour per type with concentration kappa: crossings ~01:00, dark targets ~02:00,
  rendezvous ~23:00 (night); swimmers ~15:00 (afternoon); fishermen ~06:00; manual reports
  ~11:00 (broad).
- Where along the river: the section with probability proportional to its length (so the
  south section gets 63.8 / 207.7 of the incidents); then a type's ``background_share`` falls
  uniformly along the section and the rest near hotspots: the towns and border crossing points
  of places.geojson within the section's corridor. A town weighs sqrt(population) (population
  ``town_default_population`` where the gazetteer has none); a crossing point weighs
  ``bcp_weight`` and counts only for border incidents (crossing, rendezvous, dark target).
  River km ~ Normal(hotspot km, ``hotspot_sd_km``), kept inside the section.
- Where across the river: as for the simulator's entities (sensors.sim.world), a position is
  (section, river km, offset m, + = right bank) turned into lon/lat by RiverModel.axis_point.
  |offset| is a type's fraction of the water half-width (crossings near the axis, swimmers
  anywhere), either bank alike. The incident then carries the river model's own description of
  the point (RiverModel.locate: river km and offset of its foot on the axis, side = that bank's
  country), as an incident raised by the system would; a draw the model puts in another
  section, off the water or on the other bank (only at a bend tighter than the offset) is drawn
  again.
- The fleet at each incident, the same whatever policy is compared: each asset has outages
  (out of service) arriving at ``outage_per_day`` and lasting Exponential(``outage_mean_days``)
  days (the process starts 30 days before the first day, so it is stationary); an asset in
  service is busy elsewhere (patrol, training, another job) with ``busy_probability``,
  independently per incident. An asset configured out of service is never available.

Three independent random streams (``SeedSequence(seed).spawn``): events, positions, fleet; a
different fleet does not move the incidents.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from geo.river import RiverModel
from sar.dispatch.fleet import AssetConfig, example_fleet_path, load_fleet_file
from sar.incidents.model import IncidentType
from sensors.model import TargetClass

_MAX_REDRAWS = 50
_OUTAGE_LEAD_DAYS = 30.0


@dataclass(frozen=True)
class TypeModel:
    """How one incident type is spread over the year, the day and the river."""

    type: IncidentType
    share: float  # of rate_per_day
    season_amplitude: float  # A in 1 + A cos(...), 0..1
    peak_doy: float  # day of year of the seasonal peak
    peak_hour_local: float
    kappa: float  # von Mises concentration of the time of day
    background_share: float  # uniform along the section; the rest near hotspots
    border_type: bool  # crossing points are hotspots too
    offset_frac: tuple[float, float]  # |offset| / water half-width, uniform between
    target: TargetClass = TargetClass.VESSEL


DEFAULT_TYPES: tuple[TypeModel, ...] = (
    TypeModel(IncidentType.PERSON_IN_WATER, 0.20, 0.9, 200, 15.0, 2.5, 0.15, False, (0.05, 0.9), TargetClass.PERSON),
    TypeModel(IncidentType.BORDER_CROSSING, 0.30, 0.3, 200, 1.0, 2.0, 0.40, True, (0.01, 0.3)),
    TypeModel(IncidentType.RENDEZVOUS, 0.08, 0.3, 200, 23.0, 1.5, 0.40, True, (0.05, 0.3)),
    TypeModel(IncidentType.LOITERING, 0.20, 0.6, 170, 6.0, 1.0, 0.30, False, (0.1, 0.4)),
    TypeModel(IncidentType.DARK_TARGET, 0.07, 0.2, 200, 2.0, 1.0, 0.30, True, (0.05, 0.6)),
    TypeModel(IncidentType.MANUAL, 0.15, 0.3, 190, 11.0, 0.7, 0.20, False, (0.0, 0.9)),
)


@dataclass(frozen=True)
class SyntheticModel:
    """All parameters of the generator (see the module docstring)."""

    rate_per_day: float = 4.0
    types: tuple[TypeModel, ...] = DEFAULT_TYPES
    timezone: str = "Europe/Chisinau"
    hotspot_sd_km: float = 1.5
    bcp_weight: float = 150.0
    town_default_population: float = 1000.0
    end_margin_km: float = 0.1
    busy_probability: float = 0.12
    outage_per_day: float = 1.0 / 45.0
    outage_mean_days: float = 4.0

    def __post_init__(self) -> None:
        if not (self.rate_per_day > 0 and self.types and all(t.share >= 0 for t in self.types)):
            raise ValueError("rate_per_day must be > 0 and every type share >= 0")
        if not all(0 <= t.season_amplitude <= 1 and 0 <= t.background_share <= 1 for t in self.types):
            raise ValueError("season amplitudes and background shares must lie in [0, 1]")
        if not all(0 <= t.offset_frac[0] <= t.offset_frac[1] < 1 for t in self.types):
            raise ValueError("offset fractions must satisfy 0 <= low <= high < 1 (on the water)")
        if not (0 <= self.busy_probability <= 1 and self.outage_per_day >= 0 and self.outage_mean_days > 0):
            raise ValueError("busy_probability must lie in [0, 1], outage rate >= 0, outage length > 0")

    def season(self, t: TypeModel, day_of_year: float) -> float:
        """Seasonal factor of a type on a day of the year (yearly mean 1)."""
        return 1.0 + t.season_amplitude * math.cos(2.0 * math.pi * (day_of_year - t.peak_doy) / 365.25)


@dataclass(frozen=True)
class Hotspot:
    name: str
    kind: str  # "town" or "bcp"
    section: str
    river_km: float
    weight: float


@dataclass(frozen=True)
class SyntheticIncident:
    """One synthetic incident: when, what, where (on the water) and which assets could go."""

    id: str
    time: datetime  # UTC
    type: IncidentType
    target: TargetClass
    section: str
    river_km: float
    offset_m: float  # + = right bank looking downstream
    lon: float
    lat: float
    side: str  # country of the bank the position is on
    hotspot: str | None  # the place it was drawn near, None for the background
    available: tuple[str, ...]
    busy: tuple[str, ...]
    out_of_service: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time.isoformat(),
            "type": self.type.value,
            "target": self.target.value,
            "section": self.section,
            "river_km": round(self.river_km, 4),
            "offset_m": round(self.offset_m, 2),
            "lon": round(self.lon, 7),
            "lat": round(self.lat, 7),
            "side": self.side,
            "hotspot": self.hotspot,
            "available": list(self.available),
            "busy": list(self.busy),
            "out_of_service": list(self.out_of_service),
        }


def hotspots(river: RiverModel, model: SyntheticModel | None = None) -> list[Hotspot]:
    """Towns and border crossing points of places.geojson within a section's corridor."""
    model = model or SyntheticModel()
    places = river.data.places
    keep = places[places["kind"].isin(["town", "bcp"])]
    loc = river.locate_xy(keep.geometry.x.to_numpy(), keep.geometry.y.to_numpy())
    out = []
    for i, row in enumerate(keep.itertuples()):
        s = int(loc.section_index[i])
        if s < 0:
            continue
        if row.kind == "bcp":
            weight = model.bcp_weight
        else:
            pop = float(row.population)
            weight = math.sqrt(pop if math.isfinite(pop) and pop > 0 else model.town_default_population)
        km = float(loc.chainage_m[i]) / 1000.0
        out.append(Hotspot(str(row.name), str(row.kind), river.sections[s].name, km, weight))
    return out


def generate_incidents(
    river: RiverModel,
    year_start: date,
    days: int = 365,
    seed: int = 0,
    *,
    model: SyntheticModel | None = None,
    assets: Sequence[AssetConfig] | None = None,
) -> list[SyntheticIncident]:
    """Incidents on ``days`` local calendar days from the local date of ``year_start`` (a date,
    or an aware datetime), sorted by time; ``assets`` default to the example fleet."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    if isinstance(year_start, datetime) and year_start.tzinfo is None:
        raise ValueError("year_start must be a date or a timezone-aware datetime")
    model = model or SyntheticModel()
    fleet = list(assets) if assets is not None else load_fleet_file(example_fleet_path()).assets
    tz = ZoneInfo(model.timezone)
    first = year_start.astimezone(tz).date() if isinstance(year_start, datetime) else year_start
    events_rng, where_rng, fleet_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    events = _events(events_rng, model, first, days, tz)
    placed = _place_all(where_rng, river, model, [t for _, t in events])
    start = datetime.combine(first, datetime.min.time(), tz).astimezone(UTC)
    outages = _outages(fleet_rng, fleet, start, days, model)
    out = []
    for n, ((when, t), p) in enumerate(zip(events, placed), start=1):
        available, busy, down = _fleet_state(fleet_rng, fleet, outages, when, model)
        out.append(
            SyntheticIncident(
                f"SYN-{seed}-{n:05d}",
                when,
                t.type,
                t.target,
                p.section,
                p.river_km,
                p.offset_m,
                p.lon,
                p.lat,
                p.side,
                p.hotspot,
                available,
                busy,
                down,
            )
        )
    return out


def _events(
    rng: np.random.Generator, model: SyntheticModel, first: date, days: int, tz: ZoneInfo
) -> list[tuple[datetime, TypeModel]]:
    """(UTC time, type) of every incident, sorted by time."""
    out: list[tuple[datetime, TypeModel]] = []
    for d in range(days):
        day = first + timedelta(days=d)
        doy = day.timetuple().tm_yday
        midnight = datetime.combine(day, datetime.min.time(), tz)
        for t in model.types:
            n = int(rng.poisson(model.rate_per_day * t.share * model.season(t, doy)))
            if n == 0:
                continue
            hours = (t.peak_hour_local + rng.vonmises(0.0, t.kappa, n) * 24.0 / (2.0 * math.pi)) % 24.0
            for h in hours:
                local = midnight + timedelta(hours=float(h))
                out.append((local.astimezone(UTC), t))
    out.sort(key=lambda e: e[0])
    return out


@dataclass(frozen=True)
class _Placed:
    section: str
    river_km: float
    offset_m: float
    lon: float
    lat: float
    side: str
    hotspot: str | None


def _place_all(
    rng: np.random.Generator, river: RiverModel, model: SyntheticModel, types: list[TypeModel]
) -> list[_Placed]:
    """Where each incident is, as the river model describes it (river km and offset of the
    point's foot on the axis); a draw it puts elsewhere is drawn again."""
    spots = hotspots(river, model)
    lengths = np.array([s.length_m for s in river.sections])
    p_section = lengths / lengths.sum()
    draws = [_draw(rng, river, model, t, spots, p_section) for t in types]
    placed: list[_Placed | None] = [None] * len(types)
    todo = list(range(len(types)))
    for _ in range(_MAX_REDRAWS):
        for i, p in zip(todo, _check(river, [draws[i] for i in todo])):
            placed[i] = p
        todo = [i for i in todo if placed[i] is None]
        if not todo:
            return [p for p in placed if p is not None]
        for i in todo:
            draws[i] = _draw(rng, river, model, types[i], spots, p_section)
    raise RuntimeError("could not place synthetic incidents on the water; check the model's offsets")


def _draw(
    rng: np.random.Generator,
    river: RiverModel,
    model: SyntheticModel,
    t: TypeModel,
    spots: list[Hotspot],
    p_section: np.ndarray,
) -> tuple[str, float, float, str | None]:
    """(section, river km, offset m, hotspot) drawn in river coordinates."""
    sec = river.sections[int(rng.choice(len(river.sections), p=p_section))]
    lo_km, hi_km = model.end_margin_km, sec.length_m / 1000.0 - model.end_margin_km
    here = [h for h in spots if h.section == sec.name and (t.border_type or h.kind == "town")]
    spot: Hotspot | None = None
    if here and rng.random() >= t.background_share:
        w = np.array([h.weight for h in here])
        spot = here[int(rng.choice(len(here), p=w / w.sum()))]
        km = float(np.clip(rng.normal(spot.river_km, model.hotspot_sd_km), lo_km, hi_km))
    else:
        km = float(rng.uniform(lo_km, hi_km))
    frac = float(rng.uniform(*t.offset_frac))
    sign = 1.0 if rng.random() < 0.5 else -1.0
    offset = sign * frac * river.settings.water_half_width_m
    return sec.name, km, offset, spot.name if spot else None


def _check(river: RiverModel, draws: list[tuple[str, float, float, str | None]]) -> list[_Placed | None]:
    """The river model's view of each draw; None where it puts the point in another section, off
    the water or on the other bank than drawn."""
    pts = [river.axis_point(s, km, off) for s, km, off, _ in draws]
    loc = river.locate_many([p[0] for p in pts], [p[1] for p in pts])
    out: list[_Placed | None] = []
    for i, ((s, _, off, spot), (lon, lat)) in enumerate(zip(draws, pts)):
        j = int(loc.section_index[i])
        ok = j >= 0 and river.sections[j].name == s and bool(loc.on_water[i])
        ok = ok and (float(loc.offset_m[i]) >= 0) == (off >= 0)
        km, off_m = float(loc.chainage_m[i]) / 1000.0, float(loc.offset_m[i])
        out.append(_Placed(s, km, off_m, lon, lat, str(loc.side[i]), spot) if ok else None)
    return out


def _outages(
    rng: np.random.Generator, fleet: list[AssetConfig], start: datetime, days: int, model: SyntheticModel
) -> dict[str, list[tuple[datetime, datetime]]]:
    """Out-of-service intervals per asset (asset order fixes the draws)."""
    end = start + timedelta(days=days)
    out: dict[str, list[tuple[datetime, datetime]]] = {}
    for a in fleet:
        spans: list[tuple[datetime, datetime]] = []
        t = start - timedelta(days=_OUTAGE_LEAD_DAYS)
        while model.outage_per_day > 0:
            t += timedelta(days=float(rng.exponential(1.0 / model.outage_per_day)))
            if t >= end:
                break
            spans.append((t, t + timedelta(days=float(rng.exponential(model.outage_mean_days)))))
        out[a.id] = spans
    return out


def _fleet_state(
    rng: np.random.Generator,
    fleet: list[AssetConfig],
    outages: dict[str, list[tuple[datetime, datetime]]],
    when: datetime,
    model: SyntheticModel,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(available, busy, out of service) asset ids at one incident; one draw per asset."""
    draws = rng.random(len(fleet))
    available, busy, down = [], [], []
    for a, u in zip(fleet, draws):
        if a.out_of_service or any(s <= when < e for s, e in outages[a.id]):
            down.append(a.id)
        elif u < model.busy_probability:
            busy.append(a.id)
        else:
            available.append(a.id)
    return tuple(available), tuple(busy), tuple(down)
