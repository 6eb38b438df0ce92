"""SPDX licence expressions: parse, check and write in one normal form (specs/0006-licences.md §2).

Parsing is done by `license-expression` (aboutcode), loaded with the SPDX licence and
exception ids of the licence index it ships; this module turns its result into a small
immutable tree (`Licence`, `AnyOf`, `AllOf`) and checks what the library lets through:

- precedence is SPDX's (SPDX 2.3 Annex D): `WITH` binds tighter than `AND`, which binds
  tighter than `OR`; parentheses group;
- every id must be on the SPDX list (matched case-insensitively, written in its SPDX
  spelling; deprecated GNU ids such as `GPL-3.0` become `GPL-3.0-only`) or be a
  `LicenseRef-` (§2.2: kept verbatim, only the prefix's case is fixed);
- `WITH` must name a known SPDX exception, and an exception is never a licence on its
  own: a bare `SHL-2.1` is refused with a message pointing to `Apache-2.0 WITH SHL-2.1`;
- `CERN-OHL-2.0`, a CERN OHL with no variant, is read as `CERN-OHL-S-2.0` (§2.3).

The normal form (`render`) upper-cases operators, flattens nested groups of the same
operator, drops exact duplicates, keeps the author's order, and puts every compound
operand in parentheses; `normalise(normalise(x)) == normalise(x)`.

Every refusal is a `DecodeError` with code `decode.bad-licence` (or `decode.too-large`
before parsing); no exception of the library escapes. What a licence allows is left to
`licenses.families` and `licenses.derive`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import license_expression

from protocol.errors import DecodeError

#: Longest expression accepted, in characters, checked before parsing.
MAX_EXPRESSION_CHARS = 1024
BAD_LICENCE = "decode.bad-licence"

# SPDX 2.3 Annex D: idstring = 1*(ALPHA / DIGIT / "-" / ".")
_IDSTRING = re.compile(r"[A-Za-z0-9.\-]+")
_LICENSE_REF = re.compile(r"(?:DocumentRef-([A-Za-z0-9.\-]+):)?LicenseRef-([A-Za-z0-9.\-]+)", re.I)
_ALLOWED_CHARS = re.compile(r"[A-Za-z0-9.\-+:() \t]*")
_TOKENS = re.compile(r"[A-Za-z0-9.\-+:]+")

#: What the parser raises on some malformed input instead of its own ParseError
#: (AssertionError: boolean.py asserts its operands, e.g. on "MIT OR (OR BSD-2-Clause)").
_LIBRARY_BUGS = (
    IndexError,
    KeyError,
    TypeError,
    AttributeError,
    ValueError,
    RecursionError,
    AssertionError,
)
#: Aliases of our own (specs/0006 §2.3): CERN OHL with no variant means the -S variant.
_PROJECT_ALIASES = {"CERN-OHL-S-2.0": ["CERN-OHL-2.0"]}
#: Aliases in the licence index that are not SPDX ids (scancode's own spellings).
_NOT_SPDX_ALIASES = frozenset({"GPL", "BSD-2"})
#: SPDX licence ids that the licence index flags as exceptions.
_LICENCES_NOT_EXCEPTIONS = frozenset({"MPL-2.0-no-copyleft-exception"})


@dataclass(frozen=True, slots=True)
class Licence:
    """One licence: an SPDX id or a LicenseRef, maybe `+` (or later), maybe `WITH` one."""

    id: str
    exception: str | None = None
    or_later: bool = False

    @property
    def base(self) -> str:
        """The licence with its `+` but without its exception."""
        return self.id + ("+" if self.or_later else "")

    def __str__(self) -> str:
        return self.base + (f" WITH {self.exception}" if self.exception else "")


@dataclass(frozen=True, slots=True)
class AnyOf:
    """`a OR b OR …`: the licensee may pick any one option."""

    options: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class AllOf:
    """`a AND b AND …`: every part applies."""

    parts: tuple[Expression, ...]


Expression = Licence | AnyOf | AllOf


@dataclass(frozen=True, slots=True)
class ParsedExpression:
    """A checked expression and what normalising it changed, for people (`notes`)."""

    expression: Expression
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return render(self.expression)


def render(expr: Expression) -> str:
    """The normal form: compound operands in parentheses, operators in upper case."""
    if isinstance(expr, Licence):
        return str(expr)
    items, op = (expr.options, " OR ") if isinstance(expr, AnyOf) else (expr.parts, " AND ")
    return op.join(str(e) if isinstance(e, Licence) else f"({render(e)})" for e in items)


def leaves(expr: Expression) -> list[Licence]:
    """Every licence of an expression, left to right."""
    if isinstance(expr, Licence):
        return [expr]
    items = expr.options if isinstance(expr, AnyOf) else expr.parts
    return [leaf for e in items for leaf in leaves(e)]


def normalise(text: str) -> str:
    """The normal form of an SPDX expression; raises DecodeError (decode.bad-licence)."""
    return parse_expression(text).text


def parse_expression(text: str) -> ParsedExpression:
    """Parse and check an SPDX expression (specs/0006 §2); raises DecodeError."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise DecodeError(
            "decode.too-large",
            f"licence expression is {len(text)} characters, limit {MAX_EXPRESSION_CHARS}",
        )
    if not _ALLOWED_CHARS.fullmatch(text):
        bad = next(c for c in text if not _ALLOWED_CHARS.fullmatch(c))
        raise DecodeError(BAD_LICENCE, f"character {bad!r} cannot appear in an SPDX expression")
    if not text.strip():
        raise DecodeError(BAD_LICENCE, "the licence expression is empty")
    try:
        parsed = _licensing().parse(text, validate=False, strict=True)
    except (license_expression.ExpressionError, license_expression.ParseError) as e:
        raise _parse_error(e) from e
    except _LIBRARY_BUGS as e:  # e.g. IndexError on "()" (boolean.py 5.0)
        raise DecodeError(BAD_LICENCE, f"not a valid SPDX expression: {text!r}") from e
    if parsed is None:
        raise DecodeError(BAD_LICENCE, "the licence expression is empty")
    notes: list[str] = []
    expr = _convert(parsed, notes)
    return ParsedExpression(expr, tuple(dict.fromkeys(notes + _rewrites(text, expr))))


def known_exceptions() -> frozenset[str]:
    """The SPDX exception ids `WITH` accepts, in their SPDX spelling."""
    return frozenset(k for k, s in _licensing().known_symbols.items() if s.is_exception)


def licence_ids() -> frozenset[str]:
    """Every SPDX licence id known here (not exceptions), in its SPDX spelling."""
    return frozenset(k for k, s in _licensing().known_symbols.items() if not s.is_exception)


def is_spdx_id(name: str) -> bool:
    """True for an SPDX licence id (any case), not an exception or deprecated alias."""
    symbol = _licensing().known_symbols_lowercase.get(name.lower())
    return symbol is not None and not symbol.is_exception and symbol.key.lower() == name.lower()


def spdx_spelling(name: str) -> str | None:
    """The SPDX spelling of a licence or exception id or deprecated alias, or None."""
    symbol = _licensing().known_symbols_lowercase.get(name.lower())
    if symbol is not None:
        return str(symbol.key)
    for s in _licensing().known_symbols.values():
        if name.lower() in (a.lower() for a in s.aliases):
            return str(s.key)
    return None


# --- the library, and converting its tree into ours -----------------------------


@cache
def _licensing() -> Any:
    """A Licensing that knows the SPDX ids of the shipped index (not scancode's own)."""
    entries = []
    for item in license_expression.get_license_index():
        key = item.get("spdx_license_key") or ""
        if not key or key.startswith("LicenseRef-") or item.get("is_deprecated"):
            continue
        aliases = [
            a
            for a in item.get("other_spdx_license_keys", [])
            if _IDSTRING.fullmatch(a.rstrip("+"))
            and not a.startswith("LicenseRef-")
            and a not in _NOT_SPDX_ALIASES
        ]
        entries.append(
            {
                "key": key,
                "aliases": aliases + _PROJECT_ALIASES.get(key, []),
                "is_exception": bool(item.get("is_exception"))
                and key not in _LICENCES_NOT_EXCEPTIONS,
            }
        )
    return license_expression.load_licensing_from_license_index(entries)


def _convert(node: Any, notes: list[str]) -> Expression:
    if isinstance(node, license_expression.LicenseWithExceptionSymbol):
        base = _licence(node.license_symbol, notes)
        exception = _exception(node.exception_symbol)
        return Licence(base.id, exception, base.or_later)
    if isinstance(node, license_expression.LicenseSymbol):
        return _licence(node, notes)
    if isinstance(node, license_expression.OR | license_expression.AND):
        cls = AnyOf if isinstance(node, license_expression.OR) else AllOf
        items: list[Expression] = []
        for arg in node.args:
            sub = _convert(arg, notes)
            items += _members(sub) if isinstance(sub, cls) else [sub]
        unique = tuple(dict.fromkeys(items))
        return unique[0] if len(unique) == 1 else cls(unique)
    raise DecodeError(BAD_LICENCE, f"unexpected element {str(node)!r} in a licence expression")


def _members(expr: AnyOf | AllOf) -> list[Expression]:
    return list(expr.options if isinstance(expr, AnyOf) else expr.parts)


def _licence(symbol: Any, notes: list[str]) -> Licence:
    key: str = symbol.key
    known = _licensing().known_symbols.get(key)
    if known is not None:
        if known.is_exception:
            raise _bare_exception(key)
        return Licence(key)
    ref = _LICENSE_REF.fullmatch(key)
    if ref is not None:
        doc = f"DocumentRef-{ref.group(1)}:" if ref.group(1) else ""
        return Licence(f"{doc}LicenseRef-{ref.group(2)}")
    if key.endswith("+"):
        base = _licensing().known_symbols_lowercase.get(key[:-1].lower())
        if base is not None and not base.is_exception and not _has_version_rule(base.key):
            return Licence(base.key, or_later=True)
    if key.endswith("+") and _has_version_rule(key[:-1]):
        message = f"'+' cannot follow {key[:-1]}: it already says which versions apply"
    elif " " in key:
        message = f"{key!r} is not one licence id (ids have no spaces)"
    else:
        message = f"{key!r} is not an SPDX licence id (nor a LicenseRef-)"
    raise DecodeError(BAD_LICENCE, message, symbol=key)


def _has_version_rule(key: str) -> bool:
    return key.endswith(("-only", "-or-later"))


def _exception(symbol: Any) -> str:
    known = _licensing().known_symbols.get(symbol.key)
    if known is None or not known.is_exception:
        raise DecodeError(
            BAD_LICENCE, f"WITH must name an SPDX exception, not {symbol.key!r}", symbol=symbol.key
        )
    return str(known.key)


def _bare_exception(key: str) -> DecodeError:
    if key.startswith("SHL-"):
        message = (
            f"{key} (Solderpad) is an exception to Apache-2.0, not a licence: "
            f"write 'Apache-2.0 WITH {key}'"
        )
    else:
        message = f"{key} is a licence exception: use it after WITH, e.g. 'GPL-2.0-only WITH {key}'"
    return DecodeError(BAD_LICENCE, message, symbol=key)


def _rewrites(text: str, expr: Expression) -> list[str]:
    """Notes for ids that normalising changed beyond their case (aliases, our own rules)."""
    written = {t.lower() for t in _TOKENS.findall(text)}
    notes = []
    for leaf in leaves(expr):
        if leaf.id.lower() in written or leaf.base.lower() in written:
            continue
        if leaf.id == "CERN-OHL-S-2.0":
            notes.append(
                "a CERN OHL with no variant means the strongly reciprocal variant: CERN-OHL-S-2.0"
            )
        else:
            notes.append(f"a deprecated SPDX id was rewritten as {leaf.base}")
    return notes


def _parse_error(error: Exception) -> DecodeError:
    code = getattr(error, "error_code", None)
    token = str(getattr(error, "token_string", ""))
    if code == license_expression.PARSE_INVALID_EXCEPTION:
        return _bare_exception(spdx_spelling(token) or token)
    if code == license_expression.PARSE_INVALID_SYMBOL_AS_EXCEPTION:
        return DecodeError(
            BAD_LICENCE, f"WITH must name an SPDX exception, not {token!r}", symbol=token
        )
    return DecodeError(BAD_LICENCE, f"not a valid SPDX expression: {_why(error)}")


def _why(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "…"
