"""Numba orbit kernels: point mass + J2 + drag RK4, and an analytic J2 mean-element propagator.

Units: metres, seconds, radians, kilograms. ECI is the world's Earth-centred pseudo-inertial
frame. States are rows ``(x, y, z, vx, vy, vz)``; classical elements are rows
``(a_m, e, i_rad, raan_rad, argp_rad, mean_anomaly_rad)``.

Force model (:func:`acceleration`)::

    a = -mu r / |r|^3
        + (3/2) J2 mu R^2 / |r|^5 * (x (5 z^2/r^2 - 1), y (5 z^2/r^2 - 1), z (5 z^2/r^2 - 3))
        - 1/2 rho(r) (C_D A / m) |v_rel| v_rel,      v_rel = v - omega_atm x r
        + thrust / m(t) (own satellite during a burn)

The analytic propagator (:func:`propagate_j2_kernel`) advances mean elements with the first
order J2 secular rates (Vallado eq. 9-41)::

    dRAAN/dt = -(3/2) n J2 (R/p)^2 cos i
    dargp/dt =  (3/4) n J2 (R/p)^2 (5 cos^2 i - 1)
    dM/dt    =  n [1 + (3/4) J2 (R/p)^2 sqrt(1 - e^2) (3 cos^2 i - 1)]

plus a secular drag decay ``a(t) = a0 + adot t`` whose effect on the mean anomaly is the
quadratic term ``-(3/4) (n/a) adot t^2``; it solves Kepler's equation by Newton iteration.
NumPy references live in :mod:`native._orbit_ref`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from native._env_numba import density_kg_m3
from native.constants import EARTH_RADIUS_M, MU_EARTH_M3_S2
from native.jit import kernel

__all__ = [
    "acceleration",
    "elements_to_state_kernel",
    "propagate_j2_kernel",
    "rk4_batch_kernel",
    "rk4_step",
    "state_to_elements_kernel",
]

_MU = MU_EARTH_M3_S2
_RE = EARTH_RADIUS_M
_TWO_PI = 2.0 * math.pi


@kernel
def acceleration(
    x: float,
    y: float,
    z: float,
    vx: float,
    vy: float,
    vz: float,
    j2: float,
    cdam: float,
    omega_atm: float,
    dmodel: int,
    dtab: NDArray[np.float64],
    act_ln550: float,
    ux: float,
    uy: float,
    uz: float,
) -> tuple[float, float, float]:
    """Gravity (point mass + J2) and drag acceleration (m/s^2) at ECI state (m, m/s).

    ``cdam`` = C_D A / m (m^2/kg; 0 disables drag), ``omega_atm`` the atmosphere's rotation
    rate (rad/s, 0 for a still atmosphere), density from :func:`native._env.density_kg_m3`
    with model ``dmodel``, table ``dtab``, activity ``act_ln550`` and bulge apex ``u``.
    """
    r2 = x * x + y * y + z * z
    r = math.sqrt(r2)
    inv_r3 = 1.0 / (r2 * r)
    ax = -_MU * x * inv_r3
    ay = -_MU * y * inv_r3
    az = -_MU * z * inv_r3
    if j2 != 0.0:
        k = 1.5 * j2 * _MU * _RE * _RE * inv_r3 / r2
        zz = 5.0 * z * z / r2
        ax += k * x * (zz - 1.0)
        ay += k * y * (zz - 1.0)
        az += k * z * (zz - 3.0)
    if cdam != 0.0:
        wx = vx + omega_atm * y
        wy = vy - omega_atm * x
        wz = vz
        w = math.sqrt(wx * wx + wy * wy + wz * wz)
        rho = density_kg_m3(x, y, z, ux, uy, uz, dmodel, dtab, act_ln550)
        f = -0.5 * rho * cdam * w
        ax += f * wx
        ay += f * wy
        az += f * wz
    return ax, ay, az


@kernel
def rk4_step(
    s: NDArray[np.float64],
    h: float,
    j2: float,
    cdam: float,
    omega_atm: float,
    dmodel: int,
    dtab: NDArray[np.float64],
    act_ln550: float,
    ux: float,
    uy: float,
    uz: float,
    thrust_n: float,
    mass_kg: float,
    mdot_kg_s: float,
    dx: float,
    dy: float,
    dz: float,
) -> None:
    """One classical RK4 step of ``h`` seconds on state ``s`` (6,), in place.

    ``cdam`` is C_D A / m at the start of the step; with ``thrust_n > 0`` a thrust along the
    unit vector ``d`` acts with the mass falling linearly (``m(t) = mass_kg - mdot_kg_s t``),
    and the drag term scales with ``mass_kg / m(t)``.
    """
    x0 = s[0]
    y0 = s[1]
    z0 = s[2]
    vx0 = s[3]
    vy0 = s[4]
    vz0 = s[5]
    hh = 0.5 * h
    # Stage 1 (t)
    m1 = mass_kg
    a1x, a1y, a1z = acceleration(
        x0, y0, z0, vx0, vy0, vz0, j2, cdam, omega_atm, dmodel, dtab, act_ln550, ux, uy, uz
    )
    if thrust_n != 0.0:
        f = thrust_n / m1
        a1x += f * dx
        a1y += f * dy
        a1z += f * dz
    # Stage 2 (t + h/2)
    x = x0 + hh * vx0
    y = y0 + hh * vy0
    z = z0 + hh * vz0
    v2x = vx0 + hh * a1x
    v2y = vy0 + hh * a1y
    v2z = vz0 + hh * a1z
    m2 = mass_kg - mdot_kg_s * hh
    c2 = cdam * mass_kg / m2
    a2x, a2y, a2z = acceleration(
        x, y, z, v2x, v2y, v2z, j2, c2, omega_atm, dmodel, dtab, act_ln550, ux, uy, uz
    )
    if thrust_n != 0.0:
        f = thrust_n / m2
        a2x += f * dx
        a2y += f * dy
        a2z += f * dz
    # Stage 3 (t + h/2)
    x = x0 + hh * v2x
    y = y0 + hh * v2y
    z = z0 + hh * v2z
    v3x = vx0 + hh * a2x
    v3y = vy0 + hh * a2y
    v3z = vz0 + hh * a2z
    a3x, a3y, a3z = acceleration(
        x, y, z, v3x, v3y, v3z, j2, c2, omega_atm, dmodel, dtab, act_ln550, ux, uy, uz
    )
    if thrust_n != 0.0:
        f = thrust_n / m2
        a3x += f * dx
        a3y += f * dy
        a3z += f * dz
    # Stage 4 (t + h)
    x = x0 + h * v3x
    y = y0 + h * v3y
    z = z0 + h * v3z
    v4x = vx0 + h * a3x
    v4y = vy0 + h * a3y
    v4z = vz0 + h * a3z
    m4 = mass_kg - mdot_kg_s * h
    c4 = cdam * mass_kg / m4
    a4x, a4y, a4z = acceleration(
        x, y, z, v4x, v4y, v4z, j2, c4, omega_atm, dmodel, dtab, act_ln550, ux, uy, uz
    )
    if thrust_n != 0.0:
        f = thrust_n / m4
        a4x += f * dx
        a4y += f * dy
        a4z += f * dz
    h6 = h / 6.0
    s[0] = x0 + h6 * (vx0 + 2.0 * v2x + 2.0 * v3x + v4x)
    s[1] = y0 + h6 * (vy0 + 2.0 * v2y + 2.0 * v3y + v4y)
    s[2] = z0 + h6 * (vz0 + 2.0 * v2z + 2.0 * v3z + v4z)
    s[3] = vx0 + h6 * (a1x + 2.0 * a2x + 2.0 * a3x + a4x)
    s[4] = vy0 + h6 * (a1y + 2.0 * a2y + 2.0 * a3y + a4y)
    s[5] = vz0 + h6 * (a1z + 2.0 * a2z + 2.0 * a3z + a4z)


@kernel
def rk4_batch_kernel(
    states: NDArray[np.float64],
    cdam: NDArray[np.float64],
    n_steps: int,
    h: float,
    j2: float,
    omega_atm: float,
    dmodel: int,
    dtab: NDArray[np.float64],
    act_ln550: float,
    bulge: NDArray[np.float64],
) -> None:
    """Advance every row of ``states`` (N, 6) by ``n_steps`` RK4 steps of ``h`` s, in place.

    ``cdam[i]`` = C_D A / m of satellite i (m^2/kg); the bulge apex is held fixed.
    """
    for i in range(states.shape[0]):
        s = states[i]
        for _ in range(n_steps):
            rk4_step(
                s, h, j2, cdam[i], omega_atm, dmodel, dtab, act_ln550,
                bulge[0], bulge[1], bulge[2], 0.0, 1.0, 0.0, 0.0, 0.0, 0.0,
            )  # fmt: skip


@kernel
def _kepler_e(m: float, e: float) -> float:
    """Eccentric anomaly from the mean anomaly (rad) by Newton iteration (e < 1)."""
    ecc = m + e * math.sin(m) if e < 0.8 else math.pi
    for _ in range(30):
        f = ecc - e * math.sin(ecc) - m
        d = f / (1.0 - e * math.cos(ecc))
        ecc -= d
        if abs(d) < 1e-13:
            break
    return ecc


@kernel
def _kepler_sincos(m: float, sm: float, cm: float, e: float) -> tuple[float, float]:
    """``(sin E, cos E)`` of the eccentric anomaly solving ``E - e sin E = m`` (e < 1).

    ``sm``, ``cm`` are sin m and cos m. Newton iteration on the offset ``x = E - m``
    (``x = e sin(m + x)``) from x = 0 (or E = pi for e >= 0.8). The sine and cosine of E are
    carried along and rotated by each Newton correction d; once |d| < 1e-3 the rotation uses
    the 5th-order series of sin d and cos d (error < d^6/720 < 2e-21), so a near-circular
    orbit needs no trigonometric call at all.
    """
    if e < 0.8:
        x = 0.0
        se = sm
        ce = cm
    else:
        x = math.pi - (m % (2.0 * math.pi))
        se = 0.0
        ce = -1.0
    for _ in range(40):
        d = (x - e * se) / (1.0 - e * ce)
        x -= d
        if abs(d) < 1e-3:
            d2 = d * d
            cd = 1.0 - d2 * (0.5 - d2 * (1.0 / 24.0))
            sd = d * (1.0 - d2 * (1.0 / 6.0 - d2 * (1.0 / 120.0)))
            # E_new = E - d: sin(E - d) = s cd - c sd, cos(E - d) = c cd + s sd
            s_new = se * cd - ce * sd
            ce = ce * cd + se * sd
            se = s_new
            if abs(d) < 1e-15:
                break
        else:
            se = math.sin(m + x)
            ce = math.cos(m + x)
    return se, ce


@kernel
def elements_to_state_kernel(el: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """Classical elements (N, 6) -> ECI states (N, 6) (two-body conversion)."""
    for k in range(el.shape[0]):
        a = el[k, 0]
        e = el[k, 1]
        ci = math.cos(el[k, 2])
        si = math.sin(el[k, 2])
        co = math.cos(el[k, 3])
        so = math.sin(el[k, 3])
        cw = math.cos(el[k, 4])
        sw = math.sin(el[k, 4])
        ecc = _kepler_e(el[k, 5], e)
        ce = math.cos(ecc)
        se = math.sin(ecc)
        eta = math.sqrt(1.0 - e * e)
        n = math.sqrt(_MU / (a * a * a))
        px = a * (ce - e)
        py = a * eta * se
        f = n * a / (1.0 - e * ce)
        qx = -f * se
        qy = f * eta * ce
        # P = perifocal x axis, Q = perifocal y axis in ECI.
        p0 = co * cw - so * sw * ci
        p1 = so * cw + co * sw * ci
        p2 = sw * si
        q0 = -co * sw - so * cw * ci
        q1 = -so * sw + co * cw * ci
        q2 = cw * si
        out[k, 0] = px * p0 + py * q0
        out[k, 1] = px * p1 + py * q1
        out[k, 2] = px * p2 + py * q2
        out[k, 3] = qx * p0 + qy * q0
        out[k, 4] = qx * p1 + qy * q1
        out[k, 5] = qx * p2 + qy * q2


@kernel
def state_to_elements_kernel(st: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """ECI states (N, 6) -> osculating classical elements (N, 6); angles in [0, 2 pi).

    For circular or equatorial orbits the undefined angles are set to 0 and the position
    angle is carried by the remaining ones (argument of latitude or true longitude).
    """
    for k in range(st.shape[0]):
        x = st[k, 0]
        y = st[k, 1]
        z = st[k, 2]
        vx = st[k, 3]
        vy = st[k, 4]
        vz = st[k, 5]
        r = math.sqrt(x * x + y * y + z * z)
        v2 = vx * vx + vy * vy + vz * vz
        hx = y * vz - z * vy
        hy = z * vx - x * vz
        hz = x * vy - y * vx
        h = math.sqrt(hx * hx + hy * hy + hz * hz)
        rv = x * vx + y * vy + z * vz
        a = 1.0 / (2.0 / r - v2 / _MU)
        ex = ((v2 - _MU / r) * x - rv * vx) / _MU
        ey = ((v2 - _MU / r) * y - rv * vy) / _MU
        ez = ((v2 - _MU / r) * z - rv * vz) / _MU
        e = math.sqrt(ex * ex + ey * ey + ez * ez)
        inc = math.acos(max(-1.0, min(1.0, hz / h)))
        nx = -hy
        ny = hx
        nn = math.sqrt(nx * nx + ny * ny)
        raan = math.atan2(ny, nx) if nn > 1e-12 * h else 0.0
        if nn <= 1e-12 * h:
            nx = 1.0
            ny = 0.0
            nn = 1.0
        # Argument of latitude u (from the node to r) in the orbit plane.
        cu = (nx * x + ny * y) / (nn * r)
        su = z / (r * math.sin(inc)) if math.sin(inc) > 1e-12 else 0.0
        if math.sin(inc) <= 1e-12:
            su = (nx * y - ny * x) / (nn * r) * (1.0 if hz >= 0.0 else -1.0)
        u = math.atan2(su, cu)
        if e > 1e-12:
            cw = (nx * ex + ny * ey) / (nn * e)
            sw = ez / (e * math.sin(inc)) if math.sin(inc) > 1e-12 else 0.0
            if math.sin(inc) <= 1e-12:
                sw = (nx * ey - ny * ex) / (nn * e) * (1.0 if hz >= 0.0 else -1.0)
            w = math.atan2(sw, cw)
        else:
            w = 0.0
        nu = u - w
        # True -> eccentric -> mean anomaly.
        ecc = 2.0 * math.atan2(
            math.sqrt(1.0 - e) * math.sin(0.5 * nu), math.sqrt(1.0 + e) * math.cos(0.5 * nu)
        )
        m = ecc - e * math.sin(ecc)
        out[k, 0] = a
        out[k, 1] = e
        out[k, 2] = inc
        out[k, 3] = raan % _TWO_PI
        out[k, 4] = w % _TWO_PI
        out[k, 5] = m % _TWO_PI


@kernel
def _uniform_grid(times: NDArray[np.float64]) -> float:
    """The spacing of ``times`` if they are uniformly spaced (to 1e-12 relative), else 0."""
    m = times.shape[0]
    if m < 3:
        return 0.0
    dt = float((times[m - 1] - times[0]) / (m - 1))
    if dt <= 0.0:
        return 0.0
    tol = 1e-12 * (abs(times[0]) + abs(times[m - 1]) + dt)
    for j in range(m):
        if abs(times[j] - (times[0] + j * dt)) > tol:
            return 0.0
    return dt


@kernel
def _write_state(
    out: NDArray[np.float64], k: int, j: int, want_v: bool, a: float, e: float, eta: float,
    se: float, ce: float, co: float, so: float, cw: float, sw: float, ci: float, si: float,
) -> None:  # fmt: skip
    p0 = co * cw - so * sw * ci
    p1 = so * cw + co * sw * ci
    p2 = sw * si
    q0 = -co * sw - so * cw * ci
    q1 = -so * sw + co * cw * ci
    q2 = cw * si
    px = a * (ce - e)
    py = a * eta * se
    out[k, j, 0] = px * p0 + py * q0
    out[k, j, 1] = px * p1 + py * q1
    out[k, j, 2] = px * p2 + py * q2
    if want_v:
        f = math.sqrt(_MU / a) / (1.0 - e * ce)
        vx = -f * se
        vy = f * eta * ce
        out[k, j, 3] = vx * p0 + vy * q0
        out[k, j, 4] = vx * p1 + vy * q1
        out[k, j, 5] = vx * p2 + vy * q2


_RESEED = 64  # uniform grid: exact sin/cos every this many epochs bounds recurrence drift


@kernel
def propagate_j2_kernel(
    el: NDArray[np.float64],
    adot: NDArray[np.float64],
    times: NDArray[np.float64],
    j2: float,
    out: NDArray[np.float64],
) -> None:
    """Mean elements ``el`` (N, 6) at t = 0 -> ECI states at ``times`` (M,) s into ``out``.

    ``out`` is (N, M, 6) for position and velocity or (N, M, 3) for position only;
    ``adot[i]`` is the secular semi-major axis rate (m/s, negative under drag). When the
    epochs are uniformly spaced the sines and cosines of M, RAAN and argp advance by
    rotation recurrences (exactly re-seeded every 64 epochs), so a near-circular orbit
    costs no trigonometric call per epoch.
    """
    want_v = out.shape[2] == 6
    dt_grid = _uniform_grid(times)
    for k in range(el.shape[0]):
        a0 = el[k, 0]
        e = el[k, 1]
        ci = math.cos(el[k, 2])
        si = math.sin(el[k, 2])
        eta = math.sqrt(1.0 - e * e)
        n0 = math.sqrt(_MU / (a0 * a0 * a0))
        p = a0 * eta * eta
        q = j2 * (_RE / p) * (_RE / p)
        raan_dot = -1.5 * n0 * q * ci
        argp_dot = 0.75 * n0 * q * (5.0 * ci * ci - 1.0)
        m_dot = n0 * (1.0 + 0.75 * q * eta * (3.0 * ci * ci - 1.0))
        m_ddot = -0.75 * n0 / a0 * adot[k]  # coefficient of t^2
        ad = adot[k]
        raan0 = el[k, 3]
        argp0 = el[k, 4]
        m0 = el[k, 5]
        if dt_grid == 0.0:
            for j in range(times.shape[0]):
                t = times[j]
                m = m0 + (m_dot + m_ddot * t) * t
                se, ce = _kepler_sincos(m, math.sin(m), math.cos(m), e)
                raan = raan0 + raan_dot * t
                argp = argp0 + argp_dot * t
                _write_state(
                    out, k, j, want_v, a0 + ad * t, e, eta, se, ce, math.cos(raan),
                    math.sin(raan), math.cos(argp), math.sin(argp), ci, si,
                )  # fmt: skip
            continue
        # Uniform grid: advance sin/cos of M, RAAN and argp by rotation recurrences (the
        # increment of M itself grows linearly under drag decay), re-seeded exactly every
        # _RESEED epochs.
        h = dt_grid
        c_g = math.cos(2.0 * m_ddot * h * h)
        s_g = math.sin(2.0 * m_ddot * h * h)
        c_r = math.cos(raan_dot * h)
        s_r = math.sin(raan_dot * h)
        c_w = math.cos(argp_dot * h)
        s_w = math.sin(argp_dot * h)
        n_t = times.shape[0]
        for j0 in range(0, n_t, _RESEED):
            t = times[0] + j0 * h
            m = m0 + (m_dot + m_ddot * t) * t
            cm = math.cos(m)
            sm = math.sin(m)
            dm = (m_dot + m_ddot * (2.0 * t + h)) * h
            cd = math.cos(dm)
            sd = math.sin(dm)
            co = math.cos(raan0 + raan_dot * t)
            so = math.sin(raan0 + raan_dot * t)
            cw = math.cos(argp0 + argp_dot * t)
            sw = math.sin(argp0 + argp_dot * t)
            for j in range(j0, min(j0 + _RESEED, n_t)):
                t = times[0] + j * h
                m = m0 + (m_dot + m_ddot * t) * t
                se, ce = _kepler_sincos(m, sm, cm, e)
                _write_state(out, k, j, want_v, a0 + ad * t, e, eta, se, ce, co, so, cw, sw, ci, si)
                # rotate to the next epoch
                tmp = sm * cd + cm * sd
                cm = cm * cd - sm * sd
                sm = tmp
                tmp = sd * c_g + cd * s_g
                cd = cd * c_g - sd * s_g
                sd = tmp
                tmp = so * c_r + co * s_r
                co = co * c_r - so * s_r
                so = tmp
                tmp = sw * c_w + cw * s_w
                cw = cw * c_w - sw * s_w
                sw = tmp
