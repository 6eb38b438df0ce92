"""The JSON form of decoded values, used by the CLI, the API and the vectors.

Canonical msgpack values map to JSON one to one, with two tags:
  * bytes become {"bin": "<lower-case hex>"};
  * a map whose only key is "bin" or "map" is wrapped as {"map": {...}}, so it
    can never be mistaken for a tag.
`from_json(to_json(v)) == v` for every canonical value (property-tested).
"""

from __future__ import annotations

from typing import Any

from protocol.errors import DecodeError

_TAGS = ({"bin"}, {"map"})


def to_json(value: Any) -> Any:
    """Turn a decoded canonical value into JSON-ready data."""
    if isinstance(value, bytes):
        return {"bin": value.hex()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        mapped = {k: to_json(v) for k, v in value.items()}
        return {"map": mapped} if set(value) in _TAGS else mapped
    return value


def from_json(value: Any) -> Any:
    """Turn the JSON form back into a canonical value."""
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"bin"}:
        if not isinstance(value["bin"], str):
            raise DecodeError("decode.bad-field", "bin must be hex text", field="bin")
        try:
            return bytes.fromhex(value["bin"])
        except ValueError as e:
            raise DecodeError("decode.bad-field", "bin is not hex", field="bin") from e
    if set(value) == {"map"} and isinstance(value["map"], dict):
        return {k: from_json(v) for k, v in value["map"].items()}
    return {k: from_json(v) for k, v in value.items()}
