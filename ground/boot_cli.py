"""``satnode image | target | boot | fly`` and ``satnode faults power-cut``.

Wired into :mod:`ground.cli` by :func:`add_boot_parsers` and :func:`add_power_cut_parser`.
Onboard time for the install rules (expiry) is this computer's UTC clock unless ``--now``
gives it (a ground tool may read the clock; on a flight computer it is the onboard time).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from native.errors import ConfigError, SatnodeError

__all__ = ["add_boot_parsers", "add_power_cut_parser"]


def _now(args: argparse.Namespace) -> float:
    now = getattr(args, "now", None)
    return float(now) if now is not None else time.time()


# ------------------------------------------------------------------------------- image
def cmd_image_keygen(args: argparse.Namespace) -> int:
    """Make a signing key and its ``.pub``."""
    from ground.image import keygen

    priv, pub = keygen(args.out)
    print(f"signing key {priv} (keep it secret), public key {pub}")
    return 0


def cmd_image_build(args: argparse.Namespace) -> int:
    """Build and sign an application image."""
    from ground.image import build_image

    manifest = build_image(
        version=args.version,
        keys=args.key,
        out=args.out,
        config=args.config,
        complete=args.complete,
        models=args.model or ["satnode-fc1"],
        expires_days=args.expires_days,
        now_utc_s=_now(args),
        wheel=Path(args.wheel) if args.wheel else None,
    )
    files = ", ".join(f"{f['name']} ({f['size']} B)" for f in manifest["files"])
    print(f"image {args.out}: version {manifest['version']}, {len(args.key)} signature(s); {files}")
    return 0


def _trust_from_args(args: argparse.Namespace) -> tuple[Any, str | None]:
    from flight.boot import TrustPolicy, key_id, open_target
    from ground.image import load_public_key

    if args.target:
        target = open_target(args.target)
        try:
            return target.store.trust(), target.model
        finally:
            target.close()
    if not args.trust:
        raise ConfigError("image verify needs --trust KEY.pub (one or more) or --target DIR")
    keys = [load_public_key(p) for p in args.trust]
    return TrustPolicy({key_id(k): k for k in keys}, args.threshold), args.model


def cmd_image_verify(args: argparse.Namespace) -> int:
    """Verify an image against trusted keys (and a model, and the expiry at ``--now``)."""
    from flight.boot import verify_image

    trust, model = _trust_from_args(args)
    data = _read(args.image)
    image = verify_image(data, trust, model=model, now_utc_s=_now(args))
    m = image.manifest
    print(
        f"{args.image}: OK: version {image.version}, models {', '.join(m['models'])}, "
        f"{len(image.files)} files, signed by {', '.join(image.signers)}, "
        f"expires at UTC {m['expires_utc_s']} s"
    )
    return 0


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SatnodeError(f"{path}: cannot read: {exc.strerror or exc}") from None


def cmd_image_install(args: argparse.Namespace) -> int:
    """Verify an image and install it into the target's inactive slot, then arm it."""
    from flight.boot import open_target

    data = _read(args.image)
    target = open_target(args.target)
    try:
        res = target.store.install(data, now_utc_s=_now(args))
    finally:
        target.close()
    print(
        f"installed version {res.version} into slot {res.slot}; armed: upgrade pending, "
        f"{res.tries} tries"
    )
    return 0


# ------------------------------------------------------------------------------ target
def cmd_target_init(args: argparse.Namespace) -> int:
    """Lay out a target: slots, NV storage, trusted keys, an empty boot record."""
    from flight.boot import TARGET_FILE, BootRecord, default_target_doc, open_target
    from ground.image import load_public_key

    root = Path(args.dir)
    if (root / TARGET_FILE).exists():
        raise ConfigError(f"{root}: already a target")
    if root.exists() and any(root.iterdir()):
        raise ConfigError(f"{root}: not empty")
    keys = [load_public_key(p) for p in args.trust]
    if not 1 <= args.threshold <= len(keys):
        raise ConfigError(f"--threshold {args.threshold} must be in 1..{len(keys)}")
    factory = _read(args.factory) if args.factory else None
    root.mkdir(parents=True, exist_ok=True)
    try:
        doc = default_target_doc(args.model)
        (root / TARGET_FILE).write_text(json.dumps(doc, indent=2) + "\n")
        target = open_target(root)
        try:
            target.store.set_trust(keys, args.threshold)
            target.store.save(BootRecord())
            if factory is not None:
                target.store.install_factory(factory)
        finally:
            target.close()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # a refused init leaves nothing behind
        raise
    print(f"target {root}: model {args.model}, {len(keys)} trusted key(s), k = {args.threshold}")
    return 0


def cmd_target_status(args: argparse.Namespace) -> int:
    """Print the boot record."""
    from flight.boot import open_target

    target = open_target(args.dir, check_runtime=False)
    try:
        rec = target.store.load()
    finally:
        target.close()
    doc = rec.as_dict()
    if args.json:
        print(json.dumps(doc, indent=2))
        return 0
    print(f"active {rec.active}, pending {rec.pending or '-'}, tries left {rec.tries_left}, "
          f"last good {rec.last_good}, floor {rec.floor}, boots {rec.boots}")  # fmt: skip
    for name, s in doc["slots"].items():
        print(f"  slot {name:<8} {s['state']:<10} v{s['version']}")
    for h in doc["history"]:
        note = f" ({h['note']})" if h["note"] else ""
        print(f"  boot {h['boot']:>3}: {h['kind']:<9} {h['slot']} v{h['version']}{note}")
    return 0


# -------------------------------------------------------------------------- boot / fly
def cmd_boot(args: argparse.Namespace) -> int:
    """The boot selector: choose a slot and run its flight stack (module flight.boot)."""
    from flight.boot import boot_target

    out = boot_target(
        args.target,
        duration_s=args.duration,
        speed=args.speed,
        max_boots=args.max_boots,
        on_event=lambda m: print(f"boot: {m}", file=sys.stderr, flush=True),
        timing=Path(args.timing) if args.timing else None,
    )
    return out.exit_code


def cmd_fly(args: argparse.Namespace) -> int:
    """Run the flight stack in real time: a target's booted slot, or a configuration."""
    if args.target:
        from flight.boot import boot_target

        out = boot_target(
            args.target,
            duration_s=args.duration,
            speed=args.speed,
            on_event=lambda m: print(f"fly: {m}", file=sys.stderr, flush=True),
        )
        return out.exit_code
    from flight.boot import run_stack as stack_main

    argv = ["--config", args.config, "--out", args.out, "--duration", repr(args.duration)]
    if args.complete:
        argv.append("--complete")
    argv += ["--speed", repr(args.speed)]
    return stack_main(argv)


# ---------------------------------------------------------------------- power-cut campaign
def cmd_faults_power_cut(args: argparse.Namespace) -> int:
    """Run the power-loss campaign; 0 when every point (and kill) ended bootable."""
    from ground.powercut import run_kill_campaign, run_power_cut_campaign

    image_path = Path(args.image)
    image = _read(args.image)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            sys.stderr.write(f"\r{done}/{total} cut points")
            if done == total:
                sys.stderr.write("\n")

    points = None
    if args.points:
        points = [int(p) for p in args.points.split(",") if p.strip()]
    report = run_power_cut_campaign(
        Path(args.target), image, now_utc_s=_now(args), points=points, progress=progress
    )
    if args.kills:
        run_kill_campaign(
            Path(args.target), image_path, now_utc_s=_now(args), kills=args.kills,
            seed=args.seed, report=report,
        )  # fmt: skip
    print(
        f"power cuts: {report.bootable}/{report.points} points bootable "
        f"({100.0 * report.fraction:.1f} %); points by kind: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report.kinds.items()))
    )
    if args.kills:
        print(f"process kills: {report.kills_bootable}/{report.kills} bootable")
    for f in report.failures[:10]:
        print(f"  not bootable: {f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_dict(), indent=2) + "\n")
    return 0 if report.passed else 1


def add_power_cut_parser(kinds: Any) -> argparse.ArgumentParser:
    """Add ``power-cut`` to the ``satnode faults`` campaign parsers."""
    pc: argparse.ArgumentParser = kinds.add_parser(
        "power-cut", help="cut power at every write/fsync point of an update and reboot"
    )
    pc.add_argument("--target", required=True, help="target directory (copied, never changed)")
    pc.add_argument("--image", required=True, help="the image the update installs")
    pc.add_argument("--json", help="write the report to this JSON file")
    pc.add_argument("--points", help="only these cut points (comma-separated indices)")
    pc.add_argument("--kills", type=int, default=0, help="also kill real processes N times")
    pc.add_argument("--seed", type=int, default=1, help="seed of the kill moments")
    pc.add_argument("--now", type=float, help="onboard UTC (s) for the install rules")
    pc.set_defaults(func=cmd_faults_power_cut)
    return pc


def add_boot_parsers(sub: Any) -> None:
    """Add ``image``, ``target``, ``boot`` and ``fly`` to the ``satnode`` sub-commands."""
    image = sub.add_parser(
        "image", help="signed application images: keygen, build, verify, install"
    )
    isub = image.add_subparsers(dest="image_command", required=True)
    kg = isub.add_parser("keygen", help="make a signing key (and KEY.pub)")
    kg.add_argument("--out", required=True, help="private key file (KEY.pub is written too)")
    kg.set_defaults(func=cmd_image_keygen)
    b = isub.add_parser("build", help="build and sign an application image")
    b.add_argument("--version", type=int, required=True, help="monotonic image version (>= 1)")
    b.add_argument("--key", action="append", required=True, help="signing key (repeat: k of n)")
    b.add_argument("--config", help="flight configuration (merged over the default)")
    b.add_argument("--complete", action="store_true", help="--config is a complete configuration")
    b.add_argument("--model", action="append", help="compatible target model (repeatable)")
    b.add_argument("--expires-days", type=float, default=365.0, help="validity (default 365)")
    b.add_argument("--wheel", help="use this prebuilt flight wheel")
    b.add_argument("--now", type=float, help="UTC (s) of the build (default: the clock)")
    b.add_argument("--out", required=True, help="image file")
    b.set_defaults(func=cmd_image_build)
    v = isub.add_parser("verify", help="check signatures, hashes, model and expiry")
    v.add_argument("image")
    v.add_argument("--trust", action="append", help="trusted public key (repeatable)")
    v.add_argument("--threshold", type=int, default=1, help="signatures required (k)")
    v.add_argument("--model", help="target model to check against")
    v.add_argument("--target", help="verify against this target's keys and model")
    v.add_argument("--now", type=float, help="onboard UTC (s) for the expiry")
    v.set_defaults(func=cmd_image_verify)
    ins = isub.add_parser("install", help="verify, write the inactive slot, verify, arm")
    ins.add_argument("image")
    ins.add_argument("--target", required=True)
    ins.add_argument("--now", type=float, help="onboard UTC (s) for the expiry")
    ins.set_defaults(func=cmd_image_install)

    target = sub.add_parser("target", help="a flight computer's storage: init, status")
    tsub = target.add_subparsers(dest="target_command", required=True)
    ti = tsub.add_parser("init", help="lay out slots A, B, factory and NV storage")
    ti.add_argument("dir")
    ti.add_argument("--trust", action="append", required=True, help="trusted public key")
    ti.add_argument("--threshold", type=int, default=1, help="signatures required (k)")
    ti.add_argument("--model", default="satnode-fc1", help="target model")
    ti.add_argument("--factory", help="image written into the factory slot")
    ti.set_defaults(func=cmd_target_init)
    ts = tsub.add_parser("status", help="print the boot record")
    ts.add_argument("dir")
    ts.add_argument("--json", action="store_true")
    ts.set_defaults(func=cmd_target_status)

    boot = sub.add_parser("boot", help="the boot selector: choose a slot, run its flight stack")
    boot.add_argument("--target", required=True)
    boot.add_argument("--duration", type=float, required=True, help="onboard seconds per run")
    boot.add_argument("--speed", type=float, help="pacing (default: as fast as possible)")
    boot.add_argument("--max-boots", type=int, default=8, help="give up after N boots")
    boot.add_argument("--timing", help="write the cold-start stamps of the last stack here")
    boot.set_defaults(func=cmd_boot)

    fly = sub.add_parser("fly", help="run the flight stack in real time (target or config)")
    src = fly.add_mutually_exclusive_group(required=True)
    src.add_argument("--target", help="boot this target")
    src.add_argument("--config", help="run this configuration from the installed package")
    fly.add_argument("--complete", action="store_true", help="--config is complete")
    fly.add_argument("--duration", type=float, required=True, help="seconds to run")
    fly.add_argument("--out", default="satnode-fly", help="output folder (with --config)")
    fly.add_argument("--speed", type=float, default=1.0, help="pacing (default 1: real time)")
    fly.set_defaults(func=cmd_fly)
