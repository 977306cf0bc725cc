"""Collision avoidance: an object placed on a collision course is screened, avoided, and the
node returns to its box."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from flight.gnc import (
    OrbitPropagator,
    catalogue_blob_name,
    collision_probability,
    rtn_covariance_to_eci,
)

TCA_AFTER_S = 5 * 3600.0
PC_THRESHOLD = 1e-4


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    return np.asarray(
        v * math.cos(angle) + np.cross(k, v) * math.sin(angle) + k * (k @ v) * (1 - math.cos(angle))
    )


def test_conjunction_triggers_avoidance_and_return(rig_factory: Any) -> None:
    rig = rig_factory(gnc={"return_time_s": 2 * 86400.0, "pc_threshold": PC_THRESHOLD})
    rig.run_days(0.5)
    c = rig.gnc
    w = rig.backend.world
    prop = OrbitPropagator(10.0)
    # Own truth predicted to TCA (J2 + the estimated drag), the object crossing it there.
    own_now = np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])
    t_now = w.t_ns / 1e9
    own_tca = prop.advance(own_now, TCA_AFTER_S, c.drag_accel_m_s2())
    r_hat = own_tca[:3] / np.linalg.norm(own_tca[:3])
    obj_tca = np.concatenate(
        [own_tca[:3] + 10.0 * r_hat, _rotate(own_tca[3:], r_hat, math.radians(70))]
    )
    epoch = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=w.utc_ns // 1000)
    epoch_rel = (epoch - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() - w.utc_ns / 1e9
    obj_epoch = prop.advance(obj_tca, -(TCA_AFTER_S - epoch_rel))
    line = (
        "STATE deb-42 "
        + epoch.isoformat().replace("+00:00", "Z")
        + " "
        + " ".join(repr(float(x)) for x in obj_epoch)
    )
    rig.backend.device("nvm").write(catalogue_blob_name(7), (line + "\n").encode())
    cmd = next(x for x in c.DECLARATION.commands if x.name == "load_catalogue")
    c.execute(cmd.opcode, cmd.arg_struct.pack(7))
    assert len(c.catalogue) == 1

    # Run to 10 min before TCA, then sample the truth every tick through the encounter.
    t_tca = t_now + TCA_AFTER_S
    rig.run_days((t_tca - 600.0 - w.t_ns / 1e9) / 86400.0)
    samples = []
    while w.t_ns / 1e9 < t_tca + 600.0:
        rig.run_days(10.0 / 86400.0)
        t = w.t_ns / 1e9
        own = np.concatenate([w.orbit.r_eci_m, w.orbit.v_eci_m_s])
        obj = prop.advance(obj_epoch, t - t_now - epoch_rel)
        samples.append((own, obj))
    s = c.summary()
    assert s["avoidance_maneuvers"] >= 1
    av = s["avoidances"][0]
    assert av["pc_before"] >= PC_THRESHOLD
    assert av["pc_after"] is not None and av["pc_after"] < PC_THRESHOLD  # onboard re-screen
    # Truth: closest approach of the real trajectories, and its Pc with the same covariances.
    d = [np.linalg.norm(o[:3] - b[:3]) for o, b in samples]
    k = int(np.argmin(d))
    own, obj = samples[k]
    dr, dv = obj[:3] - own[:3], obj[3:] - own[3:]
    tau = -float(dr @ dv) / float(dv @ dv)
    own_c = prop.advance(own, tau)
    obj_c = prop.advance(obj, tau)
    miss = obj_c[:3] - own_c[:3]
    cov = rtn_covariance_to_eci(own_c, (20.0, 100.0, 20.0)) + rtn_covariance_to_eci(
        obj_c, (50.0, 200.0, 50.0)
    )
    pc_truth = collision_probability(miss, obj_c[3:] - own_c[3:], cov, c.cfg.hard_body_radius_m)
    assert pc_truth < PC_THRESHOLD
    assert np.linalg.norm(miss) > 100.0
    # Back in the box within the configured time after TCA.
    rig.run_days(2.0)
    s = c.summary()
    ret = s["avoidances"][0].get("return_s")
    assert ret is not None and ret <= c.cfg.return_time_s
    assert rig.events("avoidance_planned") and rig.events("back_in_slot")
