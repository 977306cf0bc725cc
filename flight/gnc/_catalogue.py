"""Catalogue of space objects for conjunction screening: TLE sets and uploaded ephemerides.

Text format (one catalogue = one text blob, UTF-8/ASCII; ``#`` starts a comment line)::

    ISS (ZARYA)                                                <- optional name line
    1 25544U 98067A   25152.50000000  .00016717  00000-0  10270-3 0  9005
    2 25544  51.6400 200.0000 0006703 130.5360 325.0288 15.50000000    07
    STATE debris-7 2025-06-01T04:00:00Z x y z vx vy vz [sig_r sig_t sig_n]

TLE lines must be 69 characters with valid modulo-10 checksums and matching catalogue
numbers; they are propagated with SGP4 (the ``sgp4`` package, imported lazily). ``STATE``
lines give an ECI (= TEME of date, the HAL's frame) state in m and m/s at a UTC epoch and an
optional 1-sigma position uncertainty in radial/along-track/cross-track metres; they are
propagated with the onboard J2 propagator. Any problem rejects the whole catalogue with a
:class:`~native.errors.ConfigError` naming the line, and nothing changes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from flight.gnc._kernels import EARTH_RADIUS_M
from flight.gnc._propagator import OrbitPropagator
from native.errors import ConfigError

__all__ = ["Catalogue", "CatalogueObject", "parse_catalogue", "require_sgp4", "tle_checksum"]

_UNIX_JD = 2440587.5


def require_sgp4() -> Any:
    """Import and return the ``sgp4.api`` module, or raise ConfigError saying how to get it."""
    try:
        from sgp4 import api
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "TLE catalogues need the 'sgp4' package (pip install sgp4); "
            "upload STATE ephemerides instead"
        ) from exc
    return api


def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of the first 68 characters of a TLE line (digits, '-' counts 1)."""
    total = 0
    for ch in line[:68]:
        if ch.isdigit():
            total += int(ch)
        elif ch == "-":
            total += 1
    return total % 10


@dataclass(frozen=True, slots=True)
class CatalogueObject:
    """One object: a TLE (``satrec``) or a state at ``epoch_utc_ns`` (ECI, m and m/s)."""

    name: str
    kind: str  #: "tle" or "state"
    sigma_rtn_m: tuple[float, float, float]
    satrec: Any = None
    epoch_utc_ns: int = 0
    state: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A validated set of objects (immutable; replaced as a whole on upload)."""

    objects: tuple[CatalogueObject, ...] = ()
    source: str = ""
    _prop: OrbitPropagator = field(default_factory=OrbitPropagator, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.objects)

    def states(self, utc_ns: NDArray[np.int64]) -> NDArray[np.float64]:
        """ECI states (N, M, 6) of every object at the UTC times ``utc_ns`` (M,), m and m/s.

        Rows of an object that SGP4 cannot propagate (decayed) are NaN.
        """
        utc = np.asarray(utc_ns, dtype=np.int64)
        out = np.full((len(self.objects), utc.size, 6), np.nan)
        tle_idx = [i for i, o in enumerate(self.objects) if o.kind == "tle"]
        if tle_idx:
            api = require_sgp4()
            days = utc // 86_400_000_000_000
            jd = _UNIX_JD + days.astype(np.float64)
            fr = (utc - days * 86_400_000_000_000).astype(np.float64) / 86_400e9
            arr = api.SatrecArray([self.objects[i].satrec for i in tle_idx])
            err, r, v = arr.sgp4(jd, fr)
            r = r * 1e3
            v = v * 1e3
            bad = err != 0
            r[bad] = np.nan
            v[bad] = np.nan
            out[tle_idx, :, 0:3] = r
            out[tle_idx, :, 3:6] = v
        for i, o in enumerate(self.objects):
            if o.kind != "state":
                continue
            rel = (utc - o.epoch_utc_ns) / 1e9
            start = self._prop.advance(np.array(o.state), float(rel[0]))
            out[i] = self._prop.trajectory(start, rel - rel[0])
        return out


def _parse_utc(text: str) -> int:
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad UTC epoch {text!r} (ISO 8601 expected)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round((dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e9)


def _parse_state(
    tokens: Sequence[str], default_sigma: tuple[float, float, float]
) -> CatalogueObject:
    if len(tokens) not in (9, 12):
        raise ValueError(
            f"STATE needs: name epoch x y z vx vy vz [sig_r sig_t sig_n] ({len(tokens) - 1} fields given)"
        )
    name = tokens[1]
    epoch = _parse_utc(tokens[2])
    try:
        vals = [float(x) for x in tokens[3:]]
    except ValueError:
        raise ValueError("STATE values must be numbers") from None
    if not all(math.isfinite(x) for x in vals):
        raise ValueError("STATE values must be finite")
    r = math.sqrt(sum(x * x for x in vals[0:3]))
    v = math.sqrt(sum(x * x for x in vals[3:6]))
    if not EARTH_RADIUS_M + 100e3 <= r <= EARTH_RADIUS_M + 50_000e3:
        raise ValueError(f"STATE radius {r / 1e3:.1f} km is not an orbit (6478..56378 km)")
    if not 0.0 < v <= 12_000.0:
        raise ValueError(f"STATE speed {v:.1f} m/s outside (0, 12000]")
    sigma = default_sigma
    if len(vals) == 9:
        sigma = (vals[6], vals[7], vals[8])
        if not all(0.0 < s <= 1e6 for s in sigma):
            raise ValueError("STATE sigmas must be in (0, 1e6] m")
    return CatalogueObject(name, "state", sigma, None, epoch, tuple(vals[0:6]))


def _parse_tle(
    name: str | None, l1: str, l2: str, sigma: tuple[float, float, float]
) -> CatalogueObject:
    for k, line in ((1, l1), (2, l2)):
        if len(line) != 69:
            raise ValueError(f"TLE line {k} has {len(line)} characters, expected 69")
        if not line[68].isdigit() or tle_checksum(line) != int(line[68]):
            raise ValueError(f"TLE line {k} checksum mismatch")
    if l1[2:7] != l2[2:7]:
        raise ValueError(f"TLE catalogue numbers differ ({l1[2:7]!r} vs {l2[2:7]!r})")
    api = require_sgp4()
    try:
        sat = api.Satrec.twoline2rv(l1, l2)
    except Exception as exc:
        raise ValueError(f"TLE not decodable: {exc}") from None
    err, _, _ = sat.sgp4(sat.jdsatepoch, sat.jdsatepochF)
    if err != 0 or not 0.0 < sat.no_kozai < 0.1:
        raise ValueError(f"TLE elements not propagatable (sgp4 error {err})")
    label = name.strip() if name and name.strip() else l1[2:7].strip()
    return CatalogueObject(label, "tle", sigma, sat)


def parse_catalogue(
    text: str,
    *,
    source: str = "",
    max_objects: int = 5000,
    tle_sigma_rtn_m: tuple[float, float, float] = (200.0, 1000.0, 200.0),
    state_sigma_rtn_m: tuple[float, float, float] = (50.0, 200.0, 50.0),
) -> Catalogue:
    """Validate and build a :class:`Catalogue` (ConfigError naming the line on any problem)."""
    objects: list[CatalogueObject] = []
    names: set[str] = set()
    lines = text.splitlines()
    i = 0
    where = source or "catalogue"
    pending_name: tuple[int, str] | None = None
    while i < len(lines):
        raw = lines[i].rstrip()
        lineno = i + 1
        i += 1
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            if raw.startswith("STATE"):
                if pending_name is not None:
                    raise ValueError(f"name line {pending_name[0]} is not followed by a TLE")
                obj = _parse_state(raw.split(), state_sigma_rtn_m)
            elif raw.startswith("1 "):
                if i >= len(lines) or not lines[i].startswith("2 "):
                    raise ValueError("TLE line 1 is not followed by line 2")
                l2 = lines[i].rstrip()
                i += 1
                obj = _parse_tle(
                    pending_name[1] if pending_name else None, raw, l2, tle_sigma_rtn_m
                )
                pending_name = None
            elif raw.startswith("2 "):
                raise ValueError("TLE line 2 without line 1")
            else:
                if pending_name is not None:
                    raise ValueError(f"name line {pending_name[0]} is not followed by a TLE")
                if len(raw) > 24 and raw[:2] not in ("0 ",):
                    raise ValueError("unrecognised line (not a name, TLE or STATE)")
                pending_name = (lineno, raw[2:] if raw.startswith("0 ") else raw)
                continue
        except ValueError as exc:
            raise ConfigError(f"{where} line {lineno}: {exc}") from None
        if obj.name in names:
            raise ConfigError(f"{where} line {lineno}: duplicate object name {obj.name!r}")
        names.add(obj.name)
        objects.append(obj)
        if len(objects) > max_objects:
            raise ConfigError(f"{where}: more than {max_objects} objects")
    if pending_name is not None:
        raise ConfigError(f"{where} line {pending_name[0]}: name line without a TLE")
    if not objects:
        raise ConfigError(f"{where}: no objects")
    return Catalogue(tuple(objects), source)
