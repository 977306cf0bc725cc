"""One typed schema for every configuration section (node, executive, world, each app).

A *section* is a dataclass whose fields carry their rules. :func:`setting` builds such a
field; :func:`parse` turns a TOML table into the dataclass, checking everything on the way;
:func:`describe` lists the keys for the dictionary and the README; :func:`merge` lays a
user's tables over the defaults. It lives in ``native`` (the bottom layer, which imports
nothing of the project) so that ``hal`` and ``flight`` can both use it.

Writing a section::

    @dataclass(slots=True)
    class PowerConfig:
        '''The ``[power]`` section.'''

        capacity_ah: float = setting(60.0, lo=0, lo_open=True, hi=10000, units="Ah",
                                     doc="battery capacity")
        shed_rails: list[str] = setting(["compute"], doc="rails shed at level 1")
        zones: tuple[ZoneConfig, ...] = setting((), doc="[[power.zones]] entries")

        def validate(self) -> None:          # optional: relations between fields
            if self.capacity_ah > 5000 and not self.shed_rails:
                raise ConfigError("shed_rails: needed above 5000 Ah")

    cfg = parse(PowerConfig, table, "power")

What :func:`parse` checks, in this order, for each level of nesting:

- the value is a table; every key is a field (unknown keys are listed with the allowed ones);
  a field without a default is required;
- the type from the annotation: ``bool``; ``int`` (rejects bool and float); ``float`` (accepts
  int, rejects bool and str); ``str``; an :class:`enum.Enum` (by value); ``X | None`` (None
  only as the default: TOML has no null); ``list[X]``, ``tuple[X, ...]`` and fixed
  ``tuple[X, Y]``; ``dict[str, X]`` (a table of named values); a nested section dataclass
  (a sub-table); ``tuple[Entry, ...]`` / ``list[Entry]`` of section dataclasses (an array of
  tables; entries that have a ``name`` field must have unique names);
- every float is finite (no NaN, no +-inf), anywhere, always;
- ranges (``lo``/``hi``, open or closed) and ``choices``, applied to a scalar or to every
  element of an array or table of scalars; lengths (``length``, ``min_len``, ``max_len``) of
  strings, arrays and tables;
- relations: after construction, the dataclass's ``validate(self)`` method if it has one.
  It raises ``ConfigError("<key>: <problem>")``; :func:`parse` prefixes the section.

Every error is one line naming the section and the key and saying what is allowed::

    [power] capacity_ah: expected a number in (0, 10000] (Ah), got 'sixty'
    [power] capcity_ah: unknown key (allowed: array, battery, capacity_ah, ...)
    [thermal.zones[battery]] min_c: expected a number in [-273.15, 1000] (C), got nan

(the configuration loader puts the file name in front). Array entries are shown by their
``name`` when they have one, otherwise by index (``[world.thermal.surfaces[3]]``).

Arrays of tables and tables of named tables merge by name (:func:`merge`): see its docstring,
which is the rule the README documents.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

from native.errors import ConfigError

__all__ = [
    "REPLACE_SUFFIX",
    "KeyDoc",
    "Rule",
    "describe",
    "is_section",
    "merge",
    "metadata",
    "parse",
    "rule_of",
    "setting",
    "to_table",
]

C = TypeVar("C")

#: Metadata key under which :func:`setting` stores a field's :class:`Rule`.
_META = "satnode.schema"

#: ``<array>_replace = true`` next to an array of tables replaces the whole default array.
REPLACE_SUFFIX = "_replace"

_REPR_MAX = 60


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """The rules of one key (see :func:`setting`)."""

    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[Any, ...] | None = None
    units: str = ""
    doc: str = ""
    length: int | None = None
    min_len: int | None = None
    max_len: int | None = None

    def range_text(self) -> str:
        """The allowed range as text: ``(0, 10000]``, ``> 0``, ``<= 5`` or ``""``."""
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return f"{'(' if self.lo_open else '['}{_num(lo)}, {_num(hi)}{')' if self.hi_open else ']'}"
        if lo is not None:
            return f"{'>' if self.lo_open else '>='} {_num(lo)}"
        if hi is not None:
            return f"{'<' if self.hi_open else '<='} {_num(hi)}"
        return ""

    def in_range(self, x: float) -> bool:
        """True when ``x`` satisfies the bounds."""
        if self.lo is not None and (x <= self.lo if self.lo_open else x < self.lo):
            return False
        return not (self.hi is not None and (x >= self.hi if self.hi_open else x > self.hi))


_NO_RULE = Rule()


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[Any, ...] | list[Any] | None = None,
    units: str = "",
    doc: str = "",
    length: int | None = None,
    min_len: int | None = None,
    max_len: int | None = None,
) -> Any:
    """A dataclass field of a configuration section, with its rules.

    ``default``: the value when the key is absent (omit it and give no ``default_factory``
    for a required key); a list, dict or set default is copied for each instance. ``lo``/
    ``hi``: bounds of a number (or of every number of an array/table), closed unless
    ``lo_open``/``hi_open``. ``choices``: the allowed values of a scalar (or of every element).
    ``units``: shown in errors and :func:`describe`. ``length``/``min_len``/``max_len``: the
    size of a string, array or table. ``doc``: one line for the dictionary and the README.
    """
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"setting: lo {lo} > hi {hi}")
    rule = Rule(
        lo=lo,
        hi=hi,
        lo_open=lo_open,
        hi_open=hi_open,
        choices=tuple(choices) if choices is not None else None,
        units=units,
        doc=doc,
        length=length,
        min_len=min_len,
        max_len=max_len,
    )
    meta = {_META: rule}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    if isinstance(default, list | dict | set):
        frozen = copy.deepcopy(default)
        return dataclasses.field(default_factory=lambda: copy.deepcopy(frozen), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def metadata(**rules: Any) -> dict[str, Rule]:
    """Field metadata carrying a :class:`Rule` (``doc=``, ``units=``...), for a field that
    must be built with :func:`dataclasses.field` itself (e.g. with its own default factory)."""
    return {_META: Rule(**rules)}


def rule_of(f: dataclasses.Field[Any]) -> Rule:
    """The :class:`Rule` of a field (an empty rule for a plain dataclass field)."""
    rule = f.metadata.get(_META)
    return rule if isinstance(rule, Rule) else _NO_RULE


def is_section(tp: Any) -> bool:
    """True when ``tp`` is a dataclass type (a section or an entry of one)."""
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    return hints


# ----------------------------------------------------------------------------------- parse
def parse(cls: type[C], table: Any, where: str) -> C:
    """Check ``table`` against section ``cls`` and build it (ConfigError naming the key).

    ``where``: the section's path as written in TOML (``"power"``, ``"world.orbit"``; square
    brackets are accepted and ignored).
    """
    if not is_section(cls):
        raise TypeError(f"parse: {cls!r} is not a dataclass")
    return typing.cast(C, _section(cls, table, where.strip("[]")))


def _fail(where: str, key: str | None, problem: str) -> ConfigError:
    head = f"[{where}]" if key is None else f"[{where}] {key}"
    return ConfigError(f"{head}: {problem}")


def _section(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, Mapping):
        raise _fail(where, None, f"expected a table, got {_show(table)}")
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in table if k not in known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise _fail(where, unknown[0], f"unknown key (allowed: {allowed})")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in known.items():
        rule = rule_of(f)
        if name in table:
            kwargs[name] = _value(hints[name], rule, table[name], where, name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _fail(where, name, f"required key missing ({_expect(hints[name], rule)})")
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except ConfigError as exc:
            # validate() says "<key>: <problem>"; the section is known only here
            raise ConfigError(f"[{where}] {exc}") from None
    return obj


def _value(tp: Any, rule: Rule, value: Any, where: str, key: str) -> Any:
    """Convert and check ``value`` of key ``key`` (type ``tp``) in section ``where``."""
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if is_section(tp):
        if not isinstance(value, Mapping):  # named in its parent: the key is what is wrong
            raise _fail(where, key, f"expected a table, got {_show(value)}")
        return _section(tp, value, _join(where, key))
    if origin in (list, tuple):
        return _sequence(tp, rule, value, where, key)
    if origin in (dict, Mapping):
        return _mapping(tp, rule, value, where, key)
    return _scalar(tp, rule, value, where, key)


def _sequence(tp: Any, rule: Rule, value: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if not isinstance(value, list | tuple):
        raise _fail(where, key, f"expected {_expect(tp, rule)}, got {_show(value)}")
    _check_len(rule, len(value), where, key, tp)
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        if len(value) != len(args):
            raise _fail(
                where, key, f"expected {_expect(tp, rule)}, got {len(value)} values {_show(value)}"
            )
        elem_types: list[Any] = list(args)
    else:
        elem = args[0] if args else Any
        elem_types = [elem] * len(value)
    # ranges and choices apply to each element; lengths to the array, not its elements
    elem_rule = dataclasses.replace(rule, length=None, min_len=None, max_len=None)
    out: list[Any] = []
    names: dict[str, int] = {}
    for i, (et, v) in enumerate(zip(elem_types, value, strict=True)):
        if is_section(et):
            if not isinstance(v, Mapping):
                raise _fail(where, f"{key}[{i}]", f"expected a table, got {_show(v)}")
            label = _entry_label(v, i)
            item = _section(et, v, f"{_join(where, key)}[{label}]")
            name = getattr(item, "name", None)
            if isinstance(name, str) and name:  # "" = an unnamed entry
                if name in names:
                    raise _fail(
                        where,
                        f"{key}[{i}].name",
                        f"{name!r} is used by entry {names[name]} too (names must be unique)",
                    )
                names[name] = i
            out.append(item)
        else:
            out.append(_value(et, elem_rule, v, where, f"{key}[{i}]"))
    return tuple(out) if origin is tuple else out


def _mapping(tp: Any, rule: Rule, value: Any, where: str, key: str) -> Any:
    args = typing.get_args(tp)
    vt = args[1] if len(args) == 2 else Any
    if not isinstance(value, Mapping):
        raise _fail(where, key, f"expected {_expect(tp, rule)}, got {_show(value)}")
    _check_len(rule, len(value), where, key, tp)
    elem_rule = dataclasses.replace(rule, length=None, min_len=None, max_len=None)
    out: dict[str, Any] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise _fail(where, key, f"entry names must be non-empty strings, got {_show(k)}")
        if is_section(_unwrap_optional(vt)):
            if not isinstance(v, Mapping):
                raise _fail(where, f"{key}.{k}", f"expected a table, got {_show(v)}")
            out[k] = _section(_unwrap_optional(vt), v, _join(_join(where, key), k))
        else:
            out[k] = _value(vt, elem_rule, v, where, f"{key}.{k}")
    return out


def _scalar(tp: Any, rule: Rule, value: Any, where: str, key: str) -> Any:
    def bad() -> ConfigError:
        return _fail(where, key, f"expected {_expect(tp, rule)}, got {_show(value)}")

    x: Any
    if tp is Any:
        x = value
    elif tp is bool:
        if not isinstance(value, bool):
            raise bad()
        x = value
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        x = value
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        x = float(value)
        if not math.isfinite(x):
            raise bad()
    elif tp is str:
        if not isinstance(value, str):
            raise bad()
        x = value
        _check_len(rule, len(value), where, key, tp)
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if (
                isinstance(value, str | int)
                and not isinstance(value, bool)
                and member.value == value
            ):
                x = member
                break
        else:
            raise bad()
    else:  # a schema bug, not a user error
        raise TypeError(f"[{where}] {key}: unsupported configuration type {tp!r}")
    if rule.choices is not None and _plain(x) not in rule.choices:
        raise bad()
    if isinstance(x, int | float) and not isinstance(x, bool) and not rule.in_range(x):
        raise bad()
    return x


def _check_len(rule: Rule, n: int, where: str, key: str, tp: Any) -> None:
    what = "characters" if tp is str else "entries"
    if rule.length is not None and n != rule.length:
        raise _fail(where, key, f"expected exactly {rule.length} {what}, got {n}")
    if rule.min_len is not None and n < rule.min_len:
        raise _fail(where, key, f"expected at least {rule.min_len} {what}, got {n}")
    if rule.max_len is not None and n > rule.max_len:
        raise _fail(where, key, f"expected at most {rule.max_len} {what}, got {n}")


def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        raise TypeError(f"unsupported union type {tp!r}")
    return tp


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _entry_label(v: Any, i: int) -> str:
    name = v.get("name") if isinstance(v, Mapping) else None
    return name if isinstance(name, str) and name and "]" not in name else str(i)


def _plain(x: Any) -> Any:
    return x.value if isinstance(x, enum.Enum) else x


def _num(x: float) -> str:
    return (
        str(int(x)) if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15) else repr(x)
    )


def _show(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        text = "a table"
    else:
        text = repr(value)
    return text if len(text) <= _REPR_MAX else text[: _REPR_MAX - 3] + "..."


def _type_text(tp: Any, plural: bool = False) -> str:
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if is_section(tp):
        return "tables" if plural else "a table"
    if origin in (list, tuple):
        args = typing.get_args(tp)
        if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
            return f"an array of {len(args)} {_type_text(args[0], True)}"
        elem = args[0] if args else Any
        if is_section(_unwrap_optional(elem)):
            return "an array of tables"
        return f"an array of {_type_text(elem, True)}"
    if origin in (dict, Mapping):
        args = typing.get_args(tp)
        vt = args[1] if len(args) == 2 else Any
        if is_section(_unwrap_optional(vt)):
            return "a table of named tables"
        return f"a table of name = {_type_text(vt)}"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "integers" if plural else "an integer"
    if tp is float:
        return "numbers" if plural else "a number"
    if tp is str:
        return "strings" if plural else "a string"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return "values" if plural else "a value"


def _expect(tp: Any, rule: Rule) -> str:
    """What is allowed, as text: ``a number in (0, 10000] (Ah)``."""
    text = _type_text(tp)
    if rule.choices is not None:
        text = "one of " + ", ".join(repr(c) for c in rule.choices)
    rng = rule.range_text()
    if rng:
        text += f" in {rng}" if rng[0] in "([" else f" {rng}"
    if rule.units:
        text += f" ({rule.units})"
    return text


# -------------------------------------------------------------------------------- describe
class KeyDoc(NamedTuple):
    """One key of a section, for the dictionary and the README."""

    key: str  #: dotted path inside the section; ``zones[].min_c`` for array entries
    type: str  #: what is allowed, in words
    default: Any  #: the default (``None`` when the key is required)
    range: str  #: ``(0, 10000]``, ``>= 0``, ``'cuc', 'cds'`` or ``""``
    units: str
    doc: str


def describe(cls: type) -> list[KeyDoc]:
    """Every key of section ``cls`` (nested sections and entries flattened with dots)."""
    return list(_describe(cls, ""))


def _describe(cls: type, prefix: str) -> Iterator[KeyDoc]:
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        rule = rule_of(f)
        tp = _unwrap_optional(hints[f.name])
        key = prefix + f.name
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        rng = rule.range_text()
        if rule.choices is not None:
            rng = ", ".join(repr(c) for c in rule.choices)
        yield KeyDoc(key, _type_text(tp), to_table(default), rng, rule.units, rule.doc)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if is_section(tp):
            yield from _describe(tp, key + ".")
        elif origin in (list, tuple) and args and is_section(_unwrap_optional(args[0])):
            yield from _describe(_unwrap_optional(args[0]), key + "[].")
        elif origin in (dict, Mapping) and len(args) == 2 and is_section(_unwrap_optional(args[1])):
            yield from _describe(_unwrap_optional(args[1]), key + ".<name>.")


def to_table(obj: Any) -> Any:
    """Plain TOML-able form of a parsed section (dataclasses -> tables, enums -> values,
    tuples -> arrays; None-valued keys left out, as TOML has no null)."""
    if is_section(type(obj)):
        return {
            f.name: to_table(getattr(obj, f.name))
            for f in dataclasses.fields(obj)
            if f.init and getattr(obj, f.name) is not None
        }
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, list | tuple):
        return [to_table(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_table(v) for k, v in obj.items()}
    return obj


# ----------------------------------------------------------------------------------- merge
def merge(base: Mapping[str, Any], over: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``over`` (a user's tables) laid over a copy of ``base`` (the defaults).

    The rule, as the README states it:

    - Tables merge key by key: a user file only needs the keys it changes. A table of named
      tables (``[world.power.rails.<name>]``) therefore adds or changes entries by name.
    - Arrays of tables merge **by name**: an entry whose ``name`` is that of a default entry
      replaces that entry (keys it leaves out take the entry's defaults, not the old entry's
      values); an entry with a new name, or without a ``name`` key, is appended.
    - ``<key>_replace = true`` next to an array of tables (or a table of named tables) in the
      same table replaces the default one whole: only the user's entries remain (none, if the
      user gives none). For example::

          [fdir]
          monitors_replace = true      # drop every default monitor ...
          [[fdir.monitors]]            # ... keep only this one
          name = "soc_floor"
          source = "PowerStatus.soc_frac"
          low = 0.30

    - Any other value (numbers, strings, arrays of numbers or strings) replaces the default;
      so does an empty array (``monitors = []`` empties the list).

    ``<key>_replace`` must be true or false and must sit next to an array of tables or a table
    of tables of the defaults; anything else is a ConfigError naming it.
    """
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(key, str) and key.endswith(REPLACE_SUFFIX) and key not in base:
            continue  # consumed below, with its array
        flag = over.get(f"{key}{REPLACE_SUFFIX}", False) if isinstance(key, str) else False
        if flag is True:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value, _join(where, key))
        elif _is_table_array(value) and _is_table_array(out.get(key)):
            out[key] = _merge_by_name(out[key], value, where, key)
        else:
            out[key] = copy.deepcopy(value)
    for key, flag in over.items():
        if not (isinstance(key, str) and key.endswith(REPLACE_SUFFIX)) or key in base:
            continue
        target = key[: -len(REPLACE_SUFFIX)]
        section = f"[{where}]" if where else "the top level"
        if not isinstance(flag, bool):
            raise ConfigError(f"{section} {key}: expected true or false, got {_show(flag)}")
        default = base.get(target)
        if not (_is_table_array(default) or _is_named_tables(default)):
            raise ConfigError(
                f"{section} {key}: unknown key ({target!r} is not an array of tables or a "
                "table of tables in the defaults)"
            )
        if flag and target not in over:
            out[target] = [] if isinstance(default, list) else {}
    return out


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _is_named_tables(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values())


def _merge_by_name(base: list[Any], over: list[Any], where: str, key: str) -> list[Any]:
    out = copy.deepcopy(base)
    index = {e.get("name"): i for i, e in enumerate(out) if isinstance(e.get("name"), str)}
    seen: dict[str, int] = {}
    for i, entry in enumerate(over):
        name = entry.get("name")
        if isinstance(name, str) and name:
            if name in seen:  # the second would silently replace the first
                raise ConfigError(
                    f"[{where}] {key}[{i}].name: {name!r} is used by entry {seen[name]} too "
                    "(names must be unique)"
                )
            seen[name] = i
        if isinstance(name, str) and name in index:
            out[index[name]] = copy.deepcopy(dict(entry))
        else:
            if isinstance(name, str):
                index[name] = len(out)
            out.append(copy.deepcopy(dict(entry)))
    return out
