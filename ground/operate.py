"""``satnode ground``: command a running node and watch its telemetry from a terminal.

Wired into :mod:`ground.cli` by :func:`add_ground_parser`. Every subcommand talks to one node
through a :class:`ground.commander.Commander`, located either by a run folder or by addresses:

``--run DIR``
    the ``--out`` folder of a running ``satnode sim``: the uplink and downlink addresses from
    its ``run.json``, the dictionary from its ``dictionary.json`` when there is one;
``--uplink HOST:PORT --downlink HOST:PORT``
    explicit addresses (the downlink is the address the node sends its TM to; this tool binds
    it). The dictionary then comes from ``--dictionary FILE`` (``satnode dict`` output) or is
    built from ``--config FILE`` (default: the embedded configuration).

Subcommands::

    satnode ground ping
    satnode ground send COMPONENT.COMMAND [NAME=VALUE ...]
    satnode ground listen [--count N | --duration S]
    satnode ground params get COMPONENT.PARAM
    satnode ground params set COMPONENT.PARAM VALUE
    satnode ground keys inventory | otar KEY_ID... | activate KEY_ID... | deactivate KEY_ID...
    satnode ground sa status|start|stop SPI | rekey SPI KEY_ID

Key changes (``keys otar|activate|deactivate``, ``sa rekey``) are armed first (TC[8,128] and
``security.arm_key_change``) and sent under the management SA; the run's ground key file
follows only what the node reports done. Key material is never printed.

``--timeout S`` is in onboard seconds (the time stamped in the node's TM, not the wall clock;
default 30); ``--wall-cap S`` is the longest wall-clock silence tolerated before giving up on
a node that sends nothing (default 60).

Exit status: 0 success; 1 the node refused or failed the request (the failure code is
printed); 2 an error (bad name or value, refused locally before anything is sent; no answer
in time; no link), reported in one line.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flight.security import EP_SERVICE as EP_REPORT_SERVICE
from flight.security import load_key_file
from flight.tmtc import KEY_LEN
from ground.commander import (
    DEFAULT_TIMEOUT_S,
    DEFAULT_WALL_CAP_S,
    CommandArgumentError,
    Commander,
    CommanderError,
    CommandResult,
    dictionary_for_config,
    format_value,
    parse_address,
    parse_value,
)
from ground.uplink import (
    SecureUplink,
    add_keys,
    key_activation_pdu,
    key_deactivation_pdu,
    key_inventory_pdu,
    otar_pdu,
    sa_rekey_pdu,
    sa_start_pdu,
    sa_status_pdu,
    sa_stop_pdu,
    set_ground_binding,
)

__all__ = ["add_ground_parser", "open_commander"]

_MAX_UNDECODABLE_WARNINGS = 5


def _load_json_dictionary(path: str) -> dict[str, Any]:
    import json

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommanderError(f"--dictionary {path}: cannot read: {exc}") from None
    if not isinstance(doc, dict):
        raise CommanderError(f"--dictionary {path}: not a JSON object")
    return doc


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _warn_undecodable() -> Any:
    count = 0

    def warn(reason: str) -> None:
        nonlocal count
        count += 1
        if count <= _MAX_UNDECODABLE_WARNINGS:
            print(f"satnode ground: warning: undecodable {reason}", file=sys.stderr)
            if count == _MAX_UNDECODABLE_WARNINGS:
                print("satnode ground: warning: (further ones not shown)", file=sys.stderr)

    return warn


def open_commander(args: argparse.Namespace, *, need_uplink: bool) -> Commander:
    """The :class:`Commander` the common options of ``args`` describe (see the module)."""
    if args.run is not None and (args.uplink is not None or args.downlink is not None):
        raise CommanderError("give either --run DIR or --uplink/--downlink addresses, not both")
    if args.dictionary is not None and args.config is not None:
        raise CommanderError("give either --dictionary FILE or --config FILE, not both")
    # addresses first: a typo is reported before the dictionary is read or built
    for what in ("uplink", "downlink"):
        if getattr(args, what) is not None:
            parse_address(getattr(args, what), f"--{what}")
    dictionary = _load_json_dictionary(args.dictionary) if args.dictionary else None
    options: dict[str, Any] = {
        "timeout_s": args.timeout,
        "wall_cap_s": args.wall_cap,
        "on_undecodable": _warn_undecodable(),
    }
    if args.run is not None:
        commander = Commander.from_run(
            args.run, dictionary=dictionary, config=args.config, **options
        )
        if need_uplink and commander.uplink_address is None:
            commander.close()
            raise CommanderError(
                f"{args.run}/run.json: the run has no uplink (start `satnode sim` with "
                "--uplink-port PORT, or 0 for any free port)"
            )
        return commander
    if args.downlink is None:
        raise CommanderError(
            "where is the node? give --run DIR (a running `satnode sim --out DIR`), or "
            "--downlink HOST:PORT" + (" and --uplink HOST:PORT" if need_uplink else "")
        )
    if need_uplink and args.uplink is None:
        raise CommanderError("--uplink HOST:PORT is needed to send telecommands")
    if dictionary is None:
        dictionary = dictionary_for_config(args.config)
    return Commander(dictionary, uplink=args.uplink, downlink=args.downlink, **options)


def _stage_lines(result: CommandResult) -> list[str]:
    lines = []

    def at(ns: int | None) -> str:
        return "" if ns is None else f" at {ns / 1e9:.3f} s onboard"

    if result.accepted is not None:
        lines.append(f"  accepted{at(result.time_of(result.accepted))}")
    if result.completed is not None:
        lines.append(f"  completed{at(result.time_of(result.completed))}")
    failure = result.failure
    if failure is not None:
        why = result.explanation()
        lines.append(
            f"  FAILED {failure.stage.name.lower()}{at(result.time_of(failure))}: "
            f"{failure.failure} ({failure.failure_code})" + (f": {why}" if why else "")
        )
    return lines


def _report(result: CommandResult, header: str) -> int:
    print(header)
    for line in _stage_lines(result):
        print(line)
    return 0 if result.ok else 1


# -- subcommands -------------------------------------------------------------------------------
def cmd_ping(args: argparse.Namespace) -> int:
    """TC[17,1]; print the alive report and the verification."""
    with open_commander(args, need_uplink=True) as commander:
        result = commander.ping()
        code = _report(result, f"ping (TC[17,1], request {result.request.request_id:#010x})")
        for alive in result.reports(17, 2):
            print(f"alive: TM[17,2] at {alive.onboard_s:.3f} s onboard")
        return code


def _command_args(commander: Commander, target: str, pairs: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` words -> arguments typed by the dictionary entry of ``target``."""
    types = {str(a["name"]): str(a["type"]) for a in commander.command(target)["args"]}
    values: dict[str, Any] = {}
    for pair in pairs:
        name, eq, text = pair.partition("=")
        if not eq or not name:
            raise CommandArgumentError(f"{target}: expected NAME=VALUE, got {pair!r}")
        if name in values:
            raise CommandArgumentError(f"{target}: {name} given twice")
        if name not in types:
            values[name] = text  # the encoder names the unknown argument and the known ones
            continue
        values[name] = parse_value(text, types[name], f"{target}: {name}")
    return values


def _format_args(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={format_value(v)}" for k, v in values.items())


def cmd_send(args: argparse.Namespace) -> int:
    """Build TC[8,1] from the dictionary, send it, print its acceptance and completion."""
    with open_commander(args, need_uplink=True) as commander:
        values = _command_args(commander, args.target, args.arguments)
        commander.encode_command(args.target, values)  # every check, before anything is sent
        if args.arm:
            armed = commander.arm(args.target)  # TC[8,128]: a hazardous command's arming
            if not armed.ok:
                return _report(armed, f"arm {args.target} (TC[8,128])")
            print(f"armed {args.target} (TC[8,128], request {armed.request.request_id:#010x})")
        result = commander.send_and_await(args.target, values)
        text = " ".join(filter(None, (args.target, _format_args(values))))
        return _report(
            result,
            f"sent {text} (TC[8,1], seq {result.request.seq_count}, "
            f"request {result.request.request_id:#010x})",
        )


def cmd_listen(args: argparse.Namespace) -> int:
    """Print live TM, decoded by name, one line per packet."""
    with open_commander(args, need_uplink=False) as commander:
        for tm in commander.stream(count=args.count, duration_s=args.duration):
            print(commander.describe(tm), flush=True)
    return 0


def cmd_params_get(args: argparse.Namespace) -> int:
    """TC[20,1]: print the parameter's current value."""
    with open_commander(args, need_uplink=True) as commander:
        value = commander.get_param(args.name)
        unit = str(commander.parameter(args.name)["unit"])
        text = format_value(value.value, value.type)
        print(f"{args.name} = {text}" + ("" if unit in ("", "1") else f" {unit}"))
    return 0


def cmd_params_set(args: argparse.Namespace) -> int:
    """TC[20,3]: set the parameter; print the verification."""
    with open_commander(args, need_uplink=True) as commander:
        p = commander.parameter(args.name)
        value = parse_value(args.value, str(p["type"]), args.name)
        result = commander.set_param(args.name, value)
        return _report(
            result, f"set {args.name} = {format_value(value, str(p['type']))} (TC[20,3])"
        )


# -- keys and security associations (SDLS extended procedures) ---------------------------------
def _management(args: argparse.Namespace, pdus: bytes, what: str) -> int:
    """Send ``pdus`` under the management SA and print the node's TM[150,x] reply."""
    with open_commander(args, need_uplink=True) as commander:
        mark = commander.send_management(pdus)
        reply = commander.await_tm(lambda tm: tm.service == EP_REPORT_SERVICE, since=mark)
        ok = reply.subtype == 1
        print(f"{what}: {'done' if ok else 'refused'}: {reply}")
        return 0 if ok else 1


def cmd_keys_inventory(args: argparse.Namespace) -> int:
    """Key inventory (ids and states; never key material)."""
    return _management(args, key_inventory_pdu(), "key inventory")


def cmd_sa(args: argparse.Namespace) -> int:
    """SA status, start or stop."""
    build = {"status": sa_status_pdu, "start": sa_start_pdu, "stop": sa_stop_pdu}[args.sa_action]
    return _management(args, build(args.spi), f"SA {args.spi} {args.sa_action}")


def _key_file(commander: Commander) -> Path:
    codec = commander.uplink_codec
    if not isinstance(codec, SecureUplink):
        raise CommanderError("key and SA management needs the run's key file (--run DIR)")
    return codec.key_file


def _key_change(
    args: argparse.Namespace,
    what: str,
    build: Callable[[Path], bytes],
    follow: Callable[[Path], None],
) -> int:
    """A key change (OTAR, key activation/deactivation, SA rekey): armed first (TC[8,128],
    then ``security.arm_key_change``), then ``build(key_file)``'s PDUs go under the management
    SA; only when the node reports success does ``follow(key_file)`` update the ground key
    file, so that it never claims a change the node refused."""
    with open_commander(args, need_uplink=True) as commander:
        key_file = _key_file(commander)
        pdus = build(key_file)  # local refusals (a taken key id...) before anything is sent
        armed = commander.arm("security.arm_key_change")
        if not armed.ok:
            return _report(armed, "arm security.arm_key_change (TC[8,128])")
        opened = commander.send_and_await("security.arm_key_change")
        if not opened.ok:
            return _report(opened, "security.arm_key_change")
        mark = commander.send_management(pdus)
        reply = commander.await_tm(lambda tm: tm.service == EP_REPORT_SERVICE, since=mark)
        if reply.subtype != 1:
            print(f"{what}: refused: {reply}")
            return 1
        follow(key_file)
        print(f"{what}: done: {reply}")
        return 0


def cmd_sa_rekey(args: argparse.Namespace) -> int:
    """Rekey an SA to a key the node holds (an armed key change); on success the ground key
    file follows: the SA's binding, and its counter restarted (the PDU sets the node's last
    accepted counter to 0, so the next frame carries 1)."""
    spi, kid = args.spi, args.key_id
    return _key_change(
        args,
        f"SA {spi} rekey to key {kid}",
        lambda _kf: sa_rekey_pdu(spi, kid, 0),
        lambda kf: set_ground_binding(kf, sa=(spi, kid, 1)),
    )


def cmd_keys_otar(args: argparse.Namespace) -> int:
    """Over-the-air rekeying: fresh random keys for ``args.key_ids``, wrapped under the
    management key (armed key change); the node stores them pre-active, and on success the
    ground key file records them. The key material is never printed."""
    ids: list[int] = args.key_ids
    if len(set(ids)) != len(ids):
        raise CommanderError(f"key ids {ids}: each id once")
    keys = {kid: secrets.token_bytes(KEY_LEN) for kid in ids}

    def build(key_file: Path) -> bytes:
        taken = sorted({kid for kid, _s, _m in load_key_file(key_file)["keys"]} & set(ids))
        if taken:
            raise CommanderError(f"{key_file}: key id(s) {taken} already exist")
        return otar_pdu(key_file, keys)

    return _key_change(args, f"OTAR of key(s) {ids}", build, lambda kf: add_keys(kf, keys))


def cmd_keys_state(args: argparse.Namespace) -> int:
    """Key activation (pre-active -> active) or deactivation (active -> deactivated) of
    ``args.key_ids`` (armed key change); on success the ground key file follows."""
    ids: list[int] = args.key_ids
    build, state = {
        "activate": (key_activation_pdu, "active"),
        "deactivate": (key_deactivation_pdu, "deactivated"),
    }[args.key_action]
    return _key_change(
        args,
        f"key(s) {ids} {args.key_action}",
        lambda _kf: build(ids),
        lambda kf: set_ground_binding(kf, key_states=dict.fromkeys(ids, state)),
    )


def _key_id(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a key id") from None
    if not 1 <= value <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"key id {value} is outside 1..65535")
    return value


def _add_security_parsers(actions: Any, common: argparse.ArgumentParser) -> None:
    keys = actions.add_parser(
        "keys", help="the onboard key store: inventory, otar, activate, deactivate"
    )
    key_actions = keys.add_subparsers(dest="keys_command", required=True)
    inventory = key_actions.add_parser(
        "inventory", parents=[common], help="key ids and states (never key material)"
    )
    inventory.set_defaults(func=cmd_keys_inventory)
    otar = key_actions.add_parser(
        "otar",
        parents=[common],
        help="load fresh random keys, stored pre-active (armed key change; the ground key "
        "file records them)",
    )
    otar.add_argument("key_ids", type=_key_id, nargs="+", metavar="KEY_ID", help="new key ids")
    otar.set_defaults(func=cmd_keys_otar)
    for action, change in (("activate", "pre-active -> active"),
                           ("deactivate", "active -> deactivated")):  # fmt: skip
        p = key_actions.add_parser(action, parents=[common], help=f"{change} (armed key change)")
        p.add_argument("key_ids", type=_key_id, nargs="+", metavar="KEY_ID", help="key ids")
        p.set_defaults(func=cmd_keys_state, key_action=action)
    sa = actions.add_parser("sa", help="security associations: status, start, stop, rekey")
    sa_actions = sa.add_subparsers(dest="sa_command", required=True)
    for action in ("status", "start", "stop"):
        p = sa_actions.add_parser(action, parents=[common], help=f"SA {action}")
        p.add_argument("spi", type=int, help="security parameter index")
        p.set_defaults(func=cmd_sa, sa_action=action)
    rekey = sa_actions.add_parser(
        "rekey", parents=[common], help="bind an SA to another active key (armed key change)"
    )
    rekey.add_argument("spi", type=int, help="security parameter index")
    rekey.add_argument("key_id", type=int, help="id of an active key in the onboard store")
    rekey.set_defaults(func=cmd_sa_rekey)


# -- parser ------------------------------------------------------------------------------------
def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("node")
    where.add_argument("--run", metavar="DIR", help="the --out folder of a running satnode sim")
    where.add_argument("--uplink", metavar="HOST:PORT", help="the node's telecommand address")
    where.add_argument(
        "--downlink", metavar="HOST:PORT", help="the address the node sends its TM to (bound here)"
    )
    where.add_argument(
        "--dictionary", metavar="FILE", help="the node's dictionary (satnode dict output)"
    )
    where.add_argument(
        "--config", metavar="FILE", help="build the dictionary from this configuration"
    )
    timing = common.add_argument_group("timing")
    timing.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"wait for reports this long in ONBOARD seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    timing.add_argument(
        "--wall-cap",
        type=_seconds,
        default=DEFAULT_WALL_CAP_S,
        metavar="S",
        help="give up after this many wall-clock seconds without any telemetry "
        f"(default {DEFAULT_WALL_CAP_S:g})",
    )
    return common


def add_ground_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``ground`` (ping, send, listen, params) to the ``satnode`` sub-command parsers."""
    common = _common()
    ground: argparse.ArgumentParser = subparsers.add_parser(
        "ground",
        help="command a running node and watch its telemetry (ping, send, listen, params)",
        description="Command a running node and watch its telemetry, by name from its "
        "dictionary. Locate the node with --run DIR (a `satnode sim --out DIR`) or with "
        "--uplink/--downlink addresses. Exit 0 on success, 1 when the node refuses or fails "
        "a request, 2 on errors (bad name or value, timeout).",
    )
    actions = ground.add_subparsers(dest="ground_command", required=True)

    ping = actions.add_parser("ping", parents=[common], help="TC[17,1] are-you-alive")
    ping.set_defaults(func=cmd_ping)

    send = actions.add_parser(
        "send",
        parents=[common],
        help="send a command by name and wait for its acceptance and completion",
    )
    send.add_argument("target", metavar="COMPONENT.COMMAND", help="e.g. power.set_soc")
    send.add_argument(
        "arguments",
        nargs="*",
        metavar="NAME=VALUE",
        help="the command's arguments, e.g. soc_frac=0.5",
    )
    send.add_argument(
        "--arm",
        action="store_true",
        help="arm it first with TC[8,128] (hazardous commands: the dictionary marks them)",
    )
    send.set_defaults(func=cmd_send)

    listen = actions.add_parser(
        "listen", parents=[common], help="print live telemetry decoded by name"
    )
    bound = listen.add_mutually_exclusive_group()
    bound.add_argument("--count", type=_count, metavar="N", help="stop after N packets")
    bound.add_argument(
        "--duration",
        type=_seconds,
        metavar="S",
        help="stop after S seconds of ONBOARD time from the first packet",
    )
    listen.set_defaults(func=cmd_listen)

    params = actions.add_parser("params", help="read or set onboard parameters (PUS-20)")
    params_actions = params.add_subparsers(dest="params_command", required=True)
    get = params_actions.add_parser("get", parents=[common], help="print a parameter's value")
    get.add_argument("name", metavar="COMPONENT.PARAM")
    get.set_defaults(func=cmd_params_get)
    put = params_actions.add_parser("set", parents=[common], help="set a parameter")
    put.add_argument("name", metavar="COMPONENT.PARAM")
    put.add_argument("value", metavar="VALUE")
    put.set_defaults(func=cmd_params_set)
    from ground.filexfer import add_upload_parser  # image uplink over CFDP (issue 17)

    add_upload_parser(actions, common)
    _add_security_parsers(actions, common)
    return ground
