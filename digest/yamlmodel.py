"""YAML files read into msgspec Structs: ruamel's round-trip tree is converted to a model, and msgspec's
complaints (`... - at `$.fetch.timeout``) become ConfigErrors naming the file, line, key path, value and what was
expected. Also the one YAML-location helper (`yaml_line`) that settings and subscribers share."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import msgspec
from msgspec import Meta
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarbool import ScalarBoolean

from .errors import ConfigError

_T = TypeVar("_T")


@dataclass(frozen=True)
class Shape:
    """What converting a file needs beyond its model's types."""

    dec_hook: Callable[[type, Any], Any]  # parses the model's custom types; raises ValueError("expected …")
    may_be_empty: frozenset[str] = frozenset()  # sections and lists that may be left empty: read as absent
    nullable: frozenset[str] = frozenset()  # keys whose empty value is None; any other empty value is refused
    empty_items: frozenset[str] = frozenset()  # lists whose empty items are empty mappings
    lists: Mapping[str, str] = field(default_factory=dict)  # key → message when it is not a list ({value})
    whole_lists: frozenset[str] = frozenset()  # lists whose items' errors name the list
    missing: str = "missing"  # the message for a required key left out


def _plain(node: Any, shape: Shape, at: str = "") -> Any:
    """ruamel's round-trip tree as plain Python (msgspec refuses its scalar subclasses), strings stripped, a section
    or list left empty (`schedule:` with nothing under it) read as absent, and any other empty value refused."""
    if isinstance(node, dict):
        keys = ((str(k), v) for k, v in node.items())
        return {
            k: _plain(v, shape, f"{at}{k}.") for k, v in keys if v is not None or f"{at}{k}" not in shape.may_be_empty
        }
    if node is None and at and at[:-1] not in shape.nullable:
        return _NULL
    if isinstance(node, list):
        return [{} if v is None and at[:-1] in shape.empty_items else _plain(v, shape, f"{at[:-1]}[].") for v in node]
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if isinstance(node, str):
        return str(node).strip()
    return int(node) if isinstance(node, int) else float(node) if isinstance(node, float) else node


_NULL = object()  # msgspec refuses it, and the message shows the file's value: None


# ---- msgspec's complaints, in our words: file, line, key path, value, expectation

_AT = re.compile(r"(?s)(.*) - at `\$(.*)`")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def _steps(where: str) -> list[str | int]:
    return [name or int(index) for name, index in _STEP.findall(where)]


def _walk(node: Any, steps: list[str | int]) -> Any:
    for step in steps:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _model_at(model: Any, steps: list[str | int]) -> Any:
    """The annotation that `steps` lead to from `model`, unwrapped from `| None`."""
    for step in steps:
        model = _unwrap(model)[0]
        if isinstance(step, str) and isinstance(model, type) and issubclass(model, msgspec.Struct):
            model = get_type_hints(model, include_extras=True)[step]
        elif get_origin(model) is tuple:
            model = get_args(model)[0]
    return model


def _unwrap(kind: Any) -> tuple[Any, Meta]:
    """A type without `| None` and its constraints."""
    if get_origin(kind) in (Union, UnionType):
        kind = next(t for t in get_args(kind) if t is not type(None))
    if get_origin(kind) is Annotated:
        return get_args(kind)[0], get_args(kind)[1]
    return kind, Meta()


def _expected(kind: Any) -> str:
    kind, meta = _unwrap(kind)
    if kind is bool:
        return "expected true or false"
    if kind is int:
        return f"expected a whole number from {meta.ge} to {meta.le}"
    if kind is float:
        return f"expected a number from {meta.ge:g} to {meta.le:g}"
    if get_origin(kind) is Literal:
        return "expected one of: " + ", ".join(get_args(kind))
    return "expected a non-empty string"


def _config_error(
    exc: msgspec.ValidationError, root: Any, path: Path, model: type, shape: Shape, at: str = ""
) -> ConfigError:
    """A ValidationError for `model` (read from the tree at `at` under `root`) as a ConfigError."""
    m = _AT.fullmatch(str(exc))
    message, where = (m[1], m[2]) if m else (str(exc), "")
    if re.sub(r"\[\d+\]$", "", at + where).lstrip(".") in shape.whole_lists and where.endswith("]"):
        message, where = "Expected `array`", where.rpartition("[")[0]  # the message names the list, not the item
    steps = _steps(at + where)
    key = (at + where).lstrip(".")
    parent, last = _walk(root, steps[:-1]), steps[-1] if steps else None
    value = _walk(root, steps)
    if unknown := re.fullmatch(r"Object contains unknown field `(.+)`", message):
        name, struct = unknown[1], _unwrap(_model_at(model, _steps(where)))[0]
        names = ", ".join(getattr(struct, "__struct_fields__", ()))
        return ConfigError(
            f"unknown key {name!r}; expected one of: {names}",
            path=path,
            line=line(value, name),
            key=f"{key}.{name}" if key else name,
        )
    if missing := re.fullmatch(r"Object missing required field `(.+)`", message):
        return ConfigError(shape.missing, path=path, line=line(parent, last), key=f"{key}.{missing[1]}")
    if re.match(r"Expected `object", message):
        text = "expected a mapping of keys to values"
    elif re.match(r"Expected `array", message):
        text = shape.lists.get(key, "expected a list").format(value=show(value))
    elif message.startswith(("Expected `", "Invalid enum value")):
        text = f"{show(value)} is not valid; {_expected(_model_at(model, _steps(where)))}"
    else:  # a parser's own words
        text = f"{show(value)} is not valid; {message}"
    return ConfigError(text, path=path, line=line(parent, last) if steps else None, key=key or None)


def convert(tree: Any, model: type[_T], shape: Shape, *, root: Any, path: Path, at: str = "") -> _T:
    """`tree` (found at `at` under `root`, read from `path`) as a `model`, or a ConfigError saying where and why."""
    try:
        return msgspec.convert(_plain(tree, shape, f"{at[1:]}." if at else ""), model, dec_hook=shape.dec_hook)
    except msgspec.ValidationError as exc:
        raise _config_error(exc, root, path, model, shape, at) from None


def yaml_line(node: Any, key: Any, how: str | None = None, *, or_own: bool = False) -> int | None:
    """A 1-based file line from ruamel's round-trip position data: a sequence's item, a mapping's value (or its
    key, with how="key"). None for plain (fast-path) data or a key with no position, or with `or_own` the node's
    own line. The one place settings and subscribers find where something stands in their YAML."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    how = how or ("item" if isinstance(node, CommentedSeq) else "value")
    try:
        return int(getattr(lc, how)(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1 if or_own else None


def line(node: Any, key: str | int | None) -> int | None:
    return yaml_line(node, key, or_own=True)


def show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def yaml_error(exc: Exception, path: Path) -> ConfigError:
    """A YAML parser's complaint as a ConfigError with the file and line it points at."""
    mark = getattr(exc, "problem_mark", None)
    return ConfigError(
        f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=mark.line + 1 if mark else None
    )
