"""Thermal application pieces: control laws, the predictor, configuration checks."""

from __future__ import annotations

import math

import pytest

from flight.thermal import Hysteresis, Pid, ZonePredictor, parse_config
from native.errors import ConfigError


def test_hysteresis_band() -> None:
    h = Hysteresis(10.0, 4.0)
    temps = [12.0, 9.0, 7.9, 9.0, 11.9, 12.1, 11.0, 7.0]
    duties = [h.update(t, 1.0) for t in temps]
    assert duties == [0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]


def test_pid_regulates_a_first_order_plant_to_its_setpoint() -> None:
    # Plant: C dT/dt = P_max * duty - G (T - T_sink); closed form steady state at setpoint
    # needs duty* = G (T_set - T_sink) / P_max.
    c, g, p_max, t_sink = 2000.0, 2.0, 100.0, -20.0
    pid = Pid(20.0, kp=0.2, ki=0.002, kd=0.0)
    t = 0.0
    for _ in range(20000):
        duty = pid.update(t, 1.0)
        t += (p_max * duty - g * (t - t_sink)) / c
    assert t == pytest.approx(20.0, abs=0.05)
    assert pid.update(t, 1.0) == pytest.approx(g * (20.0 - t_sink) / p_max, abs=0.01)


def test_pid_antiwindup_keeps_integral_bounded_while_saturated() -> None:
    pid = Pid(50.0, kp=0.1, ki=0.01, kd=0.0)
    for _ in range(10000):
        assert pid.update(-50.0, 1.0) == 1.0  # saturated high
    assert pid.integral == 0.0  # froze: error pushed the output further into saturation


def test_predictor_matches_first_order_response() -> None:
    tau, h = 1000.0, 300.0
    p = ZonePredictor(tau, h, smoothing=1.0)
    t_ss, t0 = 80.0, 20.0

    def truth(t: float) -> float:
        return t_ss + (t0 - t_ss) * math.exp(-t / tau)

    pred = math.nan
    for k in range(0, 501):
        pred = p.update(float(k), truth(float(k)))
    # finite-difference rate lags by half a step; tolerance reflects that
    assert pred == pytest.approx(truth(500.0 + h), abs=0.05)


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        parse_config({"bogus": 1})
    with pytest.raises(ConfigError, match=r"\[thermal.zones\[z\]\] min_c: 5.0 C must be below"):
        parse_config({"zones": [{"name": "z", "channel": "z", "min_c": 5, "max_c": 1}]})
    with pytest.raises(ConfigError, match="control"):
        parse_config(
            {"zones": [{"name": "z", "channel": "z", "min_c": 0, "max_c": 1, "control": "fuzzy"}]}
        )
