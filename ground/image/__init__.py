"""Ground tools of the deployment image: signing keys and image building.

Verification and installation are onboard code (:mod:`flight.boot`); the ``satnode image``,
``target``, ``boot`` and ``fly`` commands live in :mod:`ground.boot_cli`.
"""

from ground.image._build import (
    DEFAULT_MODEL,
    FLIGHT_PACKAGES,
    build_flight_wheel,
    build_image,
    check_flight_wheel,
    check_no_dev_keys,
    source_root,
)
from ground.image._keys import keygen, load_private_key, load_public_key

__all__ = [
    "DEFAULT_MODEL",
    "FLIGHT_PACKAGES",
    "build_flight_wheel",
    "build_image",
    "check_flight_wheel",
    "check_no_dev_keys",
    "keygen",
    "load_private_key",
    "load_public_key",
    "source_root",
]
