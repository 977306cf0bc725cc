"""Building an application image: the flight-only wheel, the configuration, the manifest.

The wheel is built with ``pip wheel`` from a copy of this source tree that holds only
``flight``, ``hal`` and ``native`` (no ``ground/``, no rig ``hil/``), with a pyproject whose
dependencies leave out plotting; its C kernels are compiled for this machine (the target).
The built wheel is then checked: no ``ground/`` file and no plotting import in it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flight.boot import (
    MANIFEST_SCHEMA,
    SIGNING_CONTEXT,
    canonical_json,
    key_id,
    pack_image,
    runtime_fingerprint,
)
from ground.image._keys import load_private_key
from native.errors import ConfigError, SatnodeError

__all__ = [
    "DEFAULT_MODEL",
    "FLIGHT_PACKAGES",
    "build_flight_wheel",
    "build_image",
    "check_flight_wheel",
    "check_no_dev_keys",
    "source_root",
]

#: Model name of the reference flight computer (``target init`` and ``image build`` default).
DEFAULT_MODEL = "satnode-fc1"
#: Top-level packages of the flight image.
FLIGHT_PACKAGES = ("flight", "hal", "native")
_PLOTTING = re.compile(rb"^\s*(import|from)\s+(matplotlib|pylab|seaborn|plotly)\b", re.M)
_FLIGHT_DEPS_DROP = ("matplotlib",)


def source_root() -> Path:
    """The satnode source tree this ground tool runs from (holds pyproject.toml)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise SatnodeError(f"{root}: no pyproject.toml; image build needs the source tree")
    return root


def _flight_pyproject(src: Path) -> str:
    meta = tomllib.loads((src / "pyproject.toml").read_text(encoding="utf-8"))
    proj = meta["project"]
    deps = [d for d in proj.get("dependencies", []) if not d.startswith(_FLIGHT_DEPS_DROP)]
    lines = [
        "[build-system]",
        'requires = ["setuptools>=61", "wheel", "cffi>=1.16"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        'name = "satnode"',
        f'version = "{proj["version"]}"',
        'description = "satnode flight image (flight, hal, native)"',
        f'requires-python = "{proj.get("requires-python", ">=3.11")}"',
        "dependencies = [" + ", ".join(json.dumps(d) for d in deps) + "]",
        "",
        "[tool.setuptools.packages.find]",
        "include = [" + ", ".join(f'"{p}*"' for p in FLIGHT_PACKAGES) + "]",
        "",
        "[tool.setuptools.package-data]",
        '"*" = ["py.typed", "*.toml", "csrc/*.c", "csrc/*.h"]',
        "",
    ]
    return "\n".join(lines)


def build_flight_wheel(work: Path, src: Path | None = None) -> Path:
    """Build the flight-only wheel in ``work`` (a fresh folder); returns the wheel path."""
    src = src or source_root()
    tree = work / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "build", "*.egg-info")
    tree.mkdir(parents=True)
    for pkg in FLIGHT_PACKAGES:
        shutil.copytree(src / pkg, tree / pkg, ignore=ignore)
    shutil.copy2(src / "setup.py", tree / "setup.py")
    (tree / "pyproject.toml").write_text(_flight_pyproject(src), encoding="utf-8")
    out = work / "dist"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    cmd += ["-q", "-w", str(out), str(tree)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise SatnodeError("flight wheel build failed: " + " | ".join(tail))
    wheels = sorted(out.glob("satnode-*.whl"))
    if len(wheels) != 1:
        raise SatnodeError(f"flight wheel build produced {len(wheels)} wheels")
    check_flight_wheel(wheels[0])
    return wheels[0]


def check_flight_wheel(wheel: Path) -> None:
    """Refuse a wheel with ground code, the rig, or a plotting import (SatnodeError)."""
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            top = name.split("/", 1)[0]
            if top in ("ground", "hil") or top.startswith("tests"):
                raise SatnodeError(f"{wheel.name}: contains {name} (not flight code)")
            if name.endswith(".py") and _PLOTTING.search(zf.read(name)):
                raise SatnodeError(f"{wheel.name}: {name} imports a plotting library")


def check_no_dev_keys(config: dict[str, Any], label: str) -> None:
    """Refuse a configuration that ships a development key: ``[security] provision`` must be
    empty in a flight image (keys reach a spacecraft through its key store, never an image)."""
    sec = config.get("security")
    if isinstance(sec, dict) and sec.get("provision"):
        raise ConfigError(
            f"{label}: [security] provision = {sec['provision']!r} names a development key "
            "file; a flight image never ships one (leave it empty)"
        )


def build_image(
    *,
    version: int,
    keys: Sequence[str | Path],
    out: str | Path,
    config: str | Path | None = None,
    complete: bool = False,
    models: Sequence[str] = (DEFAULT_MODEL,),
    expires_days: float = 365.0,
    now_utc_s: float,
    wheel: Path | None = None,
    work: Path | None = None,
) -> dict[str, Any]:
    """Build and sign an image; returns its manifest. ``keys``: one or more signing key
    files (k-of-n). ``config``: flight configuration (merged over the default unless
    ``complete``). ``wheel``: a prebuilt flight wheel (else built in ``work``)."""
    import tempfile

    from flight.boot import load_stack_config
    from flight.config import format_config, load_config

    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"--version must be an integer >= 1, got {version!r}")
    if not keys:
        raise ConfigError("at least one --key is needed")
    if not expires_days > 0:
        raise ConfigError(f"--expires-days must be > 0, got {expires_days}")
    signers = [load_private_key(k) for k in keys]
    # The target adds the boot record's NV storage at boot (``[devices.bootnv]``, its
    # directory is the target's): validate with a stand-in, ship without it.
    stand_in = {"devices": {"bootnv": {"family": "storage"}}}
    if config is not None:
        cfg = load_stack_config(Path(config), stand_in, complete)
        label = str(config)
    else:
        cfg = load_config(None)
        label = "default configuration"
    cfg.get("devices", {}).pop("bootnv", None)
    check_no_dev_keys(cfg, label)
    config_bytes = format_config(cfg).encode()
    if wheel is None:
        with tempfile.TemporaryDirectory(dir=work) as tmp:
            built = build_flight_wheel(Path(tmp))
            wheel_bytes = built.read_bytes()
            wheel_name = built.name
    else:
        check_flight_wheel(wheel)
        wheel_bytes = wheel.read_bytes()
        wheel_name = wheel.name
    files = [(wheel_name, "wheel", wheel_bytes), ("config.toml", "config", config_bytes)]
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "version": version,
        "models": list(models),
        "python": ".".join(platform.python_version_tuple()[:2]),
        "platform": f"{sys.platform}_{platform.machine()}",
        "created_utc_s": round(now_utc_s),
        "expires_utc_s": round(now_utc_s + expires_days * 86400.0),
        # the image's configuration is the complete, merged one: what flies is what was signed
        "config_complete": True,
        "runtime": runtime_fingerprint(),
        "files": [
            {"name": n, "role": r, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
            for n, r, b in files
        ],
    }
    message = SIGNING_CONTEXT + canonical_json(manifest)
    sigs = [{"keyid": key_id(k.public_key()), "sig": k.sign(message).hex()} for k in signers]
    data = pack_image(manifest, sigs, b"".join(b for _, _, b in files))
    target = Path(out)
    tmp_out = target.with_name(target.name + ".tmp")
    tmp_out.write_bytes(data)
    tmp_out.replace(target)
    return manifest
