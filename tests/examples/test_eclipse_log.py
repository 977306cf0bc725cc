"""The README's "Write your own application" example, installed and run as the README says.

The worked example (examples/eclipse_log) is one package plus one registry line. Oracles: the
eclipse fraction of a circular 550 km orbit at beta = 0 (closed form, REFERENCE.md: 0.372),
which over a whole number of orbits does not depend on the starting phase, and one eclipse
entry per orbit.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from spacepackets.ecss import PusTc

from flight.apps import APPLICATIONS
from flight.core import AppSpec, ConfigError
from flight.testing import build_node, node_config
from ground.dictionary import build_dictionary

ROOT = Path(__file__).resolve().parents[2]
ORBIT_S = 5739.0  # Kepler period at 550 km
RAAN_BETA0_DEG = 51.5  # beta ~ 0 at the default epoch for i = 53 deg
ECLIPSE_FRACTION_BETA0 = 0.372  # REFERENCE.md, cylindrical shadow at 550 km
FRACTION_TOL = 0.006  # one 1 s step per eclipse edge over 3 orbits, plus the conical penumbra
EXAMPLE = AppSpec(
    "eclipse_log",
    "eclipse_log",
    components=(("eclipse_log", 90),),
    consumes=("PowerStatus",),
)


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> tuple[AppSpec, ...]:
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    return (*APPLICATIONS, EXAMPLE)


def test_example_app_installs_and_counts_eclipses(
    tmp_path: Path, registry: tuple[AppSpec, ...]
) -> None:
    cfg = node_config(
        {"world": {"orbit": {"raan_deg": RAAN_BETA0_DEG}}, "eclipse_log": {"rate_hz": 1.0}},
        apps=["power"],
    )
    node = build_node(tmp_path, cfg, applications=registry)
    try:
        assert node.executive.run_order.index("power") < node.executive.run_order.index(
            "eclipse_log"
        )
        summary = node.run(3 * ORBIT_S)
    finally:
        node.close()
    log = summary["eclipse_log"]
    assert log["eclipses"] in (2, 3)
    fraction = log["eclipse_s"] / (log["eclipse_s"] + log["sunlit_s"])
    assert fraction == pytest.approx(ECLIPSE_FRACTION_BETA0, abs=FRACTION_TOL)


def test_example_app_reaches_the_dictionary_and_pus8(
    tmp_path: Path, registry: tuple[AppSpec, ...]
) -> None:
    cfg = node_config({"eclipse_log": {}}, apps=["power"])
    node = build_node(tmp_path, cfg, applications=registry)
    try:
        d = build_dictionary(node.executive, node.tmtc)
        hk = {h["component"]: h for h in d["housekeeping"]}
        assert [f["name"] for f in hk["eclipse_log"]["fields"]] == [
            "eclipses",
            "sunlit_s",
            "eclipse_s",
        ]
        node.run(10.0)
        comp = node.executive.by_name("eclipse_log")
        assert comp is not None and comp.hk.sunlit_s + comp.hk.eclipse_s > 0
        function_id = (90 << 8) | 1
        tc = PusTc(8, 1, apid=node.tmtc.apid, app_data=struct.pack(">H", function_id))
        node.tmtc.process(tc.pack())
        node.run(1.0)
        assert comp.hk.sunlit_s + comp.hk.eclipse_s <= 1.0 + 1e-9  # reset, then one step
    finally:
        node.close()


def test_bad_section_names_the_key(tmp_path: Path, registry: tuple[AppSpec, ...]) -> None:
    cfg = node_config({"eclipse_log": {"rate_hz": 0.0}}, apps=["power"])
    with pytest.raises(ConfigError, match=r"eclipse_log.*rate_hz"):
        build_node(tmp_path, cfg, applications=registry)


def test_id_clash_with_the_registry_is_refused(tmp_path: Path) -> None:
    clash = AppSpec("eclipse_log", "eclipse_log", components=(("eclipse_log", 20),))
    cfg = node_config({"eclipse_log": {}}, apps=["power"])
    with pytest.raises(ConfigError, match="component id 20"):
        build_node(tmp_path, cfg, applications=(*APPLICATIONS, clash))
