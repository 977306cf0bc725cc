"""Zone control laws: hysteresis (bang-bang with a band) and PID with anti-windup.

Both return a heater duty in 0..1 from the zone temperature (deg C) and its setpoint.
"""

from __future__ import annotations

__all__ = ["Hysteresis", "Pid"]


class Hysteresis:
    """Heater on below ``setpoint - band/2``, off above ``setpoint + band/2``, else unchanged."""

    def __init__(self, setpoint_c: float, band_c: float) -> None:
        if band_c <= 0:
            raise ValueError("band_c must be > 0")
        self.setpoint_c = setpoint_c
        self.band_c = band_c
        self.on = False

    def update(self, temp_c: float, dt_s: float) -> float:
        """Duty (0 or 1) for this step."""
        if temp_c < self.setpoint_c - self.band_c / 2:
            self.on = True
        elif temp_c > self.setpoint_c + self.band_c / 2:
            self.on = False
        return 1.0 if self.on else 0.0


class Pid:
    """Discrete PID on (setpoint - temp) with output clamp 0..1 and conditional integration
    (the integrator freezes while the output saturates in the direction of the error)."""

    def __init__(self, setpoint_c: float, kp: float, ki: float, kd: float) -> None:
        self.setpoint_c = setpoint_c
        self.kp, self.ki, self.kd = kp, ki, kd
        self.integral = 0.0
        self._last_err: float | None = None

    def update(self, temp_c: float, dt_s: float) -> float:
        """Duty in 0..1 for this step."""
        err = self.setpoint_c - temp_c
        deriv = 0.0 if self._last_err is None or dt_s <= 0 else (err - self._last_err) / dt_s
        self._last_err = err
        raw = self.kp * err + self.ki * self.integral + self.kd * deriv
        saturating = (raw >= 1.0 and err > 0) or (raw <= 0.0 and err < 0)
        if not saturating:
            self.integral += err * dt_s
        return min(1.0, max(0.0, self.kp * err + self.ki * self.integral + self.kd * deriv))
