"""Simulated sensors: GNSS receiver, gyro, star tracker, sun sensor, temperature channels.

Each reads the truth from the world and adds its error model, drawn from
``world.rng(device_name)`` (so every run is reproducible from the world seed): white noise
(``noise_*``, 1-sigma), a constant bias (``bias_*``, or a random turn-on bias of 1-sigma
``bias_sigma_*`` drawn once at creation), quantisation (``quantum_*``) and saturation. The
sensor faults (stuck, noisy, dropout) act per channel (see :class:`hal.sim._base.SensorChannel`).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from hal._common import Family
from hal._frames import eci_to_ecef
from hal.sensors import (
    GnssFix,
    GnssReading,
    GnssReceiver,
    Imu,
    ImuReading,
    StarTracker,
    StarTrackerReading,
    SunSensor,
    SunSensorReading,
    TemperatureChannel,
    TemperatureReading,
    TemperatureSensors,
)
from hal.sim._base import Options, SimSensor, as_vec3, quat_mul, quat_rotate
from hal.sim._context import DeviceContext
from native.errors import ConfigError

__all__ = ["SimGnss", "SimImu", "SimStarTracker", "SimSunSensor", "SimTemperature"]

_NAN3 = (math.nan, math.nan, math.nan)
_ARCSEC = math.pi / (180.0 * 3600.0)


class SimGnss(SimSensor, GnssReceiver):
    """Simulated GNSS receiver (channels ``position``, ``velocity``).

    Keys: ``noise_m`` (3.0, per axis), ``noise_m_s`` (0.03), ``bias_m`` / ``bias_m_s`` ([0, 0,
    0], ECEF), ``quantum_m`` (0.01) / ``quantum_m_s`` (0.001), ``sats_min``/``sats_max`` (6/12,
    satellites used, drawn per fix), ``clock_noise_ns`` (20). A dropout of either channel
    loses the fix.
    """

    family: ClassVar[Family] = Family.GNSS

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("position", "velocity"))
        self._noise_m = opts.real("noise_m", 3.0, lo=0.0)
        self._noise_m_s = opts.real("noise_m_s", 0.03, lo=0.0)
        self._bias_m = opts.vec3("bias_m", (0.0, 0.0, 0.0))
        self._bias_m_s = opts.vec3("bias_m_s", (0.0, 0.0, 0.0))
        self._quantum_m = opts.real("quantum_m", 0.01, lo=0.0)
        self._quantum_m_s = opts.real("quantum_m_s", 0.001, lo=0.0)
        self._sats_min = opts.integer("sats_min", 6, lo=4, hi=64)
        self._sats_max = opts.integer("sats_max", 12, lo=4, hi=64)
        if self._sats_max < self._sats_min:
            raise ConfigError(f"{opts.path}.sats_max: below sats_min")
        self._clock_noise_ns = opts.real("clock_noise_ns", 20.0, lo=0.0)
        opts.finish()

    def read(self) -> GnssReading:
        self._require_power()
        t = self._now()
        utc_true = int(self.world.utc_ns)
        w = self.world
        r, v = eci_to_ecef(w.orbit.r_eci_m, w.orbit.v_eci_m_s, utc_true)
        pos = self._measure(
            "position", r, noise=self._noise_m, bias=self._bias_m, quantum=self._quantum_m
        )
        vel = self._measure(
            "velocity", v, noise=self._noise_m_s, bias=self._bias_m_s, quantum=self._quantum_m_s
        )
        utc = utc_true + round(self._clock_noise_ns * float(self._rng.standard_normal()))
        if pos is None or vel is None:
            return GnssReading(t, False, GnssFix.TIME_ONLY, utc, _NAN3, _NAN3, 0)
        sats = int(self._rng.integers(self._sats_min, self._sats_max + 1))
        return GnssReading(t, True, GnssFix.FIX_3D, utc, as_vec3(pos), as_vec3(vel), sats)


class SimImu(SimSensor, Imu):
    """Simulated rate gyro (channel ``rate``).

    Keys: ``noise_rad_s`` (1e-5), ``bias_rad_s`` ([0, 0, 0]), ``bias_sigma_rad_s`` (2e-6,
    turn-on bias drawn once), ``quantum_rad_s`` (1e-7), ``range_rad_s`` (0.35 ~ 20 deg/s).
    """

    family: ClassVar[Family] = Family.IMU

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("rate",))
        self._noise = opts.real("noise_rad_s", 1e-5, lo=0.0)
        bias = opts.vec3("bias_rad_s", (0.0, 0.0, 0.0))
        sigma = opts.real("bias_sigma_rad_s", 2e-6, lo=0.0)
        self._quantum = opts.real("quantum_rad_s", 1e-7, lo=0.0)
        self._range = opts.real("range_rad_s", 0.35, lo=0.0, lo_open=True)
        opts.finish()
        self._bias = bias + sigma * self._rng.standard_normal(3)

    @property
    def range_rad_s(self) -> float:
        return self._range

    def read(self) -> ImuReading:
        self._require_power()
        t = self._now()
        truth = np.asarray(self.world.attitude.rate_body_rad_s, dtype=np.float64)
        m = self._measure(
            "rate",
            truth,
            noise=self._noise,
            bias=self._bias,
            quantum=self._quantum,
            lo=-self._range,
            hi=self._range,
        )
        if m is None:
            return ImuReading(t, False, _NAN3)
        return ImuReading(t, True, as_vec3(m))


class SimStarTracker(SimSensor, StarTracker):
    """Simulated star tracker (channel ``attitude``).

    Keys: ``noise_arcsec`` (10, per axis, body-frame error rotation), ``bias_arcsec`` ([0, 0,
    0]: fixed misalignment, a body-frame rotation vector), ``boresight_body``
    ([0, 0, -1]: zenith in nadir pointing), ``sun_exclusion_deg`` (30; invalid when the Sun is
    closer to the boresight), ``max_rate_rad_s`` (0.05; invalid when rotating faster).
    """

    family: ClassVar[Family] = Family.STAR_TRACKER

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("attitude",))
        self._noise = opts.real("noise_arcsec", 10.0, lo=0.0) * _ARCSEC
        self._bias = opts.vec3("bias_arcsec", (0.0, 0.0, 0.0)) * _ARCSEC
        b = opts.vec3("boresight_body", (0.0, 0.0, -1.0))
        if np.linalg.norm(b) < 1e-9:
            raise ConfigError(f"{opts.path}.boresight_body: zero vector")
        self._boresight = b / np.linalg.norm(b)
        self._cos_excl = math.cos(math.radians(opts.real("sun_exclusion_deg", 30.0, lo=0, hi=180)))
        self._max_rate = opts.real("max_rate_rad_s", 0.05, lo=0.0, lo_open=True)
        opts.finish()

    def _blinded(self, q: np.ndarray) -> bool:
        w = self.world
        if float(w.env.sunlit_frac) <= 0.0:
            return False
        sun_body = quat_rotate(q, np.asarray(w.env.sun_eci_unit, dtype=np.float64), inverse=True)
        return float(sun_body @ self._boresight) > self._cos_excl

    def read(self) -> StarTrackerReading:
        self._require_power()
        t = self._now()
        w = self.world
        q = np.asarray(w.attitude.q_body_to_eci, dtype=np.float64)
        rate = float(np.linalg.norm(np.asarray(w.attitude.rate_body_rad_s, dtype=np.float64)))
        if rate > self._max_rate or self._blinded(q):
            return StarTrackerReading(t, False, (math.nan,) * 4)

        def make(scale: float) -> np.ndarray:
            e = self._bias + self._noise * scale * self._rng.standard_normal(3)
            dq = np.concatenate(([1.0], 0.5 * e))
            out = quat_mul(q, dq / np.linalg.norm(dq))
            return out if out[0] >= 0 else -out

        m = self._channels["attitude"].sample(make)
        if m is None:
            return StarTrackerReading(t, False, (math.nan,) * 4)
        m = m / np.linalg.norm(m)
        return StarTrackerReading(t, True, (float(m[0]), float(m[1]), float(m[2]), float(m[3])))


class SimSunSensor(SimSensor, SunSensor):
    """Simulated (fine or coarse) sun sensor (channel ``sun``).

    Keys: ``noise_rad`` (0.005, per axis before normalisation), ``bias_rad`` ([0, 0, 0],
    added before normalisation: a small misalignment), ``boresight_body`` ([0, 0,
    -1]), ``fov_half_angle_deg`` (90; 180 = all-sky cluster of coarse sensors),
    ``min_sunlit_frac`` (0.5: invalid in eclipse and deep penumbra).
    """

    family: ClassVar[Family] = Family.SUN_SENSOR

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        super().__init__(name, ctx, opts, ("sun",))
        self._noise = opts.real("noise_rad", 0.005, lo=0.0)
        self._bias = opts.vec3("bias_rad", (0.0, 0.0, 0.0))
        b = opts.vec3("boresight_body", (0.0, 0.0, -1.0))
        if np.linalg.norm(b) < 1e-9:
            raise ConfigError(f"{opts.path}.boresight_body: zero vector")
        self._boresight = b / np.linalg.norm(b)
        fov = opts.real("fov_half_angle_deg", 90.0, lo=0.0, hi=180.0, lo_open=True)
        self._cos_fov = math.cos(math.radians(fov))
        self._min_sunlit = opts.real("min_sunlit_frac", 0.5, lo=0.0, hi=1.0)
        opts.finish()

    def read(self) -> SunSensorReading:
        self._require_power()
        t = self._now()
        w = self.world
        q = np.asarray(w.attitude.q_body_to_eci, dtype=np.float64)
        s = quat_rotate(q, np.asarray(w.env.sun_eci_unit, dtype=np.float64), inverse=True)
        if float(w.env.sunlit_frac) < self._min_sunlit or float(s @ self._boresight) < (
            self._cos_fov - 1e-12
        ):
            return SunSensorReading(t, False, _NAN3)
        m = self._measure("sun", s, noise=self._noise, bias=self._bias)
        if m is None:
            return SunSensorReading(t, False, _NAN3)
        return SunSensorReading(t, True, as_vec3(m / np.linalg.norm(m)))


class SimTemperature(SimSensor, TemperatureSensors):
    """Simulated temperature acquisition: named channels reading thermal nodes.

    Keys: ``channels`` (required: table channel name -> thermal node, e.g.
    ``{battery = "battery", cpu = "compute"}``), ``noise_c`` (0.05), ``bias_c`` (0.0, all
    channels), ``quantum_c`` (0.0625, a 12-bit converter), ``range_c`` ([-55, 150]).
    """

    family: ClassVar[Family] = Family.TEMPERATURE

    def __init__(self, name: str, ctx: DeviceContext, opts: Options) -> None:
        table = opts.table("channels")
        if not table:
            raise ConfigError(f"{opts.path}.channels: missing required table of channels")
        nodes = tuple(ctx.world.thermal.node_names)
        self._nodes: dict[str, str] = {}
        for ch, node in table.items():
            if not isinstance(node, str) or node not in nodes:
                raise ConfigError(
                    f"{opts.path}.channels.{ch}: unknown thermal node {node!r} "
                    f"(known: {', '.join(nodes)})"
                )
            self._nodes[str(ch)] = node
        super().__init__(name, ctx, opts, tuple(self._nodes))
        self._noise = opts.real("noise_c", 0.05, lo=0.0)
        self._bias = opts.real("bias_c", 0.0)
        self._quantum = opts.real("quantum_c", 0.0625, lo=0.0)
        rng_c = opts.raw("range_c", [-55.0, 150.0])
        if (
            not isinstance(rng_c, (list, tuple))
            or len(rng_c) != 2
            or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng_c)
            or not float(rng_c[0]) < float(rng_c[1])
        ):
            raise ConfigError(f"{opts.path}.range_c: must be [low, high] with low < high")
        self._lo, self._hi = float(rng_c[0]), float(rng_c[1])
        opts.finish()

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    def read(self) -> TemperatureReading:
        self._require_power()
        t = self._now()
        th = self.world.thermal
        out = []
        for ch, node in self._nodes.items():
            m = self._measure(
                ch,
                float(th.temp_c(node)),
                noise=self._noise,
                bias=self._bias,
                quantum=self._quantum,
                lo=self._lo,
                hi=self._hi,
            )
            if m is None:
                out.append(TemperatureChannel(ch, math.nan, False))
            else:
                out.append(TemperatureChannel(ch, float(m), True))
        return TemperatureReading(t, all(c.valid for c in out), tuple(out))
