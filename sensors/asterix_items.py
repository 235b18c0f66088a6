"""ASTERIX record structure: item length rules and the User Application Profiles (UAPs) of
CAT010 (Monosensor Surface Movement Data, edition 1.1) and CAT062 (SDPS Track Messages, edition 1.19).

A record is an FSPEC followed by the items it flags, in UAP order, with no lengths of their own:
to reach an item, every item before it must be measured. So every item of both UAPs has its
length rule here, including the compound items whose subfields we never read.

Written from the EUROCONTROL category specifications (item structure and UAP tables).
"""

from __future__ import annotations

from dataclasses import dataclass


class Malformed(Exception):
    """Input the decoder cannot use. Raised inside the decoder and always turned into a Reject."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Fixed:
    """Always ``size`` octets."""

    size: int


@dataclass(frozen=True)
class Extended:
    """Parts of ``part`` octets, one more while the last bit (FX) of a part is set."""

    part: int = 1


@dataclass(frozen=True)
class Repetitive:
    """A repetition factor octet (REP), then REP elements of ``size`` octets."""

    size: int


@dataclass(frozen=True)
class Explicit:
    """A length octet that counts itself, then the data (SP and RE fields)."""


@dataclass(frozen=True)
class Compound:
    """A primary subfield (7 presence bits and FX per octet), then the flagged subfields in order.
    ``None`` marks a spare subfield, which a valid item never flags."""

    subfields: tuple[Spec | None, ...]


Spec = Fixed | Extended | Repetitive | Explicit | Compound


@dataclass(frozen=True)
class Uap:
    """A category's User Application Profile: item name and length rule by FRN - 1 (None = spare)."""

    category: int
    items: tuple[tuple[str, Spec] | None, ...]


def presence_bits(data: bytes, pos: int, end: int, what: str, reason: str) -> tuple[list[int], int]:
    """0-based indices flagged by an FSPEC or a compound primary subfield (bits 8..2 of each
    octet, bit 1 = FX: another octet follows), and the position after it."""
    flags: list[int] = []
    n = 0
    while True:
        if pos >= end:
            raise Malformed(reason, f"{what} runs past the end of the block")
        octet = data[pos]
        pos += 1
        flags.extend(7 * n + b for b in range(7) if octet & (0x80 >> b))
        n += 1
        if not octet & 1:
            return flags, pos


def item_end(spec: Spec, data: bytes, pos: int, end: int, name: str) -> int:
    """Where the item (or subfield) starting at ``pos`` ends; Malformed if it would pass ``end``."""
    if isinstance(spec, Compound):
        return _compound_end(spec, data, pos, end, name)
    if isinstance(spec, Fixed):
        stop = pos + spec.size
    elif isinstance(spec, Extended):
        stop = pos + spec.part
        while stop <= end and data[stop - 1] & 1:
            stop += spec.part
    elif isinstance(spec, Repetitive):
        stop = pos + 1 + (data[pos] * spec.size if pos < end else 0)
    else:
        if pos < end and data[pos] == 0:
            raise Malformed("bad_item", f"{name}: explicit length 0")
        stop = pos + (data[pos] if pos < end else 1)
    if stop > end:
        raise Malformed("truncated_item", f"{name} needs at least {stop - pos} octets, {end - pos} left")
    return stop


def _compound_end(spec: Compound, data: bytes, pos: int, end: int, name: str) -> int:
    flags, pos = presence_bits(data, pos, end, f"{name} primary subfield", "truncated_item")
    for i in flags:
        sub = spec.subfields[i] if i < len(spec.subfields) else None
        if sub is None:
            raise Malformed("bad_item", f"{name}: subfield #{i + 1} flagged but not defined")
        pos = item_end(sub, data, pos, end, f"{name} subfield #{i + 1}")
    return pos


def subfields(spec: Compound, item: bytes, name: str) -> dict[int, bytes]:
    """The subfields of one compound item's bytes, by 0-based index."""
    flags, pos = presence_bits(item, 0, len(item), f"{name} primary subfield", "truncated_item")
    out: dict[int, bytes] = {}
    for i in flags:
        sub = spec.subfields[i] if i < len(spec.subfields) else None
        if sub is None:
            raise Malformed("bad_item", f"{name}: subfield #{i + 1} flagged but not defined")
        stop = item_end(sub, item, pos, len(item), f"{name} subfield #{i + 1}")
        out[i] = item[pos:stop]
        pos = stop
    return out


def read_record(uap: Uap, data: bytes, pos: int, end: int) -> tuple[dict[str, bytes], int]:
    """The items of the record at ``pos`` (name -> raw bytes) and where the next record starts."""
    frns, pos = presence_bits(data, pos, end, "FSPEC", "bad_fspec")
    if not frns:
        raise Malformed("bad_fspec", "FSPEC flags no item")
    items: dict[str, bytes] = {}
    for i in frns:
        entry = uap.items[i] if i < len(uap.items) else None
        if entry is None:
            raise Malformed("bad_fspec", f"FSPEC flags FRN {i + 1}, spare or undefined in CAT{uap.category:03d}")
        name, spec = entry
        stop = item_end(spec, data, pos, end, f"I{uap.category:03d}/{name}")
        items[name] = data[pos:stop]
        pos = stop
    return items, pos


F1, F2, F3, F4, F6, F7, F8 = Fixed(1), Fixed(2), Fixed(3), Fixed(4), Fixed(6), Fixed(7), Fixed(8)

CAT010 = Uap(
    10,
    (
        # FRN 1-7: data source, message type, target report descriptor, time of day, WGS-84,
        # polar and cartesian positions
        ("010", F2), ("000", F1), ("020", Extended()), ("140", F3), ("041", F8), ("040", F4), ("042", F4),
        # FRN 8-14: velocity polar/cartesian, track number, track status, mode 3/A, address, identification
        ("200", F4), ("202", F4), ("161", F2), ("170", Extended()), ("060", F2), ("220", F3), ("245", F7),
        # FRN 15-21: Mode S MB data, fleet id, flight level, height, size/orientation, system status, message
        ("250", Repetitive(8)), ("300", F1), ("090", F2), ("091", F2), ("270", Extended()), ("550", F1), ("310", F1),
        # FRN 22-28: position deviation, presence, amplitude, acceleration, spare, SP, RE
        ("500", F4), ("280", Repetitive(2)), ("131", F1), ("210", F2), None, ("SP", Explicit()), ("RE", Explicit()),
    ),
)  # fmt: skip

# I062/380 Aircraft Derived Data: ADR ID MHG IAS TAS SAL FSS | TIS TID COM SAB ACS BVR GVR |
# RAN TAR TAN GS VUN MET EMC | POS GAL PUN MB IAR MAC BPS
I062_380 = Compound(
    (F3, F6, F2, F2, F2, F2, F2, Extended(), Repetitive(15), F2, F2, F7, F2, F2)
    + (F2, F2, F2, F2, F1, F8, F1, F6, F2, F1, Repetitive(8), F2, F2, F2)
)
# I062/290 System Track Update Ages: TRK PSR SSR MDS ADS(2) ES VDL | UAT LOP MLT
I062_290 = Compound((F1, F1, F1, F1, F2, F1, F1, F1, F1, F1))
# I062/295 Track Data Ages: 31 ages of one octet each (MFL ... BPS)
I062_295 = Compound((F1,) * 31)
# I062/390 Flight Plan Related Data: TAG CSN IFI FCT TAC WTC DEP | DST RDS CFL CTL TOD AST STS | STD STA PEM PEC
I062_390 = Compound((F2, F7, F4, F1, F4, F1, F4, F4, F3, F2, F2, Repetitive(4), F6, F1, F7, F7, F2, F7))
# I062/110 Mode 5 Data: SUM PMN POS GA EM1 TOS XP
I062_110 = Compound((F1, F4, F6, F2, F2, F1, F1))
# I062/500 Estimated Accuracies: APC COV APW AGA ABA ATV AA | ARC
I062_500 = Compound((F4, F2, F4, F1, F1, F2, F2, F1))
# I062/340 Measured Information: SID POS HEIGHT MDC MDA TYP (spare)
I062_340 = Compound((F2, F4, F2, F2, F2, F1, None))

CAT062 = Uap(
    62,
    (
        # FRN 1-7: data source, spare, service id, time of track, WGS-84, cartesian, velocity
        ("010", F2), None, ("015", F1), ("070", F3), ("105", F8), ("100", F6), ("185", F4),
        # FRN 8-14: acceleration, mode 3/A, target id, aircraft derived data, track number, status, update ages
        ("210", F2), ("060", F2), ("245", F7), ("380", I062_380), ("040", F2), ("080", Extended()), ("290", I062_290),
        # FRN 15-21: mode of movement, data ages, flight level, altitudes, rate of climb, flight plan data
        ("200", F1), ("295", I062_295), ("136", F2), ("130", F2), ("135", F2), ("220", F2), ("390", I062_390),
        # FRN 22-28: size/orientation, fleet id, mode 5, mode 2, composed track number, accuracies, measured info
        ("270", Extended()), ("300", F1), ("110", I062_110), ("120", F2), ("510", Extended(3)), ("500", I062_500),
        ("340", I062_340),
        # FRN 29-35: spare x5, RE, SP
        None, None, None, None, None, ("RE", Explicit()), ("SP", Explicit()),
    ),
)  # fmt: skip

UAPS: dict[int, Uap] = {10: CAT010, 62: CAT062}
