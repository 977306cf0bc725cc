"""The world's state arrays and the one call into the fused kernel.

:class:`WorldCore` owns every array the kernel reads or writes (layout in
:mod:`hal.sim.world._layout`). The public views (``world.orbit``, ``world.power``...) read and
command it; :meth:`WorldCore.advance` is the only place that runs physics.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from hal._frames import gmst_rad
from hal.sim.world import _layout as L
from hal.sim.world._config import WorldConfig
from hal.sim.world._kernel import world_advance_kernel
from hal.sim.world._orbit_set import LazyOrbitSet
from native.constants import (
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    G0_M_S2,
    J2,
    J2000_JD,
)
from native.errors import ConfigError, DeviceCommandError
from native.kernels import (
    DENSITY_EXPONENTIAL,
    DENSITY_HARRIS_PRIESTER,
    DENSITY_SCALED_EXPONENTIAL,
    EXPONENTIAL_TABLE,
    HARRIS_PRIESTER_TABLE,
    SHADOW_CONICAL,
    SHADOW_CYLINDRICAL,
    SURF_COLUMNS,
    activity_log_factor,
    elements_to_state_kernel,
)

__all__ = ["WorldCore", "initial_elements"]

_KELVIN = 273.15
_UNIX_EPOCH_JD = 2440587.5
_F107 = {"low": 70.0, "moderate": 150.0, "high": 250.0}
_DENSITY = {
    "exponential": DENSITY_EXPONENTIAL,
    "scaled_exponential": DENSITY_SCALED_EXPONENTIAL,
    "harris_priester": DENSITY_HARRIS_PRIESTER,
}


def _mean_anomaly(true_anomaly: float, e: float) -> float:
    ecc = 2.0 * math.atan2(
        math.sqrt(1.0 - e) * math.sin(0.5 * true_anomaly),
        math.sqrt(1.0 + e) * math.cos(0.5 * true_anomaly),
    )
    return ecc - e * math.sin(ecc)


def initial_elements(cfg: WorldConfig) -> NDArray[np.float64]:
    """Osculating classical elements (rows: own, then neighbours in config order).

    Row = (a_m, e, i_rad, raan_rad, argp_rad, mean_anomaly_rad); a = R_E + altitude.
    """
    o = cfg.orbit
    rows = []
    specs = [(0.0, 0.0, 0.0, 0.0)] + [
        (n.delta_arg_lat_deg, n.delta_raan_deg, n.delta_altitude_km, n.delta_inclination_deg)
        for n in cfg.neighbours.satellites.values()
    ]
    for du, draan, dalt, dinc in specs:
        a = EARTH_RADIUS_M + (o.altitude_km + dalt) * 1e3
        argp = math.radians(o.arg_perigee_deg) if o.eccentricity > 0.0 else 0.0
        nu = math.radians(o.arg_lat_deg + du) - argp
        rows.append(
            [
                a,
                o.eccentricity,
                math.radians(o.inclination_deg + dinc),
                math.radians(o.raan_deg + draan),
                argp,
                _mean_anomaly(nu, o.eccentricity),
            ]
        )
    return np.array(rows, dtype=np.float64)


class WorldCore:
    """All state of one world and the bookkeeping of loads, rails and faults."""

    def __init__(self, cfg: WorldConfig, seed: int) -> None:
        self.cfg = cfg
        self.seed = int(seed)
        self.epoch_utc: datetime = cfg.epoch_datetime
        self.epoch_unix_ns = _unix_ns(self.epoch_utc)
        self.t_ns = 0
        self.step_ns = round(cfg.physics_step_s * 1e9)
        self.step_s = self.step_ns * 1e-9
        n = len(cfg.thermal.nodes)
        self.blob = np.zeros(L.B_NODES + 3 * n)
        b = self.blob
        self.own = b[L.B_OWN : L.B_OWN + 6]
        self.x = b[L.B_X : L.B_X + L.N_X]
        self.p = b[L.B_P : L.B_P + L.N_P]
        self.o = b[L.B_O : L.B_O + L.N_O]
        self.acc = b[L.B_A : L.B_A + L.N_A]
        self.temp_k = b[L.B_NODES : L.B_NODES + n]
        self.cap = b[L.B_NODES + n : L.B_NODES + 2 * n]
        self.q_base = b[L.B_NODES + 2 * n : L.B_NODES + 3 * n]
        self.dirty = True
        self.mode_name = cfg.attitude.initial_mode
        self._init_orbit()
        self._init_environment()
        self.catalogue = LazyOrbitSet(
            self._cat_states0,
            np.full(self._cat_states0.shape[0], self._cat_cdam),
            round(self.cfg.neighbours.propagation_step_s * 1e9),
            self.p,
            self.dtab,
        )
        self._init_thermal()
        self._init_power()
        self._init_propulsion()
        self._init_attitude()
        self.refresh_loads()
        self._call(0, 0.0, True)  # snap the attitude and evaluate the outputs at t = 0
        self._tail = (self.blob, self.cond, self.surf, self.work, self.ocv, self.dtab)

    # ------------------------------------------------------------------ initialisation
    def _init_orbit(self) -> None:
        cfg = self.cfg
        self.elements0 = initial_elements(cfg)
        states = np.empty((self.elements0.shape[0], 6))
        elements_to_state_kernel(self.elements0, states)
        self.own[:] = states[0]
        sc = cfg.spacecraft
        wet = sc.dry_mass_kg + cfg.propulsion.propellant_kg
        # Neighbours: propagated lazily (when asked) on their own fixed grid, so that the
        # answer does not depend on when or how often they are asked.
        self.neighbour_names = tuple(cfg.neighbours.satellites)
        #: row of each neighbour in :meth:`neighbour_states`
        self.neighbour_rows = {n: k for k, n in enumerate(self.neighbour_names)}
        self._cat_cdam = sc.drag_coefficient * sc.drag_area_m2 / wet if cfg.orbit.drag else 0.0
        self._cat_states0 = np.ascontiguousarray(states[1:])
        # In a universe of several spacecraft the neighbours are the other spacecraft plus
        # the universe's catalogue: the universe installs their source here.
        self.peer_states: Callable[[], NDArray[np.float64]] | None = None
        p = self.p
        p[L.P_J2] = J2 if cfg.orbit.j2 else 0.0
        p[L.P_DRAG_ON] = 1.0 if cfg.orbit.drag else 0.0
        p[L.P_CD] = sc.drag_coefficient
        p[L.P_BODY_AREA] = sc.body_drag_area_m2
        p[L.P_DRAG_MODE] = 0.0 if sc.drag_area_mode == "attitude" else 1.0
        p[L.P_DRAG_AREA] = sc.drag_area_m2
        self.x[L.X_MASS] = wet

    def _init_environment(self) -> None:
        env = self.cfg.environment
        p = self.p
        p[L.P_OMEGA_ATM] = EARTH_ROTATION_RAD_S if env.atmosphere_corotation else 0.0
        model = _DENSITY[env.density_model]
        p[L.P_DENS_MODEL] = model
        self.dtab = np.ascontiguousarray(
            HARRIS_PRIESTER_TABLE if model == DENSITY_HARRIS_PRIESTER else EXPONENTIAL_TABLE
        )
        f107 = env.f107_sfu if env.solar_activity == "f107" else _F107[env.solar_activity]
        self.f107_sfu = f107
        p[L.P_ACT_LN] = 0.0 if model == DENSITY_EXPONENTIAL else activity_log_factor(f107)
        jd = _UNIX_EPOCH_JD + self.epoch_unix_ns / 86400e9
        p[L.P_DAYS0] = jd - J2000_JD
        p[L.P_GMST0] = gmst_rad(self.epoch_unix_ns)
        p[L.P_SHADOW] = SHADOW_CONICAL if env.shadow_model == "conical" else SHADOW_CYLINDRICAL
        p[L.P_SOLAR] = env.solar_constant_w_m2
        p[L.P_ALBEDO] = env.albedo
        p[L.P_IR] = env.earth_ir_w_m2
        p[L.P_SAA_LAT] = math.radians(env.saa_center_lat_deg)
        p[L.P_SAA_LON] = math.radians(env.saa_center_lon_deg)
        p[L.P_SAA_A] = math.radians(env.saa_semi_lat_deg)
        p[L.P_SAA_B] = math.radians(env.saa_semi_lon_deg)

    def _init_thermal(self) -> None:
        th = self.cfg.thermal
        self.node_names = tuple(th.nodes)
        self.node_index = {name: k for k, name in enumerate(self.node_names)}
        n = len(self.node_names)
        self.temp_k[:] = [th.nodes[k].initial_temp_c + _KELVIN for k in self.node_names]
        self.cap[:] = [th.nodes[k].capacitance_j_k for k in self.node_names]
        self.cond = np.zeros((n, n))
        for c in th.conductances:
            i, j = self.node_index[c.a], self.node_index[c.b]
            self.cond[i, j] += c.g_w_k
            self.cond[j, i] += c.g_w_k
        self.surf = np.zeros((max(1, len(th.surfaces)), SURF_COLUMNS))
        for k, s in enumerate(th.surfaces):
            nrm = np.asarray(s.normal_body, dtype=np.float64)
            nrm /= np.linalg.norm(nrm)
            self.surf[k, :] = [
                self.node_index[s.node],
                s.area_m2,
                s.absorptivity,
                s.emissivity,
                *nrm,
                1.0 if s.variable_emissivity else 0.0,
            ]
        if not th.surfaces:  # a zero-area dummy keeps the kernel's array non-empty
            self.surf[0, 1] = 0.0
        self.dissipation_w = np.array([th.nodes[k].dissipation_w for k in self.node_names])
        self.heater_w = np.zeros(n)
        self.work = np.zeros((n, n + 2))
        self.eps_range = (th.radiator_emissivity_min, th.radiator_emissivity_max)
        self.p[L.P_EPS_RAD] = th.radiator_emissivity_initial

    def _init_power(self) -> None:
        pw = self.cfg.power
        a, b = pw.array, pw.battery
        p = self.p
        p[L.P_A_AREA] = a.area_m2
        p[L.P_A_EFF] = a.efficiency
        p[L.P_A_PACK] = a.packing_factor
        p[L.P_A_TC] = a.temp_coeff_per_k
        p[L.P_A_TREF] = a.ref_temp_c + _KELVIN
        p[L.P_A_DEGR] = a.degradation_frac
        p[L.P_A_STR_OK] = a.strings
        p[L.P_A_STR_TOT] = a.strings
        p[L.P_A_CELLS] = a.cells_per_string
        p[L.P_A_VMP] = a.cell_vmp_v
        p[L.P_A_VMP_TC] = a.cell_vmp_temp_coeff_v_k
        p[L.P_A_REG_EFF] = a.regulator_efficiency
        p[L.P_A_ALPHA] = a.absorptivity
        p[L.P_A_EPS_F] = a.emissivity_front
        p[L.P_A_EPS_B] = a.emissivity_back
        p[L.P_A_CAP] = a.areal_heat_capacity_j_m2_k * a.area_m2
        p[L.P_A_TRACK] = 0.0 if a.tracking == "one_axis_y" else 1.0
        nrm = np.asarray(a.normal_body, dtype=np.float64)
        p[L.P_A_N : L.P_A_N + 3] = nrm / np.linalg.norm(nrm)
        self.x[L.X_T_ARRAY] = a.initial_temp_c + _KELVIN
        p[L.P_B_CELLS_OK] = b.cells_series
        p[L.P_B_CAP_AH] = b.capacity_ah
        p[L.P_B_R25] = b.cell_resistance_ohm
        p[L.P_B_RTC] = b.resistance_temp_coeff_per_k
        p[L.P_B_ETA] = b.charge_efficiency
        p[L.P_B_MAXC] = b.max_charge_c_rate
        p[L.P_B_VMAX] = b.max_cell_voltage_v
        p[L.P_B_TMIN] = b.charge_temp_min_c + _KELVIN
        p[L.P_B_TMAX] = b.charge_temp_max_c + _KELVIN
        p[L.P_BATT_NODE] = self.node_index[b.thermal_node]
        self.x[L.X_CHARGE] = b.initial_soc_frac * b.capacity_ah
        self.ocv = np.ascontiguousarray(np.column_stack([b.ocv_soc_frac, b.ocv_cell_v]))
        self.rail_names = tuple(pw.rails)
        self.rail_index = {name: k for k, name in enumerate(self.rail_names)}
        rails = [pw.rails[k] for k in self.rail_names]
        self.rail_v = np.array([r.voltage_v for r in rails])
        self.rail_trip_a = np.array([r.trip_a for r in rails])
        self.rail_eff = np.array([r.efficiency for r in rails])
        self.rail_load_w = np.array([r.load_w for r in rails])
        self.rail_on = np.array([r.on for r in rails], dtype=bool)
        self.rail_tripped = np.zeros(len(rails), dtype=bool)
        self.rail_trip_count = np.zeros(len(rails), dtype=np.int64)
        self.heater_rail = self.rail_index[pw.heater_rail]

    def _init_attitude(self) -> None:
        att = self.cfg.attitude
        inertia = np.asarray(att.inertia_kg_m2, dtype=np.float64)
        if not np.all(inertia > 0.0):
            raise ConfigError("world.attitude.inertia_kg_m2: every moment must be > 0")
        if att.wheel_momentum_reset_nms >= att.wheel_momentum_max_nms:
            raise ConfigError(
                "world.attitude.wheel_momentum_reset_nms: must be below wheel_momentum_max_nms"
            )
        p = self.p
        p[L.P_MODE] = L.MODES[self.mode_name]
        p[L.P_SLEW] = math.radians(att.max_slew_rate_deg_s)
        p[L.P_SNAP_ATT] = 1.0
        p[L.P_Q_TGT : L.P_Q_TGT + 4] = (1.0, 0.0, 0.0, 0.0)
        p[L.P_V_TGT : L.P_V_TGT + 3] = (0.0, 0.0, 1.0)
        p[L.P_INERTIA : L.P_INERTIA + 3] = inertia
        p[L.P_TDIST : L.P_TDIST + 3] = att.disturbance_torque_nm
        p[L.P_GG] = 1.0 if att.gravity_gradient else 0.0
        p[L.P_HW_MAX] = att.wheel_momentum_max_nms
        p[L.P_HW_RESET] = att.wheel_momentum_reset_nms
        p[L.P_DUMP_NM] = att.desat_torque_nm
        self.x[L.X_Q] = 1.0

    def _init_propulsion(self) -> None:
        pr = self.cfg.propulsion
        self.x[L.X_PROP] = pr.propellant_kg
        self.thrust_scale = 1.0
        self.thruster_failed = False
        self.refresh_thrust()

    # ------------------------------------------------------------------ derived inputs
    def refresh_thrust(self) -> None:
        """Effective thrust and mass flow from the configuration and the faults."""
        pr = self.cfg.propulsion
        f = 0.0 if self.thruster_failed else pr.thrust_n * self.thrust_scale
        self.p[L.P_THRUST] = f
        self.p[L.P_MDOT] = f / (pr.isp_s * G0_M_S2)

    def rail_demand_w(self) -> NDArray[np.float64]:
        """Declared load per rail (W), the heater rail including the heater power."""
        d = self.rail_load_w.copy()
        d[self.heater_rail] += float(self.heater_w.sum())
        return d

    def rail_powered(self) -> NDArray[np.bool_]:
        """True for rails that are on and not tripped."""
        return self.rail_on & ~self.rail_tripped

    def refresh_loads(self) -> None:
        """Check overcurrent trips, then recompute the bus load and the node heat loads."""
        demand = self.rail_demand_w()
        over = self.rail_powered() & (demand / self.rail_v > self.rail_trip_a)
        if over.any():
            self.rail_tripped |= over
            self.rail_trip_count += over
        powered = self.rail_powered()
        self.p[L.P_LOAD_W] = float(np.sum(np.where(powered, demand / self.rail_eff, 0.0)))
        heat = self.heater_w if powered[self.heater_rail] else 0.0
        np.add(self.dissipation_w, heat, out=self.q_base)
        self.dirty = True

    def refresh_outputs(self) -> None:
        """Mark the outputs stale (they are re-evaluated when next read)."""
        self.dirty = True

    def out(self) -> NDArray[np.float64]:
        """The output array, evaluated at the current state if stale (after an advance or a
        command that changes the inputs)."""
        if self.dirty:
            self._call(0, 0.0, True)
        return self.o

    def neighbour_states(self) -> NDArray[np.float64]:
        """Neighbour ECI states (M, 6) at ``t_ns``: the grid state advanced by whole
        ``propagation_step_s`` steps, plus one partial step from the last grid point.

        In a universe of several spacecraft: the other spacecraft and the catalogue, from
        the universe (:attr:`peer_states`)."""
        if self.peer_states is not None:
            return self.peer_states()
        return self.catalogue_states(self.t_ns)

    def catalogue_states(self, t_ns: int) -> NDArray[np.float64]:
        """Catalogue neighbour states (M, 6) at ``t_ns`` (>= the last time asked): see
        :meth:`neighbour_states`."""
        return self.catalogue.states(t_ns)

    def ordered_neighbour_states(self) -> NDArray[np.float64]:
        """Neighbour states (M, 6) in :attr:`neighbour_names` order."""
        st = self.neighbour_states()
        if self.peer_states is None:
            return st
        return st[[self.neighbour_rows[n] for n in self.neighbour_names]]

    # ------------------------------------------------------------------ universe support
    def rebind(
        self,
        blob: NDArray[np.float64],
        cond: NDArray[np.float64],
        surf: NDArray[np.float64],
        work: NDArray[np.float64],
        ocv: NDArray[np.float64],
    ) -> None:
        """Move the state into caller-owned arrays (rows of a universe's stacked arrays, same
        shapes as ours): the values are copied and every named view re-pointed."""
        n = self.temp_k.shape[0]
        for dst, src in ((blob, self.blob), (cond, self.cond), (surf, self.surf),
                         (work, self.work), (ocv, self.ocv)):  # fmt: skip
            if dst.shape != src.shape or dst.dtype != src.dtype:
                raise ConfigError(f"rebind: shape {dst.shape} != {src.shape}")
            dst[...] = src
        self.blob, self.cond, self.surf, self.work, self.ocv = blob, cond, surf, work, ocv
        b = blob
        self.own = b[L.B_OWN : L.B_OWN + 6]
        self.x = b[L.B_X : L.B_X + L.N_X]
        self.p = b[L.B_P : L.B_P + L.N_P]
        self.o = b[L.B_O : L.B_O + L.N_O]
        self.acc = b[L.B_A : L.B_A + L.N_A]
        self.temp_k = b[L.B_NODES : L.B_NODES + n]
        self.cap = b[L.B_NODES + n : L.B_NODES + 2 * n]
        self.q_base = b[L.B_NODES + 2 * n : L.B_NODES + 3 * n]
        self._tail = (self.blob, self.cond, self.surf, self.work, self.ocv, self.dtab)
        self.catalogue.bind_params(self.p)

    def set_own_state(self, state: NDArray[np.float64]) -> None:
        """Set the own ECI state (6,) (m, m/s), then put the attitude on its mode's target for
        that state, as at construction, and re-evaluate the outputs."""
        self.own[:] = state
        self.p[L.P_SNAP_ATT] = 1.0
        self._call(0, 0.0, True)

    # ------------------------------------------------------------------ stepping
    def _call(self, n_full: int, h_last: float, eval_out: bool) -> None:
        self.dirty = not eval_out
        world_advance_kernel(
            self.t_ns * 1e-9,
            n_full,
            self.step_s,
            h_last,
            eval_out,
            self.blob,
            self.cond,
            self.surf,
            self.work,
            self.ocv,
            self.dtab,
        )

    def advance(self, dt_ns: int) -> None:
        """Run the physics for ``dt_ns`` ns (whole physics steps plus one shorter last step)."""
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int | np.integer):
            raise DeviceCommandError(f"dt_ns must be an integer number of ns, got {dt_ns!r}")
        dt_ns = int(dt_ns)
        if dt_ns < 0:
            raise DeviceCommandError(f"dt_ns must be >= 0, got {dt_ns}")
        if dt_ns == 0:
            return
        n_full, rem = divmod(dt_ns, self.step_ns)
        world_advance_kernel(self.t_ns * 1e-9, n_full, self.step_s, rem * 1e-9, False, *self._tail)
        self.dirty = True
        self.t_ns += dt_ns

    @property
    def utc_ns(self) -> int:
        """Current time, ns since the Unix epoch (UTC)."""
        return self.epoch_unix_ns + self.t_ns

    def digest(self) -> str:
        """SHA-256 over every state array (equal digests = bit-identical worlds)."""
        h = hashlib.sha256()
        self.out()
        for a in (self.blob, self.ordered_neighbour_states()):
            h.update(np.ascontiguousarray(a).tobytes())
        h.update(self.t_ns.to_bytes(16, "little", signed=True))
        return h.hexdigest()

    def plant_digest(self) -> str:
        """SHA-256 over this spacecraft's own state only (no neighbours)."""
        h = hashlib.sha256()
        self.out()
        h.update(np.ascontiguousarray(self.blob).tobytes())
        h.update(self.t_ns.to_bytes(16, "little", signed=True))
        return h.hexdigest()


def _unix_ns(dt: datetime) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
