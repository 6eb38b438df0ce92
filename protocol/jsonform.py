"""The JSON form of decoded values, used by the CLI, the API and the vectors.

Canonical msgpack values map to JSON one to one, except byte strings, which
become {"bin": "<lower-case hex>"}. `from_json` reverses `to_json` exactly.
"""

from __future__ import annotations

from typing import Any

from protocol.errors import DecodeError


def to_json(value: Any) -> Any:
    """Turn a decoded canonical value into JSON-ready data."""
    if isinstance(value, bytes):
        return {"bin": value.hex()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value


def from_json(value: Any) -> Any:
    """Turn the JSON form back into a canonical value."""
    if isinstance(value, dict):
        if set(value) == {"bin"} and isinstance(value["bin"], str):
            try:
                return bytes.fromhex(value["bin"])
            except ValueError as e:
                raise DecodeError("decode.bad-field", "bin is not hex", field="bin") from e
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value
