"""The plaintext of a job message (specs/0007-jobs.md §2.5): what a `job.message`'s
sealed blob holds once opened.

It is one canonical msgpack map, `{job, from, to, text, sent_ms, names}`: the job and
both parties again (so that a party cannot re-sign the other's sealed blob as its own,
nor move it to another job: the opener compares them with the signed entry), the text
(1-`MAX_TEXT_CHARS` characters, no control characters but tab and newline), the
sender's clock, and one file name per attachment, in the entry's order.

`encode_message` builds it (raising LocalMisuseError misuse.bad-message on what the
decoder would refuse); `decode_message(raw, entry=…)` is the only way back: bytes over
`MAX_PLAINTEXT_BYTES`, non-canonical bytes or a wrong shape are decode.bad-message, a
plaintext that does not match its signed entry is verify.message-mismatch. Sealing and
opening are protocol.sealed's; fetching the blob is the node's. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from protocol import canonical
from protocol.errors import CommonsError, DecodeError, LocalMisuseError, VerificationError

MAX_TEXT_CHARS: Final = 4000
MAX_NAME_CHARS: Final = 200
MAX_PLAINTEXT_BYTES: Final = 64 * 1024
MAX_TIME_MS: Final = 2**63 - 1
FIELDS: Final = frozenset({"job", "from", "to", "text", "sent_ms", "names"})


@dataclass(frozen=True, slots=True)
class MessagePlain:
    """An opened message: the parties, the text, the sender's time, attachment names."""

    job: bytes
    sender: bytes
    to: bytes
    text: str
    sent_ms: int
    names: tuple[str, ...]


def _text_problem(value: Any, limit: int) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        return f"want 1-{limit} characters"
    if any((ord(c) < 0x20 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in value):
        return "control characters other than tab and newline"
    return None


def _problem(value: Any) -> str | None:
    """Why a decoded value is no message plaintext, or None."""
    if not isinstance(value, dict) or set(value) != FIELDS:
        return f"a map of exactly {sorted(FIELDS)}"
    for key in ("job", "from", "to"):
        if not isinstance(value[key], bytes) or len(value[key]) != 32:
            return f"{key}: want 32 bytes"
    sent = value["sent_ms"]
    if not isinstance(sent, int) or isinstance(sent, bool) or not 0 <= sent <= MAX_TIME_MS:
        return "sent_ms: want an integer of milliseconds"
    problem = _text_problem(value["text"], MAX_TEXT_CHARS)
    if problem:
        return f"text: {problem}"
    names = value["names"]
    if not isinstance(names, list):
        return "names: want a list"
    for name in names:
        problem = _text_problem(name, MAX_NAME_CHARS)
        if problem or "/" in name:
            return f"names: {problem or 'no / in a file name'}"
    return None


def encode_message(plain: MessagePlain) -> bytes:
    """The canonical plaintext; misuse.bad-message for what decode_message refuses."""
    value = {
        "job": plain.job,
        "from": plain.sender,
        "to": plain.to,
        "text": plain.text,
        "sent_ms": plain.sent_ms,
        "names": list(plain.names),
    }
    problem = _problem(value)
    raw = canonical.encode(value) if problem is None else b""
    if problem is None and len(raw) > MAX_PLAINTEXT_BYTES:
        problem = f"{len(raw)} bytes, over {MAX_PLAINTEXT_BYTES}"
    if problem is not None:
        raise LocalMisuseError("misuse.bad-message", problem)
    return raw


def decode_message(
    raw: bytes, *, job: bytes, sender: bytes, to: bytes, attachments: int
) -> MessagePlain:
    """The plaintext of the message the signed entry (job, author, to, attachment
    count) describes; decode.bad-message or verify.message-mismatch (see the module)."""
    if len(raw) > MAX_PLAINTEXT_BYTES:
        raise DecodeError("decode.bad-message", f"{len(raw)} bytes, over {MAX_PLAINTEXT_BYTES}")
    try:
        value = canonical.decode(raw)
    except CommonsError as e:
        raise DecodeError("decode.bad-message", f"not canonical: {e.message}") from e
    problem = _problem(value)
    if problem is not None:
        raise DecodeError("decode.bad-message", problem)
    got = (value["job"], value["from"], value["to"], len(value["names"]))
    if got != (job, sender, to, attachments):
        raise VerificationError(
            "verify.message-mismatch",
            "the sealed message names another job, other parties or other attachments "
            "than its signed entry",
        )
    return MessagePlain(job, sender, to, value["text"], value["sent_ms"], tuple(value["names"]))
