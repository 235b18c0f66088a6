"""Border crossing with hysteresis: a track must be *established* on one side, then on the other.

Established on a side = ``min_samples`` consecutive samples at least ``max(min_offset_m,
sd_factor * position_sd_m)`` beyond the border on that side, spanning ``dwell_s``. Samples near
the axis (or off to the other side only briefly) never establish anything, so a boat running
along the border with noisy positions never raises a crossing. Each change of established side
is one crossing, raised once; crossing back later is a new event. The crossing point is where
the last move from side A to side B meets the border (``RiverModel.crossed_border``).

Only measured positions feed the state (tentative and confirmed tracks, including the track's
``history`` since the last evaluation); coasting predictions do not. The incident is raised only
for confirmed tracks. Cooperative (AIS) vessels raise nothing, or a low-impact incident when
``crossing.cooperative = "low"``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from geo.river import RiverModel
from sar.incidents.config import IncidentSettings
from sar.incidents.model import Finding, Impact, IncidentType
from sar.incidents.rules import place_xy, seconds, track_label
from sar.tracking.model import Track, TrackStatus

_FED = frozenset({TrackStatus.TENTATIVE, TrackStatus.CONFIRMED})


# A sample of a track's way: (time, lon, lat, side, deep). A plain tuple of atoms, which the
# garbage collector stops tracking: hundreds of tracks keep thousands of samples each, and as
# objects they made every full collection pause the pipeline for 100+ ms.
_Sample = tuple[datetime, float, float, str | None, bool]


@dataclass(frozen=True)
class _Point:
    time: datetime
    lon: float
    lat: float
    where: str


@dataclass
class _SideState:
    """Mutable per-track state: the current run of deep samples and the established side."""

    trail: deque[_Sample]  # from the last sample deep on the established side onwards
    last_time: datetime | None = None
    run_side: str | None = None
    run_since: datetime | None = None
    run_count: int = 0
    established: str | None = None
    crossings: int = 0
    pending: list[tuple[int, str, str, _Point]] = field(default_factory=list)


class BorderCrossingRule:
    """Raises one high-impact incident per real crossing by a non-cooperative confirmed track."""

    name: str = "border_crossing"

    def __init__(self, river: RiverModel, settings: IncidentSettings | None = None) -> None:
        s = settings or IncidentSettings()
        self.river = river
        self.settings = s.crossing
        self.ais_timeout_s = s.ais_timeout_s
        self._state: dict[str, _SideState] = {}

    def evaluate(self, now: datetime, tracks: Sequence[Track]) -> list[Finding]:
        alive = {t.id for t in tracks if t.status is not TrackStatus.DELETED}
        for tid in set(self._state) - alive:
            del self._state[tid]
        fed = [t for t in tracks if t.status in _FED]
        states = [self._state.setdefault(t.id, _SideState(trail=deque(maxlen=self.settings.max_trail))) for t in fed]
        out: list[Finding] = []
        for t, st, samples in zip(fed, states, self._new_samples(fed, states)):
            for sample in samples:
                self._step(st, sample)
            for n, a, b, point in st.pending:
                finding = self._finding(now, t, n, a, b, point)
                if finding is not None:
                    out.append(finding)
            st.pending.clear()
        return out

    def _new_samples(self, tracks: list[Track], states: list[_SideState]) -> list[list[_Sample]]:
        """Per track, its history points newer than what was seen, then the snapshot itself; all
        tracks' points projected and located in one vectorised call each (per-call overhead
        dominates when hundreds of tracks move)."""
        points: list[list[tuple[datetime, float, float]]] = []
        for t, st in zip(tracks, states):
            after = st.last_time
            pts = [(time, lon, lat) for time, lon, lat in t.history if after is None or time > after]
            if (after is None or t.time > after) and (not pts or t.time > pts[-1][0]):
                pts.append((t.time, t.lon, t.lat))
            points.append(pts)
        flat = [p for pts in points for p in pts]
        if not flat:
            return [[] for _ in tracks]
        xs, ys = self.river.projector.to_xy([p[1] for p in flat], [p[2] for p in flat])
        places = iter(place_xy(self.river, xs.tolist(), ys.tolist()))
        out = []
        for t, pts in zip(tracks, points):
            depth_m = max(self.settings.min_offset_m, self.settings.sd_factor * t.position_sd_m)
            samples = []
            for time, lon, lat in pts:
                p = next(places)
                samples.append((time, lon, lat, p.side, p.side is not None and p.border_m >= depth_m))
            out.append(samples)
        return out

    def _step(self, st: _SideState, s: _Sample) -> None:
        """Advance the run of deep samples; record a crossing when a new side is established."""
        st.last_time = s[0]
        if s[4] and s[3] == st.run_side:
            st.run_count += 1
        elif s[4]:
            st.run_side, st.run_since, st.run_count = s[3], s[0], 1
        else:
            st.run_side, st.run_since, st.run_count = None, None, 0
        if st.run_side is not None and st.run_side == st.established:
            st.trail.clear()  # deep on the side it is established on: the new anchor
            st.trail.append(s)
            return
        st.trail.append(s)
        if st.run_side is None or st.run_since is None:
            return
        if st.run_count < self.settings.min_samples or seconds(st.run_since, s[0]) < self.settings.dwell_s:
            return
        previous, st.established = st.established, st.run_side
        trail = list(st.trail)
        st.trail.clear()
        st.trail.append(s)
        if previous is not None:
            st.crossings += 1
            st.pending.append((st.crossings, previous, st.run_side, self._crossing_point(previous, st.run_side, trail)))

    def _crossing_point(self, a: str, b: str, trail: list[_Sample]) -> _Point:
        """Where the last move from side a to side b met the border; failing that, where the
        straight line from the last sample deep on a to the newest sample does; else the newest."""
        moves = [(p, q) for p, q in zip(trail, trail[1:]) if p[3] == a and q[3] == b]
        moves.reverse()
        for p, q in [*moves, (trail[0], trail[-1])]:
            c = self.river.crossed_border((p[1], p[2]), (q[1], q[2]))
            if c is not None:
                where = f"{c.section} km {c.river_km:.2f}" if c.section and c.river_km is not None else "the border"
                return _Point(q[0], c.lon, c.lat, where)
        last = trail[-1]
        x, y = self.river.projector.to_xy([last[1]], [last[2]])
        return _Point(last[0], last[1], last[2], place_xy(self.river, [float(x[0])], [float(y[0])])[0].where())

    def _finding(self, now: datetime, t: Track, n: int, a: str, b: str, point: _Point) -> Finding | None:
        if t.status is not TrackStatus.CONFIRMED:
            return None
        cooperative = t.cooperative(now, self.ais_timeout_s)
        if cooperative and self.settings.cooperative == "ignore":
            return None
        sd = t.position_sd_m
        confidence = 0.95 if sd <= self.settings.min_offset_m else 0.95 * self.settings.min_offset_m / sd
        return Finding(
            rule=self.name,
            key=f"crossing:{t.id}:{n}",
            type=IncidentType.BORDER_CROSSING,
            impact=Impact.LOW if cooperative else Impact.HIGH,
            confidence=round(confidence, 3),
            lon=point.lon,
            lat=point.lat,
            track_ids=(t.id,),
            sides=frozenset({a, b}),
            side=b,
            title=f"Border crossing {a}\u2192{b} by {track_label(t)} at {point.where} ({point.time:%H:%M:%S}Z)",
            detail=f"crossed {a}\u2192{b} at {point.time.isoformat()}" + (" (AIS vessel)" if cooperative else ""),
        )
