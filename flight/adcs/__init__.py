"""Attitude: the application that makes SAFE point at the Sun.

FDIR's mode manager publishes :class:`~flight.messages.AttitudeRequest` ('sun' on entering
SAFE, 'nadir' on entering NOMINAL); the ``adcs`` component (id 24) consumes it, commands the
HAL attitude unit (:class:`hal.attitude.AttitudeControl`) and publishes
:class:`~flight.messages.AttitudeStatus` every step. The ground points the spacecraft with
PUS-8 commands (``set_mode``, ``point_inertial``, ``point_target``).

``[adcs]`` keys: ``attitude`` (device name, "attitude"), ``rate_hz`` (1.0).
"""

from flight.adcs._app import AdcsApp, install
from flight.adcs._component import MODE_CODES, AdcsComponent
from flight.adcs._config import Config, parse_config

__all__ = ["MODE_CODES", "AdcsApp", "AdcsComponent", "Config", "install", "parse_config"]
