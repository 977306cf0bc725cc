"""Catalogue parsing (TLE + STATE), SGP4 propagation and rejection of malformed input."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight.gnc import OrbitPropagator, parse_catalogue, tle_checksum
from native.errors import ConfigError

# ISS TLE as printed in the sgp4 package documentation (public, CelesTrak).
ISS = (
    "ISS (ZARYA)\n"
    "1 25544U 98067A   19343.69339541  .00001764  00000-0  38792-4 0  9991\n"
    "2 25544  51.6439 211.2001 0007417  17.6667  85.6398 15.50103472202482\n"
)
STATE = "STATE deb-1 2025-06-01T00:00:00Z 6928137.0 0 0 0 4564.6 6058.2 30 120 30\n"


def test_tle_matches_sgp4_directly() -> None:
    from sgp4.api import Satrec

    cat = parse_catalogue(ISS)
    assert len(cat) == 1 and cat.objects[0].name == "ISS (ZARYA)"
    sat = Satrec.twoline2rv(*ISS.splitlines()[1:])
    jd, fr = 2458826.5, 0.25
    utc = np.array([round(((jd - 2440587.5) + fr) * 86400e9)], dtype=np.int64)
    states = cat.states(utc)
    _, r, v = sat.sgp4(jd, fr)
    assert np.allclose(states[0, 0, :3], np.array(r) * 1e3, atol=1e-3)
    assert np.allclose(states[0, 0, 3:], np.array(v) * 1e3, atol=1e-6)


def test_checksum_of_known_lines() -> None:
    for line in ISS.splitlines()[1:]:
        assert tle_checksum(line) == int(line[68])


def test_state_object_propagates_with_the_onboard_propagator() -> None:
    cat = parse_catalogue(STATE)
    obj = cat.objects[0]
    assert obj.sigma_rtn_m == (30.0, 120.0, 30.0)
    utc = obj.epoch_utc_ns + np.array([0, 600_000_000_000, 1_200_000_000_000], dtype=np.int64)
    got = cat.states(utc)[0]
    ref = OrbitPropagator().trajectory(np.array(obj.state), np.array([0.0, 600.0, 1200.0]))
    assert np.allclose(got, ref)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (ISS.replace("9991", "9992"), "checksum"),
        (ISS.replace("  9991", " 9991"), "characters"),
        ("\n".join(ISS.splitlines()[0:2]), "not followed by line 2"),
        (ISS.splitlines()[2], "without line 1"),
        (
            ISS.replace("2 25544  51", "2 25545  51").replace("202482", "202483"),
            "catalogue numbers differ",
        ),
        (STATE.replace("6928137.0", "6000.0"), "radius"),
        (STATE.replace("4564.6", "nan"), "finite"),
        (STATE.replace(" 30 120 30", " 30 120"), "STATE needs"),
        (STATE.replace("2025-06-01T00:00:00Z", "yesterday"), "UTC epoch"),
        (STATE + STATE, "duplicate"),
        ("# only a comment\n", "no objects"),
        ("this is not a catalogue line at all, is it", "unrecognised"),
    ],
)
def test_malformed_catalogues_are_rejected_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_catalogue(text, source="blob")


@settings(deadline=None, max_examples=60)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.just("\n"), max_size=300
    )
)
def test_fuzzed_text_is_parsed_or_rejected_cleanly(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_catalogue(text)  # anything else raised fails the test
