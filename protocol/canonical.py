"""Canonical msgpack: the only byte form Fab Commons signs (specs/0001-encoding.md).

The subset: nil, true/false, integers (shortest encoding), str (valid UTF-8,
shortest header), bin (shortest header), arrays, and maps whose keys are str,
unique and sorted by their UTF-8 bytes. No floats, no ext types.

`decode` is strict: size is checked before parsing, per-item lengths are
enforced by the parser, key order and depth while building, and finally the
value is re-encoded and compared with the input, so any second byte form of
the same value (a wide integer, a str8 header on a short string) is rejected,
never repaired. `encode` of a value that `decode` accepted returns the input.

`encode` refuses (LocalMisuseError, misuse.bad-argument) a value outside the subset
or over a cap that every `decode` applies whatever its caller (text over
MAX_STR_BYTES, a map of over MAX_MAP_LEN pairs, a key over MAX_KEY_BYTES, nesting
over MAX_DEPTH), so it never produces bytes no decoder accepts. The caps a decoder's
caller sets (total size, byte-string and array lengths) are checked by that caller's
encoder: protocol.framing, protocol.entry.sign_entry, protocol.announce.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from protocol import limits
from protocol.errors import DecodeError, LocalMisuseError


def encode(value: Any) -> bytes:
    """Encode `value` canonically; raise LocalMisuseError for values outside the subset."""
    try:
        return _pack(_canonical_form(value, 0))
    except UnicodeEncodeError as e:  # a str holding a lone surrogate is not UTF-8 text
        raise LocalMisuseError("misuse.bad-argument", f"text is not UTF-8: {e.reason}") from e


def decode(
    data: bytes,
    *,
    max_bytes: int = limits.MAX_ENTRY_BYTES,
    max_bin_bytes: int = limits.MAX_BIN_BYTES,
    max_array_len: int = limits.MAX_ARRAY_LEN,
) -> Any:
    """Decode one canonical value that must fill `data` exactly.

    The defaults are the entry caps; framed protocols (sync, blobs) pass their own
    larger per-item limits, which the parser still enforces before allocating.

    Raises DecodeError with codes: decode.too-large, decode.malformed,
    decode.trailing-bytes, decode.limit, decode.float, decode.bad-type,
    decode.unsorted-keys, decode.too-deep, decode.non-canonical.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LocalMisuseError("misuse.bad-argument", "decode takes bytes")
    if len(data) > max_bytes:
        raise DecodeError("decode.too-large", f"got {len(data)} bytes, limit {max_bytes}")
    raw = data if type(data) is bytes else bytes(data)
    try:
        value = _unpack_plain(raw, max_bin_bytes, max_array_len)
    except Exception:  # the strict pass below says exactly what is wrong
        pass
    else:
        if _is_canonical_tree(value, 0) and _pack(value) == raw:
            return value
    return _decode_strict(raw, max_bin_bytes, max_array_len)


def _decode_strict(raw: bytes, max_bin_bytes: int, max_array_len: int) -> Any:
    """The reference decoder: every check raises its own DecodeError as it is met."""
    value = _unpack(raw, max_bin_bytes, max_array_len)
    _check_tree(value, 0)
    if _pack(value) != raw:
        raise DecodeError("decode.non-canonical", "input is not the canonical encoding")
    return value


# The fast path of `decode` accepts exactly what `_decode_strict` accepts, and returns
# the same value: it parses without the per-map hook, then checks the tree (the same
# types and depth as `_check_tree`, and every map's keys str, short enough and strictly
# increasing: str order is UTF-8 byte order for the valid UTF-8 msgpack hands back) and
# compares the re-encoding. A repeated key cannot pass: the map would hold fewer
# pairs than its header says, so its re-encoding differs. Whatever the fast path does
# not accept goes through `_decode_strict`, which raises the precise error.
def _unpack_plain(raw: bytes, max_bin_bytes: int, max_array_len: int) -> Any:
    return msgpack.unpackb(
        raw,
        raw=False,
        use_list=True,
        strict_map_key=False,
        ext_hook=_ext_hook,
        max_str_len=limits.MAX_STR_BYTES,
        max_bin_len=max_bin_bytes,
        max_array_len=max_array_len,
        max_map_len=limits.MAX_MAP_LEN,
    )


def _is_canonical_tree(value: Any, depth: int) -> bool:
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return True
    if depth >= limits.MAX_DEPTH:
        return False
    if kind is list:
        for item in value:
            if type(item) not in _SCALAR_TYPES and not _is_canonical_tree(item, depth + 1):
                return False
        return True
    if kind is not dict:
        return False
    previous = None
    for key, item in value.items():
        if type(key) is not str or (previous is not None and key <= previous):
            return False
        if len(key) * 4 > limits.MAX_KEY_BYTES and len(key.encode()) > limits.MAX_KEY_BYTES:
            return False
        previous = key
        if type(item) not in _SCALAR_TYPES and not _is_canonical_tree(item, depth + 1):
            return False
    return True


# Idle Packers, reused: half the cost of msgpack.packb, which builds one per call
# (this runs once per entry received). A Packer is not safe to share between
# threads, so each call takes one from the pool (list.pop and list.append are
# atomic) and gives it back; the pool grows to the number of threads packing at
# once. A Packer resets itself when packing fails, so a refused value leaves
# nothing behind for the next caller.
_IDLE_PACKERS: list[msgpack.Packer] = []


def _pack(value: Any) -> bytes:
    try:
        packer = _IDLE_PACKERS.pop()
    except IndexError:
        packer = msgpack.Packer(use_bin_type=True, strict_types=False, default=_no_default)
    try:
        packed: bytes = packer.pack(value)
    finally:
        _IDLE_PACKERS.append(packer)
    return packed


def _no_default(obj: Any) -> Any:
    raise LocalMisuseError("misuse.bad-argument", f"cannot encode {type(obj).__name__}")


def _pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    previous: bytes | None = None
    for key, _ in pairs:
        if not isinstance(key, str):
            raise DecodeError("decode.bad-type", "map keys must be str")
        raw = key.encode()
        if len(raw) > limits.MAX_KEY_BYTES:
            raise DecodeError("decode.limit", f"map key of {len(raw)} bytes")
        if previous is not None and raw <= previous:
            raise DecodeError("decode.unsorted-keys", f"key {key!r} is out of order or repeated")
        previous = raw
    return dict(pairs)


def _ext_hook(code: int, data: bytes) -> Any:
    raise DecodeError("decode.bad-type", f"ext type {code} is not allowed")


def _unpack(raw: bytes, max_bin_bytes: int, max_array_len: int) -> Any:
    try:
        return msgpack.unpackb(
            raw,
            raw=False,
            use_list=True,
            strict_map_key=False,
            object_pairs_hook=_pairs_hook,
            ext_hook=_ext_hook,
            max_str_len=limits.MAX_STR_BYTES,
            max_bin_len=max_bin_bytes,
            max_array_len=max_array_len,
            max_map_len=limits.MAX_MAP_LEN,
        )
    except DecodeError:
        raise
    except msgpack.exceptions.StackError as e:
        raise DecodeError("decode.too-deep", f"nesting deeper than {limits.MAX_DEPTH}") from e
    except msgpack.ExtraData as e:
        raise DecodeError("decode.trailing-bytes", "bytes follow the encoded value") from e
    except ValueError as e:
        # msgpack reports exceeded length limits and invalid UTF-8 as ValueError.
        code = "decode.limit" if "exceeds max" in str(e) else "decode.malformed"
        raise DecodeError(code, f"not decodable: {e}") from e
    except msgpack.UnpackException as e:  # truncated input, reserved type byte
        raise DecodeError("decode.malformed", f"not decodable: {type(e).__name__}") from e


_SCALAR_TYPES = frozenset({type(None), bool, int, str, bytes})


def _check_tree(value: Any, depth: int) -> None:
    """Refuse floats, types outside the subset and containers nested too deep.

    `depth` counts the containers around `value`: at most MAX_DEPTH arrays and
    maps may nest. msgpack decodes some ext types (the timestamp, -1) itself
    without calling ext_hook, so every value's type is checked here. msgpack
    returns exact built-in types, so membership of type() is exact and fast.
    """
    kind = type(value)
    if kind in _SCALAR_TYPES:
        return
    if kind is list or kind is dict:
        if depth >= limits.MAX_DEPTH:
            raise DecodeError("decode.too-deep", f"more than {limits.MAX_DEPTH} nested containers")
        for item in value.values() if kind is dict else value:
            if type(item) not in _SCALAR_TYPES:
                _check_tree(item, depth + 1)
    elif kind is float:
        raise DecodeError("decode.float", "floats are not allowed; use integers with units")
    else:
        raise DecodeError("decode.bad-type", f"{kind.__name__} is not allowed")


def _canonical_form(value: Any, depth: int) -> Any:
    """Check `value` is in the subset and within the caps every `decode` applies (text
    length, map pairs, key length, depth); return it with every map's keys sorted.

    The caps a caller chooses (total size, byte-string and array lengths) are checked
    by that caller's encoder (framing, entries, announcements)."""
    if isinstance(value, str):
        if len(value) * 4 > limits.MAX_STR_BYTES and len(value.encode()) > limits.MAX_STR_BYTES:
            raise LocalMisuseError(
                "misuse.bad-argument", f"text over {limits.MAX_STR_BYTES} bytes of UTF-8"
            )
        return value
    if value is None or isinstance(value, bool | bytes):
        return value
    if isinstance(value, int):
        if not limits.MIN_INT <= value <= limits.MAX_INT:
            raise LocalMisuseError("misuse.bad-argument", f"integer {value} out of range")
        return value
    if isinstance(value, Mapping | list | tuple) and depth >= limits.MAX_DEPTH:
        raise LocalMisuseError(
            "misuse.bad-argument", f"more than {limits.MAX_DEPTH} nested containers"
        )
    if isinstance(value, Mapping):
        return _canonical_map(value, depth)
    if isinstance(value, list | tuple):
        return [_canonical_form(item, depth + 1) for item in value]
    raise LocalMisuseError("misuse.bad-argument", f"cannot encode {type(value).__name__}")


def _canonical_map(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    if len(value) > limits.MAX_MAP_LEN:
        raise LocalMisuseError("misuse.bad-argument", f"map of over {limits.MAX_MAP_LEN} pairs")
    if not all(isinstance(key, str) for key in value):
        raise LocalMisuseError("misuse.bad-argument", "map keys must be str")
    raw_keys = sorted((key.encode(), key) for key in value)
    if raw_keys and max(len(raw) for raw, _ in raw_keys) > limits.MAX_KEY_BYTES:
        raise LocalMisuseError("misuse.bad-argument", f"map key over {limits.MAX_KEY_BYTES} bytes")
    return {k: _canonical_form(value[k], depth + 1) for _, k in raw_keys}
