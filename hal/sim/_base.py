"""Shared machinery of the simulated devices: the device base class, configuration reading,
sensor signal chains (noise, bias, quantisation, saturation, faults) and quaternion helpers.

A simulated device reads and drives the :class:`hal.sim.world.World` of its backend only
through the world's public API (WORLD_CONTRACT), and reaches its backend only through its
:class:`~hal.sim._context.DeviceContext`. Its electrical draw and heat are *declared*
(:meth:`SimDevice._rail_loads`, :meth:`SimDevice._heat`) and the backend sums the declarations
of every device per rail and per thermal node before each physics step, so that two devices on
one rail or two heaters on one node add up instead of overwriting each other; a device whose
declarations change between steps says so with :meth:`DeviceContext.loads_changed`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hal._common import Family
from hal.sim._context import DeviceContext
from native.errors import ConfigError, DeviceUnavailableError

__all__ = [
    "SENSOR_FAULTS",
    "Options",
    "SensorChannel",
    "SimDevice",
    "SimSensor",
    "as_vec3",
    "quantise",
    "quat_mul",
    "quat_rotate",
]

Array = NDArray[np.float64]


# ------------------------------------------------------------------------------ configuration
class Options:
    """Typed, validated access to one configuration table; unknown keys are errors.

    Every accessor consumes its key; :meth:`finish` raises ConfigError naming any key that no
    accessor asked for (a typo in a configuration must not pass silently).
    """

    def __init__(self, table: Mapping[str, Any] | None, path: str) -> None:
        if table is None:
            table = {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{path}: must be a table, got {type(table).__name__}")
        self._t = dict(table)
        self._path = path
        self._used: set[str] = set()

    @property
    def path(self) -> str:
        """Dotted path of the table (for messages)."""
        return self._path

    def _err(self, key: str, msg: str) -> ConfigError:
        return ConfigError(f"{self._path}.{key}: {msg}")

    def setdefault(self, key: str, value: Any) -> None:
        """Give ``key`` the value ``value`` when the table does not set it."""
        self._t.setdefault(key, value)

    def has(self, key: str) -> bool:
        """True if ``key`` is present (does not consume it)."""
        return key in self._t

    def raw(self, key: str, default: Any = None) -> Any:
        """The raw value (consumed), or ``default``."""
        self._used.add(key)
        return self._t.get(key, default)

    def real(
        self,
        key: str,
        default: float | None,
        *,
        lo: float = -math.inf,
        hi: float = math.inf,
        lo_open: bool = False,
    ) -> float:
        """A finite real in [lo, hi] (or (lo, hi] with ``lo_open``)."""
        self._used.add(key)
        if key not in self._t:
            if default is None:
                raise self._err(key, "missing required key")
            return default
        v = self._t[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self._err(key, f"must be a number, got {v!r}")
        x = float(v)
        if not math.isfinite(x):
            raise self._err(key, f"must be finite, got {x!r}")
        if x < lo or x > hi or (lo_open and x == lo):
            lo_b = "(" if lo_open else "["
            raise self._err(key, f"{x!r} is outside {lo_b}{lo!r}, {hi!r}]")
        return x

    def integer(self, key: str, default: int | None, *, lo: int = 0, hi: int = 2**63 - 1) -> int:
        """An integer in [lo, hi]."""
        self._used.add(key)
        if key not in self._t:
            if default is None:
                raise self._err(key, "missing required key")
            return default
        v = self._t[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise self._err(key, f"must be an integer, got {v!r}")
        if not lo <= v <= hi:
            raise self._err(key, f"{v!r} is outside [{lo}, {hi}]")
        return v

    def flag(self, key: str, default: bool) -> bool:
        """A boolean."""
        self._used.add(key)
        v = self._t.get(key, default)
        if not isinstance(v, bool):
            raise self._err(key, f"must be true or false, got {v!r}")
        return v

    def string(self, key: str, default: str | None, choices: Iterable[str] | None = None) -> str:
        """A string (from ``choices`` when given)."""
        self._used.add(key)
        if key not in self._t:
            if default is None:
                raise self._err(key, "missing required key")
            return default
        v = self._t[key]
        if not isinstance(v, str):
            raise self._err(key, f"must be a string, got {v!r}")
        if choices is not None:
            ch = tuple(choices)
            if v not in ch:
                raise self._err(key, f"{v!r} is not one of {', '.join(map(repr, ch))}")
        return v

    def opt_str(self, key: str, choices: Iterable[str] | None = None) -> str | None:
        """A string or None when absent."""
        if key not in self._t:
            self._used.add(key)
            return None
        return self.string(key, None, choices)

    def vec3(self, key: str, default: tuple[float, float, float]) -> Array:
        """Three finite reals."""
        self._used.add(key)
        v = self._t.get(key, default)
        if (
            not isinstance(v, (list, tuple))
            or len(v) != 3
            or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in v)
            or not all(math.isfinite(float(x)) for x in v)
        ):
            raise self._err(key, f"must be 3 finite numbers, got {v!r}")
        return np.array([float(x) for x in v])

    def table(self, key: str) -> Mapping[str, Any] | None:
        """A sub-table or None when absent."""
        self._used.add(key)
        v = self._t.get(key)
        if v is not None and not isinstance(v, Mapping):
            raise self._err(key, f"must be a table, got {v!r}")
        return v

    def finish(self) -> None:
        """Raise ConfigError naming any key that was never read."""
        unknown = sorted(set(self._t) - self._used)
        if unknown:
            raise ConfigError(
                f"{self._path}: unknown key{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}"
            )


# ----------------------------------------------------------------------------- math helpers
def quat_mul(p: Array, q: Array) -> Array:
    """Hamilton product of scalar-first quaternions."""
    w1, x1, y1, z1 = p
    w2, x2, y2, z2 = q
    return np.array(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )


def quat_rotate(q: Array, v: Array, *, inverse: bool = False) -> Array:
    """Rotate ``v`` by the unit quaternion ``q`` (q v q*), or by q* with ``inverse``:
    v + w t + u x t with t = 2 u x v. Written out in scalars: for one 3-vector this is ~20x
    cheaper than numpy's cross, and sensors call it every read."""
    w, ux, uy, uz = float(q[0]), float(q[1]), float(q[2]), float(q[3])
    if inverse:
        ux, uy, uz = -ux, -uy, -uz
    vx, vy, vz = float(v[0]), float(v[1]), float(v[2])
    tx = 2.0 * (uy * vz - uz * vy)
    ty = 2.0 * (uz * vx - ux * vz)
    tz = 2.0 * (ux * vy - uy * vx)
    return np.array(
        [
            vx + w * tx + (uy * tz - uz * ty),
            vy + w * ty + (uz * tx - ux * tz),
            vz + w * tz + (ux * ty - uy * tx),
        ],
        dtype=np.float64,
    )


def as_vec3(a: Array) -> tuple[float, float, float]:
    """A numpy 3-vector as a tuple of Python floats."""
    return (float(a[0]), float(a[1]), float(a[2]))


def quantise(x: Array, quantum: float) -> Array:
    """Round to the nearest multiple of ``quantum`` (no-op for quantum <= 0)."""
    if quantum <= 0.0:
        return x
    return np.round(x / quantum) * quantum


# --------------------------------------------------------------------------- sensor channels
#: Sensor fault kinds a :class:`SensorChannel` handles.
SENSOR_FAULTS = frozenset({"sensor_stuck", "sensor_noisy", "sensor_dropout"})


class SensorChannel:
    """One measured quantity of a sensor with its injected faults.

    ``sample(make)`` calls ``make(noise_scale)`` to produce a fresh measurement (the device
    applies its own noise model, scaled by ``noise_scale``). Faults:

    - ``sensor_stuck``: the first measurement after the fault is frozen and returned
      unchanged (and reported valid) until the fault clears;
    - ``sensor_noisy``: the noise is multiplied by ``noise_scale`` (default 10);
    - ``sensor_dropout``: no measurement (``sample`` returns None -> the reading is invalid).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.stuck = False
        self.stuck_value: Array | None = None
        self.noise_scale = 1.0
        self.dropout = False

    def apply(self, kind: str, params: Mapping[str, Any]) -> None:
        """Start fault ``kind``."""
        if kind == "sensor_stuck":
            self.stuck, self.stuck_value = True, None
        elif kind == "sensor_noisy":
            self.noise_scale = float(params.get("noise_scale", 10.0))
        elif kind == "sensor_dropout":
            self.dropout = True

    def clear(self, kind: str) -> None:
        """End fault ``kind``."""
        if kind == "sensor_stuck":
            self.stuck, self.stuck_value = False, None
        elif kind == "sensor_noisy":
            self.noise_scale = 1.0
        elif kind == "sensor_dropout":
            self.dropout = False

    def sample(self, make: Callable[[float], Array]) -> Array | None:
        """A measurement through the fault model, or None during a dropout."""
        if self.dropout:
            return None
        if self.stuck:
            if self.stuck_value is None:
                self.stuck_value = np.array(make(self.noise_scale), dtype=np.float64)
            return self.stuck_value.copy()
        return np.asarray(make(self.noise_scale), dtype=np.float64)


# ------------------------------------------------------------------------------ device base
class SimDevice:
    """Base of every simulated device.

    Common configuration keys: ``rail`` (PDU rail the device is powered from; when the rail
    is off or tripped the device is unavailable) and ``power_w`` (quiescent electrical draw
    declared on that rail, W). Subclasses set :attr:`family` and :attr:`FAULTS` (the fault
    kinds they accept) and read their own keys in ``__init__`` before calling
    ``opts.finish()``.
    """

    family: ClassVar[Family]
    FAULTS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        self._name = name
        self._ctx = ctx
        rails = tuple(ctx.world.power.rail_names)
        self._rail = opts.opt_str("rail", rails)
        self._quiescent_w = opts.real("power_w", 0.0, lo=0.0)
        self._switch_on = True
        self._rng = ctx.rng()

    # -- identity
    @property
    def name(self) -> str:
        """Unique device name."""
        return self._name

    @property
    def rail(self) -> str | None:
        """PDU rail powering the device (None: always powered)."""
        return self._rail

    @property
    def world(self) -> Any:
        """The simulated world of the backend."""
        return self._ctx.world

    def _now(self) -> int:
        return self._ctx.now_ns()

    def _loads_changed(self) -> None:
        """This device's declared loads or heat changed: let the world see them now."""
        self._ctx.loads_changed()

    # -- power
    @property
    def powered(self) -> bool:
        """True when the device's switch is closed and its rail (if any) is on."""
        if not self._switch_on:
            return False
        if self._rail is None:
            return True
        # rail_on is False for a tripped rail too
        return bool(self._ctx.world.power.rail_on(self._rail))

    def _require_power(self) -> None:
        if not self._switch_on:
            raise DeviceUnavailableError(f"{self._name}: device is switched off")
        if not self.powered:
            raise DeviceUnavailableError(f"{self._name}: rail {self._rail!r} is off or tripped")

    def _set_switch(self, on: bool) -> None:
        """Connect or disconnect the device's own supply (harness / PDU emulation)."""
        self._switch_on = bool(on)
        self._loads_changed()

    # -- declarations for the backend's per-step summation
    def _electrical_w(self) -> float:
        """Electrical draw now (W) when powered; subclasses add their active loads."""
        return self._quiescent_w

    def _rail_loads(self) -> Iterable[tuple[str, float]]:
        """(rail, W) pairs this device draws."""
        if self._rail is not None and self.powered:
            return ((self._rail, self._electrical_w()),)
        return ()

    def _heat(self) -> Iterable[tuple[str, str, float]]:
        """(kind, node, W) with kind ``"heater"`` or ``"dissipation"``."""
        return ()

    # -- time
    def _pre_step(self, t0_ns: int, dt_ns: int) -> None:
        """Called before the world advances over [t0, t0 + dt)."""

    def _post_step(self, t_ns: int) -> None:
        """Called after the world advanced to ``t_ns``."""

    def _on_reboot(self, reason: Any) -> None:
        """The flight computer restarted (volatile device state returns to power-on)."""

    # -- faults
    @property
    def fault_channels(self) -> tuple[str, ...]:
        """Channel names a scenario may target as ``device.channel``."""
        return ()

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        """Start fault ``kind`` (on ``channel`` or on the whole device)."""
        raise ConfigError(f"{self._name}: fault {kind!r} does not apply to a {self.family}")

    def clear_fault(self, kind: str, channel: str | None) -> None:
        """End fault ``kind``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._name!r}>"


class SimSensor(SimDevice):
    """A device with named :class:`SensorChannel` s that takes the three sensor faults."""

    FAULTS: ClassVar[frozenset[str]] = SENSOR_FAULTS

    def __init__(self, name: str, ctx: DeviceContext, opts: Options, channels: Iterable[str]):
        super().__init__(name, ctx, opts)
        self._channels = {c: SensorChannel(c) for c in channels}

    @property
    def fault_channels(self) -> tuple[str, ...]:
        return tuple(self._channels)

    def _targets(self, channel: str | None) -> list[SensorChannel]:
        if channel is None:
            return list(self._channels.values())
        if channel not in self._channels:
            raise ConfigError(f"{self._name}: no channel {channel!r}")
        return [self._channels[channel]]

    def apply_fault(self, kind: str, channel: str | None, params: Mapping[str, Any]) -> None:
        if kind not in SENSOR_FAULTS:
            super().apply_fault(kind, channel, params)
            return
        for ch in self._targets(channel):
            ch.apply(kind, params)

    def clear_fault(self, kind: str, channel: str | None) -> None:
        if kind in SENSOR_FAULTS:
            for ch in self._targets(channel):
                ch.clear(kind)

    def _measure(
        self,
        channel: str,
        truth: float | Array,
        *,
        noise: float,
        bias: float | Array = 0.0,
        quantum: float = 0.0,
        lo: float = -math.inf,
        hi: float = math.inf,
    ) -> Array | None:
        """truth + bias + noise N(0, 1) * scale, quantised and saturated; None on dropout."""
        t = np.asarray(truth, dtype=np.float64)
        if t.ndim == 0 and (isinstance(bias, float | int) or np.ndim(bias) == 0):
            # Scalar channels (temperatures, currents...) in plain floats: the same model and
            # the same random stream as the array path, without NumPy's per-call overhead.
            tv = float(t) + float(bias)
            rng = self._rng

            def make_scalar(scale: float) -> Array:
                x = tv
                if noise > 0.0:
                    x += noise * scale * float(rng.standard_normal())
                if quantum > 0.0:
                    x = round(x / quantum) * quantum
                return np.float64(min(max(x, lo), hi))  # type: ignore[return-value]

            return self._channels[channel].sample(make_scalar)

        def make(scale: float) -> Array:
            x = t + bias
            if noise > 0.0:
                x = x + noise * scale * self._rng.standard_normal(t.shape)
            return np.clip(quantise(np.asarray(x, dtype=np.float64), quantum), lo, hi)

        return self._channels[channel].sample(make)
