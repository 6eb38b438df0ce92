"""Licence strings of Open Know-How manifests, read as SPDX expressions (specs/0006 §6).

OKH manifests (OKH-LOSH v1, and those converted from OKH v1) carry a `license` that
should be an SPDX expression but often is a name: `LicenseRef-CC BY-SA-4.0`,
`LicenseRef-CC-BY-SA-3.0` (an SPDX id wrongly prefixed), `LicenseRef-GNU GPL v3.0`,
`LicenseRef-CERN OHL v1.2`. `normalise_okh_licence` returns the normalised SPDX
expression when the intent is unambiguous, and otherwise raises
`DecodeError("decode.bad-licence", …, field="license")` saying what is missing. It never
guesses: a licence is rewritten only by the rules below, each stated in the spec.

1. A real SPDX expression is normalised as such (licenses.spdx).
2. `LicenseRef-<name>`: if <name> is a licence we recognise (3 to 6), its SPDX id;
   otherwise, if <name> is a valid idstring, the LicenseRef is kept as written (an
   unknown licence: not open until the network's rules list it); otherwise refused.
3. Creative Commons names (`CC BY-SA 4.0`, `Creative Commons Attribution-ShareAlike
   4.0 International`, `CC BY 3.0 US`, `CC0`): the SPDX id of the same elements,
   version and port; no version, no id.
4. GNU names (`GNU GPL v3.0`, `LGPL v2.1`, `GPLv3+`): `-only` unless `+` or
   "or later" is written, as SPDX reads its deprecated `GPL-3.0`.
5. CERN OHL: a version 1.1/1.2 names `CERN-OHL-1.x`; a variant names the 2.0 variant.
   With neither, the variant comes from `context` (other text of the manifest, such as
   a licence URL) when it names exactly one; else "CERN OHL" means -S (the network's
   rule), while a bare `CERN` (which does not even say OHL) is refused, asking which.
6. A few common names (MIT License, Apache License 2.0, BSD 3-Clause, Solderpad
   Hardware Licence 2.1 = `Apache-2.0 WITH SHL-2.1`, TAPR OHL, Unlicense), and an
   id-shaped name with a version that is not on the SPDX list (`PANAKA-OHL-1.0`),
   which becomes `LicenseRef-<name>`.
Lists (`A, B`, `A/B`) are refused: they do not say whether both apply or either.
"""

from __future__ import annotations

import re

from licenses import spdx
from protocol.errors import DecodeError

_FIELD = "license"
_IDSTRING = re.compile(r"[A-Za-z0-9.\-]+")
_VERSIONED_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-]*-v?\d+(?:\.\d+)*")
_LICENSE_REF = re.compile(r"LicenseRef-(.+)", re.I | re.S)
_LIST_SEPARATORS = re.compile(r"[,;/|&]")
_CERN_MENTION = re.compile(
    r"cern[\s_\-]*(?:open[\s_\-]*hardware[\s_\-]*licen[cs]e|ohl)(?P<tail>[\w.\s\-]{0,32})", re.I
)
_WORD = re.compile(r"[a-z]+|\d+(?:\.\d+)?")

_CC_WORDS = [
    (r"creative\s*commons", "cc"),
    (r"attribution", "by"),
    (r"share\s*alike", "sa"),
    (r"non\s*commercial", "nc"),
    (r"no\s*deriv(?:ative)?s?", "nd"),
    (r"\b(?:international|unported|generic|public|licen[cs]e|deed|version|the)\b", ""),
]
_CC = re.compile(
    r"cc(?P<elements>(?: (?:by|nc|nd|sa))*) v?(?P<version>\d(?:\.\d)?)(?: (?P<port>[a-z]{2,3}))?"
)
_CC0 = re.compile(r"cc ?(?:0|zero)(?: v?1(?:\.0)?)?")
_GNU = re.compile(
    r"(?:gnu )?(?P<kind>a|l)?gpl ?v?(?P<version>\d(?:\.\d)?)"
    r"(?P<later> ?\+| or (?:any )?later)?(?: only)?"
)
_CERN_VARIANTS = {
    "s": "S",
    "strongly": "S",
    "w": "W",
    "weakly": "W",
    "p": "P",
    "permissive": "P",
}
_CERN_FILLERS = {
    "v",
    "version",
    "licence",
    "license",
    "txt",
    "reciprocal",
    "variant",
    "ohl",
    "open",
    "hardware",
}
_COMMON_NAMES = {
    "mit": "MIT",
    "mit licence": "MIT",
    "mit license": "MIT",
    "expat": "MIT",
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache licence 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "bsd 2 clause": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "bsd 3 clause": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "revised bsd": "BSD-3-Clause",
    "unlicense": "Unlicense",
    "the unlicense": "Unlicense",
    "tapr ohl": "TAPR-OHL-1.0",
    "tapr open hardware licence": "TAPR-OHL-1.0",
    "tapr open hardware license": "TAPR-OHL-1.0",
    "shl 2.0": "Apache-2.0 WITH SHL-2.0",
    "shl 2.1": "Apache-2.0 WITH SHL-2.1",
    "solderpad hardware licence 2.0": "Apache-2.0 WITH SHL-2.0",
    "solderpad hardware license 2.0": "Apache-2.0 WITH SHL-2.0",
    "solderpad hardware licence 2.1": "Apache-2.0 WITH SHL-2.1",
    "solderpad hardware license 2.1": "Apache-2.0 WITH SHL-2.1",
    "mpl 2.0": "MPL-2.0",
    "mozilla public licence 2.0": "MPL-2.0",
    "mozilla public license 2.0": "MPL-2.0",
}


def normalise_okh_licence(raw: str, *, context: str = "") -> str:
    """The SPDX expression an OKH `license` string unambiguously means (module docstring).

    `context` is other text of the same manifest (licence URL or name, readme excerpt):
    it is read only to find the variant of a CERN OHL that the string leaves open.
    Raises DecodeError("decode.bad-licence", …, field="license") otherwise.
    """
    text = " ".join(raw.split())
    if not text:
        raise _bad("the licence is empty")
    if len(text) > spdx.MAX_EXPRESSION_CHARS:
        raise _bad(f"the licence is longer than {spdx.MAX_EXPRESSION_CHARS} characters")
    ref = _LICENSE_REF.fullmatch(text)
    if ref is not None:
        return _licence_ref(ref.group(1), raw, context)
    try:
        return spdx.normalise(text)
    except DecodeError as e:
        spdx_error = e
    found = _recognise(text, context)
    if found is not None:
        return found
    if _LIST_SEPARATORS.search(text):
        raise _list_error(raw)
    if _VERSIONED_NAME.fullmatch(text) and " " not in text:
        return f"LicenseRef-{text}"
    raise _bad(f"cannot read {raw!r} as a licence: {spdx_error.message}")


def _licence_ref(name: str, raw: str, context: str) -> str:
    found = _recognise(name, context)
    if found is not None:
        return found
    if _IDSTRING.fullmatch(name):
        return f"LicenseRef-{name}"
    if _LIST_SEPARATORS.search(name):
        raise _list_error(raw)
    raise _bad(
        f"{raw!r} is not a licence we recognise, nor a valid LicenseRef "
        "(after 'LicenseRef-' only letters, digits, '.' and '-')"
    )


def _recognise(name: str, context: str) -> str | None:
    """The SPDX expression a licence name means, None if not recognised; raises if
    the name is recognised but leaves out what it needs (a version, a CERN variant)."""
    words = _words(name)
    if re.search(r"\bcern\b|cern ?ohl", words):
        return _cern(words, context)
    cc = _creative_commons(words)
    if cc is not None:
        return cc
    gnu = _gnu(words)
    if gnu is not None:
        return gnu
    common = re.sub(r"\bv(?=\d)", "", words)
    if common in _COMMON_NAMES:
        return _COMMON_NAMES[common]
    return _hyphenated(name)


def _words(name: str) -> str:
    """Lower case, `-` and `_` as spaces, single spaces; `version 3` becomes `v3`."""
    text = re.sub(r"[\s_\-]+", " ", name.lower())
    return re.sub(r"\bversion ?(?=\d)", "v", text).strip()


def _creative_commons(words: str) -> str | None:
    text = words
    for pattern, replacement in _CC_WORDS:
        text = re.sub(pattern, replacement, text)
    text = " ".join(text.split())
    if not text.startswith(("cc ", "cc0", "cc-")) and text != "cc":
        return None
    if _CC0.fullmatch(text):
        return "CC0-1.0"
    match = _CC.fullmatch(text)
    if match is None:
        if re.fullmatch(r"cc(?: (?:by|nc|nd|sa))+", text):
            raise _bad(f"Creative Commons licence {words!r} without a version: which one?")
        return None
    version = match.group("version")
    version += "" if "." in version else ".0"
    elements = match.group("elements").split()
    port = match.group("port")
    candidate = "-".join(["CC", *(e.upper() for e in elements), version])
    candidate += f"-{port.upper()}" if port else ""
    return _spdx_id(candidate, words)


def _gnu(words: str) -> str | None:
    text = words.replace("general public licence", "gpl").replace("general public license", "gpl")
    text = re.sub(r"\b(?:lesser|library) gpl", "lgpl", text)
    text = re.sub(r"\baffero gpl", "agpl", text)
    text = re.sub(r"\b(?:the|licen[cs]e)\b", "", text)
    text = " ".join(text.replace("gplv", "gpl v").split())
    if not re.search(r"\b(?:a|l)?gpl\b", text):
        return None
    match = _GNU.fullmatch(text)
    if match is None:
        if re.fullmatch(r"(?:gnu )?(?:a|l)?gpl", text):
            raise _bad(f"GNU licence {words!r} without a version: which one?")
        return None
    kind = (match.group("kind") or "").upper()
    version = match.group("version")
    version += "" if "." in version else ".0"
    suffix = "-or-later" if match.group("later") else "-only"
    return _spdx_id(f"{kind}GPL-{version}{suffix}", words)


def _cern(words: str, context: str) -> str | None:
    """specs/0006 §6 rule 5: CERN OHL version and variant, from the name then context.
    None when the name holds more than a CERN OHL (`CERN OHL v1.2 or MIT`)."""
    prefix, _, tail = words.partition("cern")
    if prefix.strip() not in {"", "the"}:
        return None
    version, variant, rest = _cern_terms(tail)
    if rest:
        return None
    named_ohl = "ohl" in words or "open hardware" in words
    if version is None and variant is None:
        from_context = _cern_from_context(context)
        if from_context is not None:
            return from_context
        # In a licence field "CERN" can only name the CERN Open Hardware Licence, and
        # the rule for a CERN OHL with no variant is -S (specs/0006 §6 rule 5); the
        # variants exist from version 2.0 on. A stated rule, not a silent guess: the
        # manifest's original string stays in the design record.
        del named_ohl
        return "CERN-OHL-S-2.0"
    if version == "2.0" and variant is None:
        return _cern_from_context(context) or "CERN-OHL-S-2.0"
    return _cern_id(version, variant, words)


def _cern_terms(tail: str) -> tuple[str | None, str | None, list[str]]:
    """Version and variant from the words after "CERN", and the words left unread."""
    version: str | None = None
    variant: str | None = None
    words = _WORD.findall(tail.lower())
    for at, word in enumerate(words):
        if word in _CERN_FILLERS:
            continue
        if word in _CERN_VARIANTS and variant is None:
            variant = _CERN_VARIANTS[word]
        elif word[0].isdigit() and version is None:
            version = word if "." in word else f"{word}.0"
        else:
            return version, variant, words[at:]
    return version, variant, []


def _cern_id(version: str | None, variant: str | None, words: str) -> str:
    if version in {"1.1", "1.2"}:
        if variant is not None:
            raise _bad(f"{words!r}: CERN OHL v{version} has no variants")
        return f"CERN-OHL-{version}"
    if version not in {None, "2.0"}:
        raise _bad(f"{words!r}: CERN OHL v{version} is not on the SPDX list")
    return f"CERN-OHL-{variant or 'S'}-2.0"


def _cern_from_context(context: str) -> str | None:
    """The one CERN OHL the context names with a version or variant; None if none;
    raises if it names several."""
    found = set()
    for mention in _CERN_MENTION.finditer(context[: 64 * 1024]):
        version, variant, _ = _cern_terms(mention.group("tail"))
        if version is not None or variant is not None:
            found.add(_cern_id(version, variant, mention.group(0).strip()))
    if len(found) > 1:
        raise _bad(f"the manifest names several CERN OHLs ({', '.join(sorted(found))}): which?")
    return found.pop() if found else None


def _hyphenated(name: str) -> str | None:
    """`CC BY-SA-4.0`-like names: the words joined by hyphens, if that is an SPDX id."""
    words = re.sub(r"\b(?:licen[cs]e)\b", " ", name, flags=re.I).split()
    candidate = "-".join(words)
    if not words or not _IDSTRING.fullmatch(candidate):
        return None
    try:
        return spdx.normalise(candidate)
    except DecodeError:
        return None


def _spdx_id(candidate: str, words: str) -> str:
    if not spdx.is_spdx_id(candidate):
        raise _bad(f"{words!r} reads as {candidate}, which is not on the SPDX list")
    return spdx.normalise(candidate)


def _list_error(raw: str) -> DecodeError:
    return _bad(
        f"{raw!r} lists licences without saying whether both apply (AND) or either (OR): "
        "write an SPDX expression"
    )


def _bad(message: str) -> DecodeError:
    return DecodeError("decode.bad-licence", message, field=_FIELD)
