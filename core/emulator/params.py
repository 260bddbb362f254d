"""Stripe's form encoding: `a[b][c]=v`, `a[]=v` and `a[0]=v` become nested dicts and lists."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\]]*)\]")


class ParamError(ValueError):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def parse(encoded: str) -> dict[str, Any]:
    """Decode a query string or form body into nested params, as Stripe's servers do."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        head, _, rest = key.partition("[")
        path = [head] + (_PART.findall("[" + rest) if rest else [])
        _assign(result, path, value, key)
    return _lists(result)


def _assign(target: dict[str, Any], path: list[str], value: str, key: str) -> None:
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ParamError(f"Invalid value for {key}: conflicting nested parameters.", path[0])
        node = child
    last = path[-1]
    if last == "":
        node.setdefault("", []).append(value)
        return
    if isinstance(node.get(last), dict):
        raise ParamError(f"Invalid value for {key}: expected an object.", path[0])
    node[last] = value


def _lists(node: Any) -> Any:
    """Dicts keyed only by '' or by 0..n-1 are arrays on the wire."""
    if not isinstance(node, dict):
        return node
    if set(node) == {""} and isinstance(node[""], list):
        return node[""]
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted
