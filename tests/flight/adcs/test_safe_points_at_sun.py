"""SAFE is real: the ground commands SAFE, FDIR requests sun pointing, the attitude app slews
the spacecraft, and the one-axis solar array gains exactly 1/cos(beta) of power.

Oracle (closed form): a wing turning about body +Y sees the Sun at incidence beta in nadir
mode (cos = sqrt(1 - s_y^2) with s_y = sin beta along the orbit normal) and at normal
incidence in SUN mode; so array power rises by 1/cos(beta) with everything else equal (same
node, same seed; the twin stays in nadir).
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from spacepackets.ecss import PusTc

from flight.apps import COMPONENT_IDS
from flight.messages import Mode
from flight.testing import build_node, node_config

#: beta ~ 40 deg at the default epoch (see tests/hal/test_attitude_sim.py)
ORBIT = {"drag": False, "raan_deg": 158.0, "inclination_deg": 20.0}
RATIO_RTOL = 1e-3  # both twins read the same physics step; only the attitude differs
SLEW_LIMIT_S = 300.0  # the ~42 deg slew at the 1 deg/s limit, with acceleration and margin


def _node(tmp: Path) -> object:
    cfg = node_config({"world": {"orbit": ORBIT}}, apps=["power", "thermal", "fdir", "adcs"])
    return build_node(tmp, cfg)


def test_safe_mode_points_the_array_at_the_sun(tmp_path: Path) -> None:
    nadir, safe = _node(tmp_path / "nadir"), _node(tmp_path / "safe")
    try:
        for node in (nadir, safe):
            node.run(120.0)  # boot, FDIR to NOMINAL, nadir pointing
        function_id = (COMPONENT_IDS["fdir"] << 8) | 1
        tc = PusTc(8, 1, apid=safe.tmtc.apid, app_data=struct.pack(">HB", function_id, Mode.SAFE))
        safe.tmtc.process(tc.pack())
        waited = 0.0
        while safe.apps["adcs"].summary()["slews_completed"] < 1 and waited < SLEW_LIMIT_S:
            for node in (nadir, safe):
                node.run(10.0)
            waited += 10.0
        adcs = safe.apps["adcs"].summary()
        assert adcs["mode_final"] == "sun" and adcs["slews_completed"] >= 1
        # FDIR still protective (SAFE, or RECOVERY on its way out: both keep the Sun)
        assert safe.apps["fdir"].summary()["mode_final"] in ("SAFE", "RECOVERY")
        assert nadir.apps["adcs"].summary()["mode_final"] == "nadir"
        w_nadir, w_safe = nadir.backend.world, safe.backend.world
        assert w_nadir.env.sunlit_frac == 1.0 and w_safe.env.sunlit_frac == 1.0
        cos_beta = math.cos(w_nadir.env.beta_rad)
        assert cos_beta < 0.9  # the geometry really is off-Sun in nadir
        assert w_nadir.power.array_incidence_cos == pytest.approx(cos_beta, rel=RATIO_RTOL)
        assert w_safe.power.array_incidence_cos == pytest.approx(1.0, rel=RATIO_RTOL)
        # Cell efficiency falls linearly with temperature (eta = eta_ref (1 + k (T - T_ref)))
        # and the Sun-pointed wing runs warmer: the closed form carries that factor.
        array = w_nadir.config.power.array
        k, t_ref = array.temp_coeff_per_k, array.ref_temp_c
        thermal = (1 + k * (w_safe.power.array_temp_c - t_ref)) / (
            1 + k * (w_nadir.power.array_temp_c - t_ref)
        )
        ratio = w_safe.power.array_available_w / w_nadir.power.array_available_w
        assert ratio == pytest.approx(thermal / cos_beta, rel=RATIO_RTOL)
    finally:
        nadir.close()
        safe.close()
