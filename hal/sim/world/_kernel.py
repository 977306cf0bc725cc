"""The world's fused physics kernel: many fixed physics steps in one Numba call.

:func:`world_advance` runs orbit (RK4 with J2, drag and thrust), environment (Sun, shadow,
SAA), kinematic attitude, thermal network, solar array, battery and bus balance, and
propulsion for ``n_full`` steps of ``h_full`` seconds plus one last step of ``h_last``
seconds, then (if asked) evaluates the outputs at the final state. Python only packs
parameters before and reads outputs after (see :mod:`hal.sim.world._core`).
:func:`neighbours_advance` propagates the constellation neighbours, lazily, on their grid.

Within a step every rate is evaluated at the state at the start of the step (zero-order hold
of loads, attitude, environment), the thermal network takes a linearised implicit step, the
battery charge an explicit Euler step (so charge bookkeeping closes exactly), the orbits an
RK4 step and the attitude slews toward the target of the new state.

Power model (all W, A, V, at the start of a step)::

    P_avail  = A eta(T_a) packing degradation G cos(inc) f_sun (strings_ok / strings) eta_reg
    eta(T_a) = eta_ref (1 + k_T (T_a - T_ref))
    net      = P_avail - P_load
    net >= 0: charge with P_b = min(net, P(I_lim)) where P(I) = (OCV + I R) I and
              I_lim = min(C-rate limit, (n V_max - OCV) / R) (0 outside the charge
              temperature window or when full); the rest is shunted.
    net <  0: discharge |I| = (OCV - sqrt(OCV^2 - 4 R |net|)) / (2 R); beyond the maximum
              power OCV^2 / 4R, or when empty, the remainder is unserved (undervoltage).
    dQ/dt    = eta_c I (charging) or I (discharging), battery heat I^2 R.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray

from hal.sim.world import _layout as _world_layout
from hal.sim.world._layout import (
    A_ARRAY_J,
    A_BATT_LOSS_J,
    A_BATT_TERM_J,
    A_BURN_S,
    A_CHARGE_IN_AH,
    A_CHARGE_OUT_AH,
    A_DESATS,
    A_DUMPED_NMS,
    A_DV_M_S,
    A_ECLIPSE_S,
    A_LOAD_J,
    A_PROP_USED_KG,
    A_SAA_S,
    A_SHUNT_J,
    A_TIME_S,
    A_UNSERVED_J,
    B_A,
    B_NODES,
    B_O,
    B_OWN,
    B_P,
    B_VEC,
    B_X,
    MODE_INERTIAL,
    MODE_MIN_DRAG,
    MODE_SUN,
    MODE_TARGET,
    N_A,
    N_O,
    N_P,
    N_X,
    O_A_AVAIL,
    O_A_COSINC,
    O_A_CURRENT,
    O_A_POWER,
    O_A_VOLT,
    O_ALT,
    O_ANGLE_TGT,
    O_B_CURRENT,
    O_B_HEAT,
    O_B_OCV,
    O_B_POWER,
    O_B_VOLT,
    O_BETA,
    O_DENSITY,
    O_DRAG_AREA,
    O_ECL_S_CALL,
    O_LAT,
    O_LON,
    O_SAA,
    O_SAA_S_CALL,
    O_SHUNT,
    O_SUN,
    O_SUN_DIST,
    O_SUNLIT,
    O_UNDERVOLT,
    O_UNSERVED,
    O_UV_S_CALL,
    P_A_ALPHA,
    P_A_AREA,
    P_A_CAP,
    P_A_CELLS,
    P_A_DEGR,
    P_A_EFF,
    P_A_EPS_B,
    P_A_EPS_F,
    P_A_N,
    P_A_PACK,
    P_A_REG_EFF,
    P_A_STR_OK,
    P_A_STR_TOT,
    P_A_TC,
    P_A_TRACK,
    P_A_TREF,
    P_A_VMP,
    P_A_VMP_TC,
    P_ACT_LN,
    P_ALBEDO,
    P_B_CAP_AH,
    P_B_CELLS_OK,
    P_B_ETA,
    P_B_MAXC,
    P_B_R25,
    P_B_RTC,
    P_B_TMAX,
    P_B_TMIN,
    P_B_VMAX,
    P_BATT_NODE,
    P_BODY_AREA,
    P_CD,
    P_DAYS0,
    P_DENS_MODEL,
    P_DRAG_AREA,
    P_DRAG_MODE,
    P_DRAG_ON,
    P_DUMP_NM,
    P_EPS_RAD,
    P_GG,
    P_GMST0,
    P_HW_MAX,
    P_HW_RESET,
    P_INERTIA,
    P_IR,
    P_J2,
    P_LOAD_W,
    P_MDOT,
    P_MODE,
    P_OMEGA_ATM,
    P_Q_TGT,
    P_SAA_A,
    P_SAA_B,
    P_SAA_LAT,
    P_SAA_LON,
    P_SHADOW,
    P_SLEW,
    P_SNAP_ATT,
    P_SOLAR,
    P_TDIST,
    P_THRUST,
    P_V_TGT,
    X_BURN_DIR,
    X_BURN_LEFT,
    X_CHARGE,
    X_DESAT,
    X_HW,
    X_MASS,
    X_PROP,
    X_Q,
    X_RATE,
    X_T_ARRAY,
)
from native.backend import register_kernel
from native.constants import (
    AU_M,
    EARTH_FLATTENING,
    EARTH_RADIUS_M,
    EARTH_ROTATION_RAD_S,
    MU_EARTH_M3_S2,
    SIGMA_W_M2_K4,
)
from native.jit import kernel
from native.kernels import (
    density_kg_m3,
    diurnal_bulge_unit,
    rk4_step,
    shadow_fraction,
    sun_position,
    thermal_step,
    view_factor_plate_earth,
)
from native.reference import universe_advance_ref, world_advance_ref

__all__ = [
    "attitude_axes",
    "neighbours_advance",
    "neighbours_advance_kernel",
    "ocv_interp",
    "power_flows",
    "quat_from_axes",
    "target_quaternion",
    "universe_advance",
    "universe_advance_kernel",
    "world_advance",
    "world_advance_kernel",
]

_T25_K = 298.15


# ------------------------------------------------------------------------------ attitude
@kernel
def quat_from_axes(
    xx: float,
    xy: float,
    xz: float,
    yx: float,
    yy: float,
    yz: float,
    zx: float,
    zy: float,
    zz: float,
) -> tuple[float, float, float, float]:
    """Scalar-first quaternion of the body->ECI rotation whose columns are the body axes X, Y,
    Z expressed in ECI (Shepperd's method, w >= 0)."""
    tr = xx + yy + zz
    if tr > 0.0:
        s = 2.0 * math.sqrt(1.0 + tr)
        w = 0.25 * s
        x = (yz - zy) / s
        y = (zx - xz) / s
        z = (xy - yx) / s
    elif xx > yy and xx > zz:
        s = 2.0 * math.sqrt(1.0 + xx - yy - zz)
        w = (yz - zy) / s
        x = 0.25 * s
        y = (yx + xy) / s
        z = (zx + xz) / s
    elif yy > zz:
        s = 2.0 * math.sqrt(1.0 + yy - xx - zz)
        w = (zx - xz) / s
        x = (yx + xy) / s
        y = 0.25 * s
        z = (zy + yz) / s
    else:
        s = 2.0 * math.sqrt(1.0 + zz - xx - yy)
        w = (xy - yx) / s
        x = (zx + xz) / s
        y = (zy + yz) / s
        z = 0.25 * s
    if w < 0.0:
        return -w, -x, -y, -z
    return w, x, y, z


@kernel
def _axes_from_quat(
    w: float, x: float, y: float, z: float
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Body axes X, Y, Z in ECI (the columns of the rotation matrix) from a unit quaternion."""
    return (
        1.0 - 2.0 * (y * y + z * z),
        2.0 * (x * y + w * z),
        2.0 * (x * z - w * y),
        2.0 * (x * y - w * z),
        1.0 - 2.0 * (x * x + z * z),
        2.0 * (y * z + w * x),
        2.0 * (x * z + w * y),
        2.0 * (y * z - w * x),
        1.0 - 2.0 * (x * x + y * y),
    )


@kernel
def _unit(x: float, y: float, z: float) -> tuple[float, float, float, float]:
    n = math.sqrt(x * x + y * y + z * z)
    if n == 0.0:
        return 0.0, 0.0, 0.0, 0.0
    return x / n, y / n, z / n, n


@kernel
def attitude_axes(
    mode: int,
    rx: float,
    ry: float,
    rz: float,
    vx: float,
    vy: float,
    vz: float,
    sx: float,
    sy: float,
    sz: float,
    omega_atm: float,
    tx: float = 0.0,
    ty: float = 0.0,
    tz: float = 1.0,
) -> tuple[float, float, float, float, float, float, float, float, float]:
    """Target body axes (X, Y, Z in ECI) of a pointing mode (all but ``inertial``).

    nadir: Z = -r^, Y = -h^ (h = r x v), X = Y x Z (along the velocity when circular).
    sun: Z = -s^ (the zenith face and the +Y-hinged arrays see the Sun square-on),
    Y = -h^ made perpendicular to s^, X = Y x Z.
    min_drag: Y = along v_rel (the one-axis arrays are then edge-on to the flow),
    Z = -r^ made perpendicular to Y, X = Y x Z.
    target_vector: Z = t^ (the ECI unit vector ``t``), Y = -h^ made perpendicular to t^,
    X = Y x Z.
    """
    ux, uy, uz, _ = _unit(rx, ry, rz)
    hx, hy, hz, _ = _unit(ry * vz - rz * vy, rz * vx - rx * vz, rx * vy - ry * vx)
    if mode in (MODE_SUN, MODE_TARGET):
        # Z along -s (sun) or +t (target); Y as close to -h as that allows.
        if mode == MODE_SUN:
            zx, zy, zz = -sx, -sy, -sz
        else:
            zx, zy, zz = tx, ty, tz
        d = -(hx * zx + hy * zy + hz * zz)
        yx, yy, yz, n = _unit(-hx - d * zx, -hy - d * zy, -hz - d * zz)
        if n < 1e-6:  # orbit normal along Z: use the radial direction instead
            d = ux * zx + uy * zy + uz * zz
            yx, yy, yz, n = _unit(ux - d * zx, uy - d * zy, uz - d * zz)
    elif mode == MODE_MIN_DRAG:
        yx, yy, yz, _ = _unit(vx + omega_atm * ry, vy - omega_atm * rx, vz)
        d = -(ux * yx + uy * yy + uz * yz)
        zx, zy, zz, _ = _unit(-ux - d * yx, -uy - d * yy, -uz - d * yz)
    else:  # MODE_NADIR
        zx, zy, zz = -ux, -uy, -uz
        yx, yy, yz = -hx, -hy, -hz
    xx = yy * zz - yz * zy
    xy = yz * zx - yx * zz
    xz = yx * zy - yy * zx
    return xx, xy, xz, yx, yy, yz, zx, zy, zz


@kernel
def target_quaternion(
    p: NDArray[np.float64], s0: NDArray[np.float64], sx: float, sy: float, sz: float
) -> tuple[float, float, float, float]:
    """Target attitude quaternion (body -> ECI, w >= 0) of the mode in ``p`` for the orbit
    state ``s0`` (ECI r, v) and the Sun direction ``s``."""
    mode = int(p[P_MODE])
    if mode == MODE_INERTIAL:
        return p[P_Q_TGT], p[P_Q_TGT + 1], p[P_Q_TGT + 2], p[P_Q_TGT + 3]
    ax = attitude_axes(
        mode, s0[0], s0[1], s0[2], s0[3], s0[4], s0[5], sx, sy, sz, p[P_OMEGA_ATM],
        p[P_V_TGT], p[P_V_TGT + 1], p[P_V_TGT + 2],
    )  # fmt: skip
    return quat_from_axes(ax[0], ax[1], ax[2], ax[3], ax[4], ax[5], ax[6], ax[7], ax[8])


@kernel
def _angle_between(
    w0: float, x0: float, y0: float, z0: float, w1: float, x1: float, y1: float, z1: float
) -> float:
    """Rotation angle (rad, 0..pi) between two unit quaternions."""
    d = abs(w0 * w1 + x0 * x1 + y0 * y1 + z0 * z1)
    return 2.0 * math.acos(min(1.0, d))


@kernel
def _wheels(
    x: NDArray[np.float64],
    p: NDArray[np.float64],
    acc: NDArray[np.float64],
    w0x: float,
    w0y: float,
    w0z: float,
    nbx: float,
    nby: float,
    nbz: float,
    rn: float,
    h: float,
) -> None:
    """Reaction-wheel momentum over a step of ``h`` s (see :mod:`hal.sim.world._attitude`).

    The wheels absorb the external torque (constant disturbance + gravity gradient about the
    nadir direction ``nb``, body frame, at orbit radius ``rn``) and the change of body
    momentum of the slew (body rate ``w0`` before, ``x[X_RATE..]`` after); a running dump
    removes up to ``desat torque * h`` of momentum along its own direction.
    """
    ix = p[P_INERTIA]
    iy = p[P_INERTIA + 1]
    iz = p[P_INERTIA + 2]
    tx = p[P_TDIST]
    ty = p[P_TDIST + 1]
    tz = p[P_TDIST + 2]
    if p[P_GG] != 0.0:
        k = 3.0 * MU_EARTH_M3_S2 / (rn * rn * rn)
        tx += k * (iz - iy) * nby * nbz
        ty += k * (ix - iz) * nbz * nbx
        tz += k * (iy - ix) * nbx * nby
    hx = x[X_HW] + tx * h - ix * (x[X_RATE] - w0x)
    hy = x[X_HW + 1] + ty * h - iy * (x[X_RATE + 1] - w0y)
    hz = x[X_HW + 2] + tz * h - iz * (x[X_RATE + 2] - w0z)
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    if x[X_DESAT] != 0.0 and hn > 0.0:
        dumped = min(p[P_DUMP_NM] * h, hn)
        f = (hn - dumped) / hn
        hx *= f
        hy *= f
        hz *= f
        hn -= dumped
        acc[A_DUMPED_NMS] += dumped
        if hn <= p[P_HW_RESET]:
            x[X_DESAT] = 0.0
    elif x[X_DESAT] == 0.0 and hn > p[P_HW_MAX]:
        x[X_DESAT] = 1.0
        acc[A_DESATS] += 1.0
    x[X_HW] = hx
    x[X_HW + 1] = hy
    x[X_HW + 2] = hz


@kernel
def _slew(
    x: NDArray[np.float64], tw: float, tx: float, ty: float, tz: float, max_angle: float, h: float
) -> None:
    """Turn quaternion x[X_Q..] toward the target by at most ``max_angle`` (rad) and set the
    body rate x[X_RATE..] to the rotation performed over ``h`` seconds."""
    w0 = x[X_Q]
    x0 = x[X_Q + 1]
    y0 = x[X_Q + 2]
    z0 = x[X_Q + 3]
    dot = w0 * tw + x0 * tx + y0 * ty + z0 * tz
    if dot < 0.0:
        tw, tx, ty, tz, dot = -tw, -tx, -ty, -tz, -dot
    dot = min(1.0, dot)
    half = math.acos(dot)
    if 2.0 * half <= max_angle or half < 1e-12:
        w1, x1, y1, z1 = tw, tx, ty, tz
    else:
        f = max_angle / (2.0 * half)
        sh = math.sin(half)
        a = math.sin((1.0 - f) * half) / sh
        b = math.sin(f * half) / sh
        w1 = a * w0 + b * tw
        x1 = a * x0 + b * tx
        y1 = a * y0 + b * ty
        z1 = a * z0 + b * tz
    n = math.sqrt(w1 * w1 + x1 * x1 + y1 * y1 + z1 * z1)
    w1 /= n
    x1 /= n
    y1 /= n
    z1 /= n
    # Body-frame rotation dq = conj(q0) * q1.
    dw = w0 * w1 + x0 * x1 + y0 * y1 + z0 * z1
    dx = w0 * x1 - x0 * w1 - (y0 * z1 - z0 * y1)
    dy = w0 * y1 - y0 * w1 - (z0 * x1 - x0 * z1)
    dz = w0 * z1 - z0 * w1 - (x0 * y1 - y0 * x1)
    if dw < 0.0:
        dw, dx, dy, dz = -dw, -dx, -dy, -dz
    dv = math.sqrt(dx * dx + dy * dy + dz * dz)
    if dv > 0.0 and h > 0.0:
        k = 2.0 * math.atan2(dv, dw) / (dv * h)
        x[X_RATE] = dx * k
        x[X_RATE + 1] = dy * k
        x[X_RATE + 2] = dz * k
    elif h > 0.0:
        x[X_RATE] = 0.0
        x[X_RATE + 1] = 0.0
        x[X_RATE + 2] = 0.0
    x[X_Q] = w1
    x[X_Q + 1] = x1
    x[X_Q + 2] = y1
    x[X_Q + 3] = z1


# ------------------------------------------------------------------------------ power
@kernel
def ocv_interp(soc: float, ocv: NDArray[np.float64]) -> float:
    """Block open-circuit voltage (V) at state of charge ``soc`` from table ``ocv`` (K, 2)."""
    k = ocv.shape[0]
    if soc <= ocv[0, 0]:
        return float(ocv[0, 1])
    if soc >= ocv[k - 1, 0]:
        return float(ocv[k - 1, 1])
    j = 1
    while ocv[j, 0] < soc:
        j += 1
    f = (soc - ocv[j - 1, 0]) / (ocv[j, 0] - ocv[j - 1, 0])
    return float(ocv[j - 1, 1] + f * (ocv[j, 1] - ocv[j - 1, 1]))


@kernel
def power_flows(
    p: NDArray[np.float64],
    ocv: NDArray[np.float64],
    cos_inc: float,
    sunlit: float,
    flux: float,
    t_array_k: float,
    t_batt_k: float,
    charge_ah: float,
) -> tuple[float, float, float, float, float, float, float, float, float, float, float]:
    """Bus balance at one instant (see the module docstring).

    Returns (available W, array power W, array V, array A, battery A (+ charging),
    terminal V, pack OCV V, battery heat W, shunted W, unserved W, battery terminal W).
    """
    eff = p[P_A_EFF] * (1.0 + p[P_A_TC] * (t_array_k - p[P_A_TREF]))
    if eff < 0.0:
        eff = 0.0
    strings = p[P_A_STR_OK] / p[P_A_STR_TOT]
    avail = (
        p[P_A_AREA] * p[P_A_PACK] * p[P_A_DEGR] * eff * flux * cos_inc * sunlit * strings
        * p[P_A_REG_EFF]
    )  # fmt: skip
    load = p[P_LOAD_W]
    cells = p[P_B_CELLS_OK]
    cap = p[P_B_CAP_AH]
    soc = charge_ah / cap
    ocv_pack = cells * ocv_interp(soc, ocv)
    r = cells * p[P_B_R25] * math.exp(-p[P_B_RTC] * (t_batt_k - _T25_K))
    net = avail - load
    unserved = 0.0
    shunt = 0.0
    if net >= 0.0:
        ok = cells > 0.0 and p[P_B_TMIN] <= t_batt_k <= p[P_B_TMAX] and soc < 1.0
        i_lim = 0.0
        if ok:
            i_lim = p[P_B_MAXC] * cap
            if r > 0.0:
                i_lim = min(i_lim, (cells * p[P_B_VMAX] - ocv_pack) / r)
            elif ocv_pack >= cells * p[P_B_VMAX]:
                i_lim = 0.0
            i_lim = max(0.0, i_lim)
        if r > 0.0:
            i_p = (-ocv_pack + math.sqrt(ocv_pack * ocv_pack + 4.0 * r * net)) / (2.0 * r)
        elif ocv_pack > 0.0:
            i_p = net / ocv_pack
        else:
            i_p = 0.0
        i = min(i_p, i_lim)
        p_b = (ocv_pack + i * r) * i
        shunt = net - p_b
        array_power = load + p_b
    else:
        need = -net
        if cells <= 0.0 or charge_ah <= 0.0 or ocv_pack <= 0.0:
            i = 0.0
            unserved = need
        elif r > 0.0:
            disc = ocv_pack * ocv_pack - 4.0 * r * need
            if disc >= 0.0:
                i = -(ocv_pack - math.sqrt(disc)) / (2.0 * r)
            else:
                i = -ocv_pack / (2.0 * r)
                unserved = need - ocv_pack * ocv_pack / (4.0 * r)
        else:
            i = -need / ocv_pack
        p_b = (ocv_pack + i * r) * i
        array_power = avail
    v_term = ocv_pack + i * r
    if cos_inc * sunlit > 0.0:
        v_arr = p[P_A_CELLS] * (p[P_A_VMP] + p[P_A_VMP_TC] * (t_array_k - p[P_A_TREF]))
        v_arr = max(v_arr, 0.0)
    else:
        v_arr = 0.0
    i_arr = array_power / p[P_A_REG_EFF] / v_arr if v_arr > 0.0 else 0.0
    return avail, array_power, v_arr, i_arr, i, v_term, ocv_pack, i * i * r, shunt, unserved, p_b


@kernel
def _array_geometry(
    p: NDArray[np.float64], sbx: float, sby: float, sbz: float
) -> tuple[float, float, float, float]:
    """Array normal (body frame) and incidence cosine for the Sun direction ``sb`` (body)."""
    if p[P_A_TRACK] == 0.0:
        nx, ny, nz, n = _unit(sbx, 0.0, sbz)
        if n < 1e-9:
            nx, ny, nz = 0.0, 0.0, -1.0
        return nx, ny, nz, math.sqrt(max(0.0, 1.0 - sby * sby))
    nx = p[P_A_N]
    ny = p[P_A_N + 1]
    nz = p[P_A_N + 2]
    return nx, ny, nz, max(0.0, nx * sbx + ny * sby + nz * sbz)


# ------------------------------------------------------------------------------ environment
@kernel
def _geo(
    p: NDArray[np.float64], t: float, rx: float, ry: float, rz: float
) -> tuple[float, float, float, bool]:
    """Geocentric latitude, longitude (rad), height above the ellipsoid (m) and SAA flag."""
    rn = math.sqrt(rx * rx + ry * ry + rz * rz)
    lat = math.asin(rz / rn)
    lon = math.atan2(ry, rx) - (p[P_GMST0] + EARTH_ROTATION_RAD_S * t)
    lon = math.atan2(math.sin(lon), math.cos(lon))
    sphi = rz / rn
    alt = rn - EARTH_RADIUS_M * (1.0 - EARTH_FLATTENING * sphi * sphi)
    dlon = lon - p[P_SAA_LON]
    dlon = math.atan2(math.sin(dlon), math.cos(dlon))
    a = (lat - p[P_SAA_LAT]) / p[P_SAA_A]
    b = dlon / p[P_SAA_B]
    return lat, lon, alt, a * a + b * b <= 1.0


# ------------------------------------------------------------------------------ the step
@kernel
def world_advance(
    t0_s: float,
    n_full: int,
    h_full: float,
    h_last: float,
    eval_out: bool,
    blob: NDArray[np.float64],
    cond_w_k: NDArray[np.float64],
    surf: NDArray[np.float64],
    work: NDArray[np.float64],
    ocv: NDArray[np.float64],
    dtab: NDArray[np.float64],
) -> None:
    """Advance the world from ``t0_s`` (s since the epoch) by ``n_full * h_full + h_last`` s.

    ``blob`` packs every 1-D array (layout ``B_*`` in :mod:`hal.sim.world._layout`; fewer
    arguments keep the call overhead low): own ECI state (6,), ``x``, ``p``, ``o``, ``acc``,
    scratch (6,), then node temperatures (K), capacitances (J/K) and dissipation + heater
    power (W), n each. ``cond_w_k`` (n, n) and ``surf`` are the thermal network, ``work``
    (n, n + 2) scratch, ``ocv`` (K, 2) the block OCV table, ``dtab`` the density table.
    With ``eval_out`` the outputs ``o`` are evaluated at the final state; the per-call
    counters (SAA, shadow, undervoltage seconds) are always written.
    """
    n_nodes = cond_w_k.shape[0]
    s0 = blob[B_OWN : B_OWN + 6]
    x = blob[B_X : B_X + N_X]
    p = blob[B_P : B_P + N_P]
    o = blob[B_O : B_O + N_O]
    acc = blob[B_A : B_A + N_A]
    vec = blob[B_VEC : B_VEC + 6]
    temp_k = blob[B_NODES : B_NODES + n_nodes]
    cap_j_k = blob[B_NODES + n_nodes : B_NODES + 2 * n_nodes]
    q_base_w = blob[B_NODES + 2 * n_nodes : B_NODES + 3 * n_nodes]
    batt = int(p[P_BATT_NODE])
    j2 = p[P_J2]
    omega_atm = p[P_OMEGA_ATM]
    dmodel = int(p[P_DENS_MODEL])
    act = p[P_ACT_LN]
    shadow_model = int(p[P_SHADOW])
    sun_b = vec[0:3]
    nadir_b = vec[3:6]
    q_int = work[:, n_nodes + 1]
    work_sys = work[:, 0 : n_nodes + 1]
    saa_s = 0.0
    ecl_s = 0.0
    uv_s = 0.0
    n_steps = n_full + (1 if h_last > 0.0 else 0)
    t = t0_s

    if p[P_SNAP_ATT] != 0.0:
        sx, sy, sz, _ = sun_position(p[P_DAYS0] + t / 86400.0)
        qw, qx, qy, qz = target_quaternion(p, s0, sx, sy, sz)
        x[X_Q] = qw
        x[X_Q + 1] = qx
        x[X_Q + 2] = qy
        x[X_Q + 3] = qz
        p[P_SNAP_ATT] = 0.0

    for step in range(n_steps + 1):
        last = step == n_steps
        if last and not eval_out:
            break
        h = h_full if step < n_full else h_last
        # --- environment at t
        sx, sy, sz, sdist = sun_position(p[P_DAYS0] + t / 86400.0)
        rx = s0[0]
        ry = s0[1]
        rz = s0[2]
        rn = math.sqrt(rx * rx + ry * ry + rz * rz)
        sunlit = shadow_fraction(rx, ry, rz, sx, sy, sz, sdist, shadow_model)
        flux = p[P_SOLAR] * (AU_M / sdist) ** 2
        lat, lon, alt, in_saa = _geo(p, t, rx, ry, rz)
        # --- body frame from the attitude at t
        bx0, bx1, bx2, by0, by1, by2, bz0, bz1, bz2 = _axes_from_quat(
            x[X_Q], x[X_Q + 1], x[X_Q + 2], x[X_Q + 3]
        )
        sun_b[0] = bx0 * sx + bx1 * sy + bx2 * sz
        sun_b[1] = by0 * sx + by1 * sy + by2 * sz
        sun_b[2] = bz0 * sx + bz1 * sy + bz2 * sz
        nadir_b[0] = -(bx0 * rx + bx1 * ry + bx2 * rz) / rn
        nadir_b[1] = -(by0 * rx + by1 * ry + by2 * rz) / rn
        nadir_b[2] = -(bz0 * rx + bz1 * ry + bz2 * rz) / rn
        an0, an1, an2, cos_inc = _array_geometry(p, sun_b[0], sun_b[1], sun_b[2])
        h_ratio = rn / EARTH_RADIUS_M
        cos_zeta = max(0.0, (rx * sx + ry * sy + rz * sz) / rn)
        alb = p[P_ALBEDO] * cos_zeta
        # --- drag area (own)
        wx = s0[3] + omega_atm * ry
        wy = s0[4] - omega_atm * rx
        wz = s0[5]
        if p[P_DRAG_MODE] == 0.0:
            wn = math.sqrt(wx * wx + wy * wy + wz * wz)
            wb0 = (bx0 * wx + bx1 * wy + bx2 * wz) / wn
            wb1 = (by0 * wx + by1 * wy + by2 * wz) / wn
            wb2 = (bz0 * wx + bz1 * wy + bz2 * wz) / wn
            area = p[P_BODY_AREA] + p[P_A_AREA] * abs(an0 * wb0 + an1 * wb1 + an2 * wb2)
        else:
            area = p[P_DRAG_AREA]
        # --- bus balance
        t_arr = x[X_T_ARRAY]
        avail, arr_p, arr_v, arr_i, i_b, v_b, ocv_b, heat_b, shunt, unserved, p_b = power_flows(
            p, ocv, cos_inc, sunlit, flux, t_arr, temp_k[batt], x[X_CHARGE]
        )
        if last:
            o[O_SUN] = sx
            o[O_SUN + 1] = sy
            o[O_SUN + 2] = sz
            o[O_SUN_DIST] = sdist
            o[O_SUNLIT] = sunlit
            bx, by, bz, _ = _unit(
                ry * s0[5] - rz * s0[4], rz * s0[3] - rx * s0[5], rx * s0[4] - ry * s0[3]
            )
            o[O_BETA] = math.asin(max(-1.0, min(1.0, bx * sx + by * sy + bz * sz)))
            ux, uy, uz = diurnal_bulge_unit(sx, sy, sz)
            o[O_DENSITY] = density_kg_m3(rx, ry, rz, ux, uy, uz, dmodel, dtab, act)
            o[O_SAA] = 1.0 if in_saa else 0.0
            o[O_LAT] = lat
            o[O_LON] = lon
            o[O_ALT] = alt
            o[O_A_AVAIL] = avail
            o[O_A_POWER] = arr_p
            o[O_A_CURRENT] = arr_i
            o[O_A_VOLT] = arr_v
            o[O_A_COSINC] = cos_inc
            o[O_B_CURRENT] = i_b
            o[O_B_VOLT] = v_b
            o[O_B_OCV] = ocv_b
            o[O_B_HEAT] = heat_b
            o[O_SHUNT] = shunt
            o[O_UNDERVOLT] = 1.0 if unserved > 0.0 else 0.0
            o[O_UNSERVED] = unserved
            o[O_B_POWER] = p_b
            o[O_DRAG_AREA] = area
            qw, qx, qy, qz = target_quaternion(p, s0, sx, sy, sz)
            o[O_ANGLE_TGT] = _angle_between(
                x[X_Q], x[X_Q + 1], x[X_Q + 2], x[X_Q + 3], qw, qx, qy, qz
            )
            break
        # --- thermal network
        for i in range(n_nodes):
            q_int[i] = q_base_w[i]
        q_int[batt] += heat_b
        thermal_step(
            temp_k, cap_j_k, cond_w_k, q_int, surf, p[P_EPS_RAD], sun_b, sunlit, flux,
            nadir_b, h_ratio, alb, p[P_IR], h, work_sys,
        )  # fmt: skip
        # --- solar array temperature (linearised implicit, like the nodes)
        a_area = p[P_A_AREA]
        cn = an0 * nadir_b[0] + an1 * nadir_b[1] + an2 * nadir_b[2]
        f_front = view_factor_plate_earth(cn, h_ratio)
        f_back = view_factor_plate_earth(-cn, h_ratio)
        eps_sum = p[P_A_EPS_F] + p[P_A_EPS_B]
        t3 = t_arr * t_arr * t_arr
        q_in = a_area * (
            p[P_A_ALPHA] * flux * (cos_inc * sunlit + alb * f_front)
            + p[P_IR] * (p[P_A_EPS_F] * f_front + p[P_A_EPS_B] * f_back)
        )
        q_out = SIGMA_W_M2_K4 * a_area * eps_sum * t3 * t_arr + arr_p / p[P_A_REG_EFF]
        x[X_T_ARRAY] = t_arr + (q_in - q_out) / (
            p[P_A_CAP] / h + 4.0 * SIGMA_W_M2_K4 * a_area * eps_sum * t3
        )
        # --- battery charge
        dq = (i_b * p[P_B_ETA] if i_b > 0.0 else i_b) * h / 3600.0
        x[X_CHARGE] = min(p[P_B_CAP_AH], max(0.0, x[X_CHARGE] + dq))
        # --- orbits
        ux, uy, uz = diurnal_bulge_unit(sx, sy, sz)
        mass = x[X_MASS]
        cdam0 = p[P_CD] * area / mass if p[P_DRAG_ON] != 0.0 else 0.0
        burn_left = x[X_BURN_LEFT]
        tb = 0.0
        used = 0.0
        if burn_left > 0.0:
            thrust = p[P_THRUST]
            mdot = p[P_MDOT]
            if thrust > 0.0 and x[X_PROP] > 0.0:
                tb = min(h, burn_left)
                used = mdot * tb
                if used >= x[X_PROP]:  # the tank runs dry within this step
                    used = x[X_PROP]
                    tb = used / mdot
            x[X_BURN_LEFT] = max(0.0, burn_left - h)
        if tb > 0.0:
            rk4_step(
                s0, tb, j2, cdam0, omega_atm, dmodel, dtab, act, ux, uy, uz,
                p[P_THRUST], mass, p[P_MDOT], x[X_BURN_DIR], x[X_BURN_DIR + 1], x[X_BURN_DIR + 2],
            )  # fmt: skip
            m1 = mass - used
            if m1 < mass:  # Isp g0 ln(m0 / m1), accurate for tiny steps
                acc[A_DV_M_S] -= p[P_THRUST] / p[P_MDOT] * math.log1p(-(mass - m1) / mass)
            else:
                acc[A_DV_M_S] += p[P_THRUST] / mass * tb
            acc[A_PROP_USED_KG] += used
            acc[A_BURN_S] += tb
            x[X_PROP] = max(0.0, x[X_PROP] - used)
            x[X_MASS] = m1
            if h - tb > 1e-12:
                rk4_step(
                    s0, h - tb, j2, cdam0 * mass / m1, omega_atm, dmodel, dtab, act, ux, uy, uz,
                    0.0, m1, 0.0, 0.0, 0.0, 0.0,
                )  # fmt: skip
        else:
            rk4_step(
                s0, h, j2, cdam0, omega_atm, dmodel, dtab, act, ux, uy, uz,
                0.0, mass, 0.0, 0.0, 0.0, 0.0,
            )  # fmt: skip
        # --- running totals
        acc[A_TIME_S] += h
        acc[A_ECLIPSE_S] += (1.0 - sunlit) * h
        ecl_s += (1.0 - sunlit) * h
        if in_saa:
            acc[A_SAA_S] += h
            saa_s += h
        if i_b > 0.0:
            acc[A_CHARGE_IN_AH] += i_b * h / 3600.0
        else:
            acc[A_CHARGE_OUT_AH] -= i_b * h / 3600.0
        acc[A_ARRAY_J] += arr_p * h
        acc[A_LOAD_J] += p[P_LOAD_W] * h
        acc[A_SHUNT_J] += shunt * h
        acc[A_BATT_TERM_J] += p_b * h
        acc[A_BATT_LOSS_J] += heat_b * h
        acc[A_UNSERVED_J] += unserved * h
        if unserved > 0.0:
            uv_s += h
        t += h
        # --- attitude toward the target of the new state, then the wheels
        qw, qx, qy, qz = target_quaternion(p, s0, sx, sy, sz)
        w0x = x[X_RATE]
        w0y = x[X_RATE + 1]
        w0z = x[X_RATE + 2]
        _slew(x, qw, qx, qy, qz, p[P_SLEW] * h, h)
        _wheels(x, p, acc, w0x, w0y, w0z, -nadir_b[0], -nadir_b[1], -nadir_b[2], rn, h)
    if n_steps > 0:
        o[O_SAA_S_CALL] = saa_s
        o[O_ECL_S_CALL] = ecl_s
        o[O_UV_S_CALL] = uv_s


@kernel
def neighbours_advance(
    states: NDArray[np.float64],
    cdam: NDArray[np.float64],
    t0_s: float,
    n_steps: int,
    h: float,
    p: NDArray[np.float64],
    dtab: NDArray[np.float64],
) -> None:
    """RK4-propagate neighbour states (M, 6) by ``n_steps`` steps of ``h`` s from ``t0_s``,
    in place, with the world's force model (``p``); the Harris-Priester bulge follows the
    Sun at every step."""
    j2 = p[P_J2]
    omega_atm = p[P_OMEGA_ATM]
    dmodel = int(p[P_DENS_MODEL])
    act = p[P_ACT_LN]
    t = t0_s
    for _ in range(n_steps):
        sx, sy, sz, _ = sun_position(p[P_DAYS0] + t / 86400.0)
        ux, uy, uz = diurnal_bulge_unit(sx, sy, sz)
        for k in range(states.shape[0]):
            rk4_step(
                states[k], h, j2, cdam[k], omega_atm, dmodel, dtab, act, ux, uy, uz,
                0.0, 1.0, 0.0, 0.0, 0.0, 0.0,
            )  # fmt: skip
        t += h


@kernel
def universe_advance(
    t0_s: float,
    n_full: int,
    h_full: float,
    h_last: float,
    eval_out: bool,
    blobs: NDArray[np.float64],
    conds: NDArray[np.float64],
    surfs: NDArray[np.float64],
    works: NDArray[np.float64],
    ocvs: NDArray[np.float64],
    dtab: NDArray[np.float64],
) -> None:
    """Advance every spacecraft of a universe (the node axis, first, of every array) by
    ``n_full * h_full + h_last`` s from ``t0_s``, in one call: spacecraft ``k`` runs exactly
    :func:`world_advance` on ``blobs[k]``, ``conds[k]``... (so a spacecraft's result is bit
    for bit the one it would have alone; the spacecraft share the time, the Sun and the
    atmosphere, and do not act on each other)."""
    for k in range(blobs.shape[0]):
        world_advance(
            t0_s, n_full, h_full, h_last, eval_out, blobs[k], conds[k], surfs[k], works[k],
            ocvs[k], dtab,
        )  # fmt: skip


#: The fused kernel as registered with :mod:`native.backend` (``world_advance``). The
#: ``python`` implementation of the world step is the NumPy reference
#: (:func:`native.reference.world_advance_ref`, given this world's layout), the same oracle
#: the tests hold the Numba kernel to; the neighbours' ``python`` path runs the kernel body as
#: Python (its inner physics functions stay compiled).
neighbours_advance_kernel = register_kernel(
    "world_neighbours",
    {"numba": neighbours_advance, "python": neighbours_advance.py_func},  # type: ignore[attr-defined]
)
world_advance_kernel = register_kernel(
    "world_advance",
    {"numba": world_advance, "python": functools.partial(world_advance_ref, _world_layout)},
)
universe_advance_kernel = register_kernel(
    "universe_advance",
    {"numba": universe_advance, "python": functools.partial(universe_advance_ref, _world_layout)},
)
