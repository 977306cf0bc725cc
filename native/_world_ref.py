"""Pure-NumPy reference of the simulated world's fused step (the test oracle of the world's
Numba kernel, ``hal.sim.world._kernel.world_advance``).

Written for clarity, with vectors and matrices instead of the kernel's unrolled scalars, and
built from the other NumPy references: the Sun, shadow and density of :mod:`native._env_ref`,
the acceleration of :mod:`native._orbit_ref` and the thermal step of
:mod:`native._thermal_ref`. Attitude uses rotation matrices, quaternions from the largest
eigenvector of Bar-Itzhack's symmetric 4x4 matrix (not Shepperd's branches) and a textbook
slerp; the orbit a generic RK4 over a derivative with time-varying mass.

The model, in order, for each step of ``h`` seconds from time ``t`` (all rates evaluated at
the state at the start of the step, as in the kernel's docstring):

1. environment at ``t``: Sun, sunlit fraction, flux, geodetic height, SAA ellipse;
2. body frame from the attitude; Sun and nadir in the body frame; array incidence;
3. drag area (attitude-dependent or fixed) and the bus power balance;
4. thermal network step, array temperature step, battery charge (Euler);
5. orbit RK4 (split at the end of a burn), propellant, mass and delta-v;
6. running totals, then the attitude slews toward the target of the new state (rate limited)
   and the reaction wheels absorb the slew and the external torques, with momentum dumps.

Public as :func:`native.reference.world_advance_ref`. The array layout (offsets of the state, parameter, output and total vectors inside ``blob``)
belongs to the world, not to :mod:`native`: the caller passes it as ``layout``, any object
with the ``B_*``, ``X_*``, ``P_*``, ``O_*``, ``A_*``, ``N_*`` and ``MODE_*`` integer
attributes of ``hal.sim.world._layout``. ``native`` imports nothing of the project.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from native._env_ref import density_batch_ref, shadow_batch_ref, sun_batch_ref
from native._orbit_ref import acceleration_ref
from native._thermal_ref import thermal_step_ref, view_factor_ref
from native.constants import (
    AU_M,
    EARTH_FLATTENING,
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    MU_EARTH_M3_S2,
    SIGMA_W_M2_K4,
)

__all__ = [
    "attitude_target_ref",
    "power_flows_ref",
    "quat_from_matrix_ref",
    "universe_advance_ref",
    "world_advance_ref",
]

F64 = NDArray[np.float64]
_T25_K = 298.15
_DAY_S = 86400.0


# ------------------------------------------------------------------------------ helpers
def _unit(v: F64) -> tuple[F64, float]:
    n = float(np.linalg.norm(v))
    return (v / n if n > 0.0 else np.zeros(3)), n


def _wrap(angle: float) -> float:
    """Angle wrapped to (-pi, pi]."""
    return math.atan2(math.sin(angle), math.cos(angle))


def _sun(days_j2000: float) -> tuple[F64, float]:
    out = np.empty((1, 4))
    sun_batch_ref(np.array([days_j2000]), out)
    return out[0, :3], float(out[0, 3])


# ------------------------------------------------------------------------------ attitude
def quat_from_matrix_ref(rot: F64) -> F64:
    """Unit quaternion (w, x, y, z), w >= 0, of the rotation matrix ``rot`` (body -> ECI,
    columns = body axes in ECI): the eigenvector of the largest eigenvalue of Bar-Itzhack's
    symmetric matrix K (J. Guidance 23(6), 2000), written for the attitude matrix A = rot^T."""
    a = rot.T
    k = (
        np.array(
            [
                [a[0, 0] - a[1, 1] - a[2, 2], a[1, 0] + a[0, 1], a[2, 0] + a[0, 2], a[1, 2] - a[2, 1]],
                [a[1, 0] + a[0, 1], a[1, 1] - a[0, 0] - a[2, 2], a[2, 1] + a[1, 2], a[2, 0] - a[0, 2]],
                [a[2, 0] + a[0, 2], a[2, 1] + a[1, 2], a[2, 2] - a[0, 0] - a[1, 1], a[0, 1] - a[1, 0]],
                [a[1, 2] - a[2, 1], a[2, 0] - a[0, 2], a[0, 1] - a[1, 0], a[0, 0] + a[1, 1] + a[2, 2]],
            ]
        )
        / 3.0
    )  # fmt: skip
    _, vecs = np.linalg.eigh(k)
    x, y, z, w = vecs[:, -1]
    q = np.array([w, x, y, z])
    return q if w >= 0.0 else -q


def _matrix_from_quat(q: F64) -> F64:
    """Rotation matrix (body -> ECI) of the unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _qmul(a: F64, b: F64) -> F64:
    """Hamilton product a * b of quaternions (w, x, y, z)."""
    aw, av = a[0], a[1:]
    bw, bv = b[0], b[1:]
    return np.concatenate([[aw * bw - av @ bv], aw * bv + bw * av + np.cross(av, bv)])


def _conj(q: F64) -> F64:
    return np.array([q[0], -q[1], -q[2], -q[3]])


def attitude_target_ref(layout: Any, p: F64, r: F64, v: F64, sun: F64) -> F64:
    """Target quaternion (body -> ECI, w >= 0) of the pointing mode in ``p``.

    nadir: Z = -r^, Y = -h^; sun: Z = -s^; target vector: Z = t^ (for both, Y is -h^ made
    perpendicular to Z, or r^ made perpendicular when h^ is along Z); min_drag: Y along the
    velocity relative to the rotating atmosphere, Z = -r^ made perpendicular to Y; inertial:
    the commanded quaternion. X = Y x Z in every mode.
    """
    L = layout
    mode = int(p[L.P_MODE])
    if mode == L.MODE_INERTIAL:
        return np.array(p[L.P_Q_TGT : L.P_Q_TGT + 4], dtype=np.float64)
    r_hat, _ = _unit(r)
    h_hat, _ = _unit(np.cross(r, v))
    if mode in (L.MODE_SUN, L.MODE_TARGET):
        z = -sun if mode == L.MODE_SUN else np.array(p[L.P_V_TGT : L.P_V_TGT + 3])
        y, n = _unit(-h_hat + (h_hat @ z) * z)  # -h minus its component along z
        if n < 1e-6:
            y, n = _unit(r_hat - (r_hat @ z) * z)
    elif mode == L.MODE_MIN_DRAG:
        omega = np.array([0.0, 0.0, p[L.P_OMEGA_ATM]])
        y, _ = _unit(v - np.cross(omega, r))
        z, _ = _unit(-r_hat + (r_hat @ y) * y)
    else:  # nadir
        z = -r_hat
        y = -h_hat
    x = np.cross(y, z)
    return quat_from_matrix_ref(np.column_stack([x, y, z]))


def _slew(q0: F64, target: F64, max_angle: float, h: float) -> tuple[F64, F64 | None]:
    """Rotate ``q0`` toward ``target`` by at most ``max_angle`` (rad). Returns the new
    quaternion and the body rate (rad/s) of the rotation over ``h`` s (None when h == 0)."""
    if q0 @ target < 0.0:
        target = -target  # the same rotation, on the short way round
    half = math.acos(min(1.0, float(q0 @ target)))
    if 2.0 * half <= max_angle or half < 1e-12:
        q1 = target.copy()
    else:  # slerp by the fraction of the angle allowed
        f = max_angle / (2.0 * half)
        q1 = (math.sin((1.0 - f) * half) * q0 + math.sin(f * half) * target) / math.sin(half)
    q1 = q1 / np.linalg.norm(q1)
    if h <= 0.0:
        return q1, None
    dq = _qmul(_conj(q0), q1)  # the rotation performed, in the body frame
    if dq[0] < 0.0:
        dq = -dq
    axis, s = _unit(dq[1:])
    rate = axis * (2.0 * math.atan2(s, dq[0]) / h) if s > 0.0 else np.zeros(3)
    return q1, rate


def _wheels(
    layout: Any, x: F64, p: F64, acc: F64, rate0: F64, zenith_b: F64, rn: float, h: float
) -> None:
    """Wheel momentum: + external torque h - the slew's change of body momentum; a running
    dump removes up to ``dump torque * h``; dumps start above P_HW_MAX, end at P_HW_RESET."""
    L = layout
    inertia = np.array(p[L.P_INERTIA : L.P_INERTIA + 3])
    torque = np.array(p[L.P_TDIST : L.P_TDIST + 3], dtype=np.float64)
    if p[L.P_GG] != 0.0:  # gravity gradient: 3 mu / r^3  n x (I n), n the zenith direction
        torque = torque + 3.0 * MU_EARTH_M3_S2 / rn**3 * np.cross(zenith_b, inertia * zenith_b)
    rate1 = x[L.X_RATE : L.X_RATE + 3]
    hw = x[L.X_HW : L.X_HW + 3] + torque * h - inertia * (rate1 - rate0)
    hn = float(np.linalg.norm(hw))
    if x[L.X_DESAT] != 0.0 and hn > 0.0:
        dumped = min(p[L.P_DUMP_NM] * h, hn)
        hw = hw * ((hn - dumped) / hn)
        acc[L.A_DUMPED_NMS] += dumped
        if hn - dumped <= p[L.P_HW_RESET]:
            x[L.X_DESAT] = 0.0
    elif x[L.X_DESAT] == 0.0 and hn > p[L.P_HW_MAX]:
        x[L.X_DESAT] = 1.0
        acc[L.A_DESATS] += 1.0
    x[L.X_HW : L.X_HW + 3] = hw


# ------------------------------------------------------------------------------ power
def power_flows_ref(
    layout: Any,
    p: F64,
    ocv: F64,
    cos_inc: float,
    sunlit: float,
    flux: float,
    t_array_k: float,
    t_batt_k: float,
    charge_ah: float,
) -> dict[str, float]:
    """Bus balance at one instant (the world kernel's power model), by name: ``avail``,
    ``array_w``, ``array_v``, ``array_a``, ``batt_a`` (+ charging), ``batt_v``, ``ocv_v``,
    ``heat_w``, ``shunt_w``, ``unserved_w``, ``batt_w`` (terminal, + charging)."""
    L = layout
    eff = max(0.0, p[L.P_A_EFF] * (1.0 + p[L.P_A_TC] * (t_array_k - p[L.P_A_TREF])))
    avail = (
        p[L.P_A_AREA] * p[L.P_A_PACK] * p[L.P_A_DEGR] * eff * flux * cos_inc * sunlit
        * (p[L.P_A_STR_OK] / p[L.P_A_STR_TOT]) * p[L.P_A_REG_EFF]
    )  # fmt: skip
    load = float(p[L.P_LOAD_W])
    cells, cap = float(p[L.P_B_CELLS_OK]), float(p[L.P_B_CAP_AH])
    soc = charge_ah / cap
    ocv_pack = cells * float(np.interp(soc, ocv[:, 0], ocv[:, 1]))
    r = cells * float(p[L.P_B_R25]) * math.exp(-p[L.P_B_RTC] * (t_batt_k - _T25_K))
    net = avail - load
    unserved = shunt = 0.0

    def current_for(power_w: float) -> float:
        """Battery current (A) with terminal power ``power_w``: (OCV + I R) I = P."""
        if r > 0.0:
            return (-ocv_pack + math.sqrt(ocv_pack**2 + 4.0 * r * power_w)) / (2.0 * r)
        return power_w / ocv_pack if ocv_pack > 0.0 else 0.0

    if net >= 0.0:  # charge with the surplus, up to the current limit; shunt the rest
        can_charge = cells > 0.0 and p[L.P_B_TMIN] <= t_batt_k <= p[L.P_B_TMAX] and soc < 1.0
        i_lim = 0.0
        if can_charge:
            i_lim = p[L.P_B_MAXC] * cap
            if r > 0.0:
                i_lim = min(i_lim, (cells * p[L.P_B_VMAX] - ocv_pack) / r)
            elif ocv_pack >= cells * p[L.P_B_VMAX]:
                i_lim = 0.0
            i_lim = max(0.0, i_lim)
        i = min(current_for(net), i_lim)
        p_b = (ocv_pack + i * r) * i
        shunt = net - p_b
        array_w = load + p_b
    else:  # discharge to cover the deficit, up to the battery's maximum power
        need = -net
        if cells <= 0.0 or charge_ah <= 0.0 or ocv_pack <= 0.0:
            i, unserved = 0.0, need
        elif r > 0.0 and ocv_pack**2 < 4.0 * r * need:
            i = -ocv_pack / (2.0 * r)
            unserved = need - ocv_pack**2 / (4.0 * r)
        elif r > 0.0:
            i = -(ocv_pack - math.sqrt(ocv_pack**2 - 4.0 * r * need)) / (2.0 * r)
        else:
            i = -need / ocv_pack
        p_b = (ocv_pack + i * r) * i
        array_w = avail
    lit = cos_inc * sunlit > 0.0
    v_cell = p[L.P_A_VMP] + p[L.P_A_VMP_TC] * (t_array_k - p[L.P_A_TREF])
    array_v = max(p[L.P_A_CELLS] * v_cell, 0.0) if lit else 0.0
    array_a = array_w / p[L.P_A_REG_EFF] / array_v if array_v > 0.0 else 0.0
    return {
        "avail": avail,
        "array_w": array_w,
        "array_v": array_v,
        "array_a": array_a,
        "batt_a": i,
        "batt_v": ocv_pack + i * r,
        "ocv_v": ocv_pack,
        "heat_w": i * i * r,
        "shunt_w": shunt,
        "unserved_w": unserved,
        "batt_w": p_b,
    }


# ------------------------------------------------------------------------------ orbit
def _rk4_orbit(
    state: F64,
    h: float,
    p: F64,
    layout: Any,
    cdam0: float,
    dtab: F64,
    bulge: F64,
    thrust_n: float,
    mass_kg: float,
    mdot_kg_s: float,
    direction: F64,
) -> F64:
    """One classical RK4 step of ``h`` s: gravity (J2), drag scaled by mass_kg / m(t) and
    thrust / m(t) along ``direction``, with m(t) = mass_kg - mdot_kg_s t."""
    L = layout

    def deriv(t: float, y: F64) -> F64:
        m = mass_kg - mdot_kg_s * t
        a = acceleration_ref(
            y[None, :], p[L.P_J2], np.array([cdam0 * mass_kg / m]), p[L.P_OMEGA_ATM],
            int(p[L.P_DENS_MODEL]), dtab, p[L.P_ACT_LN], bulge,
        )[0]  # fmt: skip
        if thrust_n != 0.0:
            a = a + thrust_n / m * direction
        return np.concatenate([y[3:], a])

    k1 = deriv(0.0, state)
    k2 = deriv(0.5 * h, state + 0.5 * h * k1)
    k3 = deriv(0.5 * h, state + 0.5 * h * k2)
    k4 = deriv(h, state + h * k3)
    return state + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _bulge(sun: F64) -> F64:
    """Apex of the Harris-Priester diurnal bulge: the Sun direction turned 30 deg east."""
    lag = math.radians(30.0)
    c, s = math.cos(lag), math.sin(lag)
    return np.array([c * sun[0] - s * sun[1], s * sun[0] + c * sun[1], sun[2]])


# ------------------------------------------------------------------------------ the step
def world_advance_ref(
    layout: Any,
    t0_s: float,
    n_full: int,
    h_full: float,
    h_last: float,
    eval_out: bool,
    blob: F64,
    cond_w_k: F64,
    surf: F64,
    work: F64,
    ocv: F64,
    dtab: F64,
) -> None:
    """The world kernel's step (same arguments, in place on ``blob``; ``work`` unused), with
    ``layout`` the world's index layout (see the module docstring)."""
    del work
    L = layout
    n = cond_w_k.shape[0]
    s0 = blob[L.B_OWN : L.B_OWN + 6]
    x = blob[L.B_X : L.B_X + L.N_X]
    p = blob[L.B_P : L.B_P + L.N_P]
    o = blob[L.B_O : L.B_O + L.N_O]
    acc = blob[L.B_A : L.B_A + L.N_A]
    vec = blob[L.B_VEC : L.B_VEC + 6]
    temp_k = blob[L.B_NODES : L.B_NODES + n]
    cap_j_k = blob[L.B_NODES + n : L.B_NODES + 2 * n]
    q_base_w = blob[L.B_NODES + 2 * n : L.B_NODES + 3 * n]
    batt = int(p[L.P_BATT_NODE])
    omega_atm = p[L.P_OMEGA_ATM]
    q_slice = slice(L.X_Q, L.X_Q + 4)
    n_steps = n_full + (1 if h_last > 0.0 else 0)
    saa_s = ecl_s = uv_s = 0.0
    t = t0_s

    if p[L.P_SNAP_ATT] != 0.0:
        sun, _ = _sun(p[L.P_DAYS0] + t / _DAY_S)
        x[q_slice] = attitude_target_ref(L, p, s0[:3].copy(), s0[3:].copy(), sun)
        p[L.P_SNAP_ATT] = 0.0

    for step in range(n_steps + 1):
        last = step == n_steps
        if last and not eval_out:
            break
        h = h_full if step < n_full else h_last
        r, v = s0[:3].copy(), s0[3:].copy()
        rn = float(np.linalg.norm(r))
        # 1. environment
        sun, sun_dist = _sun(p[L.P_DAYS0] + t / _DAY_S)
        lit = np.empty(1)
        shadow_batch_ref(r[None, :], np.append(sun, sun_dist)[None, :], int(p[L.P_SHADOW]), lit)
        sunlit = float(lit[0])
        flux = p[L.P_SOLAR] * (AU_M / sun_dist) ** 2
        lat = math.asin(r[2] / rn)
        lon = _wrap(math.atan2(r[1], r[0]) - (p[L.P_GMST0] + EARTH_ROTATION_RAD_S * t))
        alt = rn - EARTH_RADIUS_M * (1.0 - EARTH_FLATTENING * (r[2] / rn) ** 2)
        d_lat = (lat - p[L.P_SAA_LAT]) / p[L.P_SAA_A]
        d_lon = _wrap(lon - p[L.P_SAA_LON]) / p[L.P_SAA_B]
        in_saa = d_lat**2 + d_lon**2 <= 1.0
        # 2. body frame
        body_to_eci = _matrix_from_quat(x[q_slice])
        sun_b = body_to_eci.T @ sun
        nadir_b = -(body_to_eci.T @ r) / rn
        vec[0:3] = sun_b
        vec[3:6] = nadir_b
        if p[L.P_A_TRACK] == 0.0:  # one axis about +Y: the normal follows the Sun in X-Z
            normal, nn = _unit(np.array([sun_b[0], 0.0, sun_b[2]]))
            if nn < 1e-9:
                normal = np.array([0.0, 0.0, -1.0])
            cos_inc = math.sqrt(max(0.0, 1.0 - sun_b[1] ** 2))
        else:
            normal = np.array(p[L.P_A_N : L.P_A_N + 3])
            cos_inc = max(0.0, float(normal @ sun_b))
        h_ratio = rn / EARTH_RADIUS_M
        albedo = p[L.P_ALBEDO] * max(0.0, float(r @ sun) / rn)
        # 3. drag area and bus balance
        wind = v - np.cross([0.0, 0.0, omega_atm], r)
        if p[L.P_DRAG_MODE] == 0.0:
            wind_b = body_to_eci.T @ wind / np.linalg.norm(wind)
            area = p[L.P_BODY_AREA] + p[L.P_A_AREA] * abs(float(normal @ wind_b))
        else:
            area = p[L.P_DRAG_AREA]
        t_arr = x[L.X_T_ARRAY]
        pf = power_flows_ref(L, p, ocv, cos_inc, sunlit, flux, t_arr, temp_k[batt], x[L.X_CHARGE])
        if last:
            o[L.O_SUN : L.O_SUN + 3] = sun
            o[L.O_SUN_DIST] = sun_dist
            o[L.O_SUNLIT] = sunlit
            orbit_normal, _ = _unit(np.cross(r, v))
            o[L.O_BETA] = math.asin(max(-1.0, min(1.0, float(orbit_normal @ sun))))
            rho = np.empty(1)
            density_batch_ref(
                r[None, :], _bulge(sun), int(p[L.P_DENS_MODEL]), dtab, p[L.P_ACT_LN], rho
            )
            o[L.O_DENSITY] = rho[0]
            o[L.O_SAA] = 1.0 if in_saa else 0.0
            o[L.O_LAT], o[L.O_LON], o[L.O_ALT] = lat, lon, alt
            o[L.O_A_AVAIL] = pf["avail"]
            o[L.O_A_POWER] = pf["array_w"]
            o[L.O_A_CURRENT] = pf["array_a"]
            o[L.O_A_VOLT] = pf["array_v"]
            o[L.O_A_COSINC] = cos_inc
            o[L.O_B_CURRENT] = pf["batt_a"]
            o[L.O_B_VOLT] = pf["batt_v"]
            o[L.O_B_OCV] = pf["ocv_v"]
            o[L.O_B_HEAT] = pf["heat_w"]
            o[L.O_SHUNT] = pf["shunt_w"]
            o[L.O_UNDERVOLT] = 1.0 if pf["unserved_w"] > 0.0 else 0.0
            o[L.O_UNSERVED] = pf["unserved_w"]
            o[L.O_B_POWER] = pf["batt_w"]
            o[L.O_DRAG_AREA] = area
            target = attitude_target_ref(L, p, r, v, sun)
            # angle of the rotation from the attitude to the target (well conditioned near 0)
            dq = _qmul(_conj(np.array(x[q_slice])), target)
            o[L.O_ANGLE_TGT] = 2.0 * math.atan2(float(np.linalg.norm(dq[1:])), abs(dq[0]))
            break
        # 4. thermal network, array temperature, battery charge
        q_int = q_base_w.copy()
        q_int[batt] += pf["heat_w"]
        thermal_step_ref(
            temp_k, cap_j_k, cond_w_k, q_int, surf, p[L.P_EPS_RAD], sun_b, sunlit, flux,
            nadir_b, h_ratio, albedo, p[L.P_IR], h, np.empty(0),
        )  # fmt: skip
        cos_nadir = float(normal @ nadir_b)
        f_front, f_back = view_factor_ref(np.array([cos_nadir, -cos_nadir]), h_ratio)
        a_area, eps_f, eps_b = p[L.P_A_AREA], p[L.P_A_EPS_F], p[L.P_A_EPS_B]
        absorbed = a_area * (
            p[L.P_A_ALPHA] * flux * (cos_inc * sunlit + albedo * f_front)
            + p[L.P_IR] * (eps_f * f_front + eps_b * f_back)
        )
        emitted = SIGMA_W_M2_K4 * a_area * (eps_f + eps_b) * t_arr**4
        # linearised backward Euler: (C/h + dEmitted/dT) dT = absorbed - emitted - electrical
        d_emitted = 4.0 * SIGMA_W_M2_K4 * a_area * (eps_f + eps_b) * t_arr**3
        out_w = emitted + pf["array_w"] / p[L.P_A_REG_EFF]
        x[L.X_T_ARRAY] = t_arr + (absorbed - out_w) / (p[L.P_A_CAP] / h + d_emitted)
        i_b = pf["batt_a"]
        dq_ah = (i_b * p[L.P_B_ETA] if i_b > 0.0 else i_b) * h / 3600.0
        x[L.X_CHARGE] = min(p[L.P_B_CAP_AH], max(0.0, x[L.X_CHARGE] + dq_ah))
        # 5. orbit, with a burn for the part of the step it lasts
        bulge = _bulge(sun)
        mass = x[L.X_MASS]
        cdam0 = p[L.P_CD] * area / mass if p[L.P_DRAG_ON] != 0.0 else 0.0
        burn_s = used = 0.0
        if x[L.X_BURN_LEFT] > 0.0:
            if p[L.P_THRUST] > 0.0 and x[L.X_PROP] > 0.0:
                burn_s = min(h, x[L.X_BURN_LEFT])
                used = p[L.P_MDOT] * burn_s
                if used >= x[L.X_PROP]:  # the tank runs dry within the step
                    used = x[L.X_PROP]
                    burn_s = used / p[L.P_MDOT]
            x[L.X_BURN_LEFT] = max(0.0, x[L.X_BURN_LEFT] - h)
        direction = np.array(x[L.X_BURN_DIR : L.X_BURN_DIR + 3])
        no_thrust = (0.0, mass, 0.0, np.zeros(3))
        if burn_s > 0.0:
            thrust = (p[L.P_THRUST], mass, p[L.P_MDOT], direction)
            s0[:] = _rk4_orbit(s0.copy(), burn_s, p, L, cdam0, dtab, bulge, *thrust)
            m1 = mass - used
            if m1 < mass:  # rocket equation: Isp g0 ln(m0 / m1), Isp g0 = thrust / mdot
                acc[L.A_DV_M_S] += p[L.P_THRUST] / p[L.P_MDOT] * math.log(mass / m1)
            else:
                acc[L.A_DV_M_S] += p[L.P_THRUST] / mass * burn_s
            acc[L.A_PROP_USED_KG] += used
            acc[L.A_BURN_S] += burn_s
            x[L.X_PROP] = max(0.0, x[L.X_PROP] - used)
            x[L.X_MASS] = m1
            if h - burn_s > 1e-12:
                coast = (0.0, m1, 0.0, np.zeros(3))
                s0[:] = _rk4_orbit(
                    s0.copy(), h - burn_s, p, L, cdam0 * mass / m1, dtab, bulge, *coast
                )
        else:
            s0[:] = _rk4_orbit(s0.copy(), h, p, L, cdam0, dtab, bulge, *no_thrust)
        # 6. running totals
        acc[L.A_TIME_S] += h
        acc[L.A_ECLIPSE_S] += (1.0 - sunlit) * h
        ecl_s += (1.0 - sunlit) * h
        if in_saa:
            acc[L.A_SAA_S] += h
            saa_s += h
        if i_b > 0.0:
            acc[L.A_CHARGE_IN_AH] += i_b * h / 3600.0
        else:
            acc[L.A_CHARGE_OUT_AH] -= i_b * h / 3600.0
        acc[L.A_ARRAY_J] += pf["array_w"] * h
        acc[L.A_LOAD_J] += p[L.P_LOAD_W] * h
        acc[L.A_SHUNT_J] += pf["shunt_w"] * h
        acc[L.A_BATT_TERM_J] += pf["batt_w"] * h
        acc[L.A_BATT_LOSS_J] += pf["heat_w"] * h
        acc[L.A_UNSERVED_J] += pf["unserved_w"] * h
        if pf["unserved_w"] > 0.0:
            uv_s += h
        t += h
        # attitude toward the target of the new orbit state, then the wheels
        target = attitude_target_ref(L, p, s0[:3].copy(), s0[3:].copy(), sun)
        rate0 = np.array(x[L.X_RATE : L.X_RATE + 3])
        q1, rate = _slew(np.array(x[q_slice]), target, p[L.P_SLEW] * h, h)
        x[q_slice] = q1
        if rate is not None:
            x[L.X_RATE : L.X_RATE + 3] = rate
        _wheels(L, x, p, acc, rate0, -nadir_b, rn, h)
    if n_steps > 0:
        o[L.O_SAA_S_CALL] = saa_s
        o[L.O_ECL_S_CALL] = ecl_s
        o[L.O_UV_S_CALL] = uv_s


def universe_advance_ref(
    layout: Any,
    t0_s: float,
    n_full: int,
    h_full: float,
    h_last: float,
    eval_out: bool,
    blobs: F64,
    conds: F64,
    surfs: F64,
    works: F64,
    ocvs: F64,
    dtab: F64,
) -> None:
    """Reference of the universe step: :func:`world_advance_ref` on each spacecraft's row of
    the stacked arrays (node axis first), in place; the spacecraft share time, Sun and
    atmosphere and do not act on each other."""
    for k in range(blobs.shape[0]):
        world_advance_ref(
            layout, t0_s, n_full, h_full, h_last, eval_out, blobs[k], conds[k], surfs[k],
            works[k], ocvs[k], dtab,
        )  # fmt: skip
