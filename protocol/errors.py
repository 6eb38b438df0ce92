"""The error tree of Fab Commons (specs/0001-encoding.md §6).

Every failure a peer or a user can cause is a `CommonsError` with a stable
`code` string. Codes travel on the wire, appear in vectors as the expected
error and are what tests assert on; messages are for people and may change.

Families, by who is at fault:
  DecodeError        the bytes are not a well-formed, canonical record
  VerificationError  well-formed, but a signature, chain, proof or key is wrong
  LocalMisuseError   the caller (this node, the operator) asked for something wrong
  RemoteFaultError   a peer broke the conversation (framing, limits, timeouts)
  RuleViolationError well-formed and signed, but the network's rules forbid it
    JobError         (a rule violation) a job step the job lifecycle does not allow

Library exceptions (msgpack, cryptography, pydantic, sqlite3, libp2p) are
wrapped `from e` at the boundary that called the library; none escape.
"""

from __future__ import annotations

from typing import Any


class CommonsError(Exception):
    """Root of every error raised on purpose by Fab Commons."""

    family = "commons"

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """The `{"code", "message", ...}` object used by the CLI and the API."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        out.update({k: v for k, v in self.details.items() if _is_jsonable(v)})
        return out


class DecodeError(CommonsError):
    """The input is not a well-formed canonical encoding of what was expected."""

    family = "decode"


class VerificationError(CommonsError):
    """Well-formed input whose signature, chain, key or proof does not hold."""

    family = "verify"


class ProofError(VerificationError):
    """A Merkle inclusion or consistency proof does not verify."""

    family = "proof"


class LocalMisuseError(CommonsError):
    """The local caller asked for something impossible or unsafe."""

    family = "misuse"


class RemoteFaultError(CommonsError):
    """A remote peer broke a protocol conversation."""

    family = "remote"


class RuleViolationError(CommonsError):
    """Valid, signed input that the network's rules in force forbid."""

    family = "rule"


class JobError(RuleViolationError):
    """A signed job entry that the job lifecycle does not allow (specs/0007-jobs.md §4)."""

    family = "job"


#: The class of each code family (the part of a code before the first dot).
FAMILIES: dict[str, type[CommonsError]] = {
    "decode": DecodeError,
    "verify": VerificationError,
    "proof": ProofError,
    "misuse": LocalMisuseError,
    "remote": RemoteFaultError,
    "rule": RuleViolationError,
    "job": JobError,
}


def error_for_code(code: str, message: str) -> CommonsError:
    """Rebuild a typed error from its code, e.g. when it crossed the local API."""
    return FAMILIES.get(code.split(".", maxsplit=1)[0], CommonsError)(code, message)


def _is_jsonable(value: Any) -> bool:
    return isinstance(value, str | int | bool | type(None)) or (
        isinstance(value, list | tuple) and all(_is_jsonable(v) for v in value)
    )
