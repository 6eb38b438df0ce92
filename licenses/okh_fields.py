"""Reading the values of Open Know-How manifests as a careful person would (specs/0010 §5).

Manifests in the wild spell keys in kebab-case, camelCase and snake_case
(`documentation-language`, `documentationLanguage`, `documentation_language`) and
write values loosely: names wrapped in stray quotes and newlines, languages as
`English-UK` or `En-US`, dimensions as OpenSCAD calls with a missing parenthesis.
Each function here turns one such value into the form a design body holds, or raises
`DecodeError("decode.bad-manifest", …, field=<the manifest key>)` saying why. A value
is rewritten only where its meaning is plain; what was rewritten is said in a note.

Pure: no I/O.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

from protocol.design import MAX_LENGTH_UM
from protocol.errors import DecodeError

BAD_MANIFEST: Final = "decode.bad-manifest"

_KEY_ALIASES: Final = {"organization": "organisation", "open-scad": "openscad"}


def bad(field: str, message: str) -> DecodeError:
    """The one error of manifest reading, naming the field at fault."""
    return DecodeError(BAD_MANIFEST, f"{field}: {message}", field=field)


def canonical_key(key: str) -> str:
    """`documentationLanguage`, `documentation_language` → `documentation-language`."""
    kebab = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", key).replace("_", "-").lower()
    return _KEY_ALIASES.get(kebab, kebab)


def canonical_keys(value: Any, where: str) -> Any:
    """`value` with every table's keys in canonical form, tables nested in lists too.

    A key that is not text (YAML's `1:` or `yes:`) names no field and is left out.
    Raises when two spellings of one key are both present (`forkOf` and `fork-of`).
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                continue
            name = canonical_key(key)
            field = f"{where}.{name}" if where else name
            if name in out:
                raise bad(field, f"given twice (as {key!r} and another spelling)")
            out[name] = canonical_keys(item, field)
        return out
    if isinstance(value, list):
        return [canonical_keys(item, where) for item in value]
    return value


# -- text ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_QUOTES: Final = ('"', "'", "\u201c\u201d", "\u2018\u2019")


def one_line(raw: str) -> str:
    """White space runs (newlines too) become one space; surrounding quotes go."""
    text = " ".join(_CONTROL.sub(" ", raw).split())
    for quote in _QUOTES:
        first, last = quote[0], quote[-1]
        if len(text) >= 2 and text[0] == first and text[-1] == last:
            text = " ".join(text[1:-1].split())
    return text


def paragraph(raw: str) -> str:
    """Newlines kept (as LF), other control characters become spaces, ends trimmed."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub(" ", text).strip()


def token(raw: str, field: str) -> str:
    """A process name as a lower-case token: `Hard soldering` → `hard-soldering`."""
    text = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not text or len(text) > 48:
        raise bad(field, f"{raw!r} is not a process name")
    return text


# -- languages (BCP 47, RFC 5646) ---------------------------------------------------

# ISO 639-1 two-letter codes: a two-letter language subtag must be one of these.
_ISO_639_1_CODES: Final = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs "
    "cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha "
    "he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn "
    "ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb "
    "nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd "
    "se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw "
    "ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)
_ISO_639_1: Final = frozenset(_ISO_639_1_CODES.split())
# Language names written instead of codes, and codes that are countries, not languages.
_LANGUAGE_NAMES: Final = {
    "english": "en",
    "french": "fr",
    "francais": "fr",
    "français": "fr",
    "german": "de",
    "deutsch": "de",
    "spanish": "es",
    "espanol": "es",
    "español": "es",
    "portuguese": "pt",
    "italian": "it",
    "dutch": "nl",
    "swahili": "sw",
    "kiswahili": "sw",
    "japanese": "ja",
    "chinese": "zh",
    "russian": "ru",
    "arabic": "ar",
    "hindi": "hi",
    "jp": "ja",
}
# ISO 3166 has GB, not UK, for the United Kingdom.
_REGION_FIXES: Final = {"UK": "GB"}


def language_tag(raw: str, field: str) -> tuple[str, list[str]]:
    """A BCP 47 tag in canonical case (`En-US` → `en-US`, `English-UK` → `en-GB`).

    Keeps language, script and region; drops further subtags that are not a region
    (`DE-Western-Europe` → `de`) with a note. Returns the tag and the notes.
    """
    parts = [p for p in re.split(r"[-_\s]+", raw.strip()) if p]
    if not parts:
        raise bad(field, "empty language")
    first = parts[0].lower()
    language = _LANGUAGE_NAMES.get(first, first)
    if not (language in _ISO_639_1 or re.fullmatch(r"[a-z]{3}", language)):
        raise bad(field, f"{raw!r} does not start with an ISO 639 language code")
    tag, rest = [language], parts[1:]
    if rest and re.fullmatch(r"[A-Za-z]{4}", rest[0]):
        tag.append(rest.pop(0).title())
    if rest and re.fullmatch(r"[A-Za-z]{2}|[0-9]{3}", rest[0]):
        region = rest.pop(0).upper()
        tag.append(_REGION_FIXES.get(region, region))
    text = "-".join(tag)
    notes = [] if text == raw else [f"{field}: {raw!r} read as {text!r}"]
    if rest:
        notes.append(f"{field}: dropped {'-'.join(rest)!r}, not a BCP 47 region")
    return text, notes


# -- dimensions ---------------------------------------------------------------------

_UNIT_UM: Final = {
    "um": 1,
    "µm": 1,
    "micron": 1,
    "mm": 1000,
    "cm": 10_000,
    "m": 1_000_000,
    "in": 25_400,
    "inch": 25_400,
}
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_CUBE_VECTOR = re.compile(
    rf"cube\s*\(\s*(?:size\s*=\s*)?\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]"
    r"\s*(?:,\s*center\s*=\s*(?:true|false)\s*)?\)?\s*;?"
)
_CUBE_SCALAR = re.compile(
    rf"cube\s*\(\s*(?:size\s*=\s*)?({_NUMBER})\s*(?:,\s*center\s*=\s*(?:true|false)\s*)?\)?\s*;?"
)
_CALL = re.compile(r"(cylinder|sphere)\s*\(([^()]*)\)?\s*;?")
_ARGUMENT = re.compile(rf"\s*(?:([a-z0-9]+)\s*=\s*)?({_NUMBER}|true|false)\s*")


def unit_um(raw: str, field: str) -> int:
    """Micrometres in one unit of length `raw` (`mm`, `cm`, `m`, `in`, `um`)."""
    factor = _UNIT_UM.get(raw.strip().lower())
    if factor is None:
        raise bad(field, f"unknown unit of length {raw!r}")
    return factor


def to_um(number: str, factor_um: int, field: str) -> int:
    """A decimal length in some unit, as whole micrometres (half to even), 1 µm to 1 km."""
    try:
        value = (Decimal(number) * factor_um).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    except InvalidOperation as e:
        raise bad(field, f"{number!r} is not a length") from e
    if not 1 <= value <= MAX_LENGTH_UM:
        raise bad(field, f"{number} is out of range (1 µm to 1 km)")
    return int(value)


def openscad_size_um(raw: str, factor_um: int, field: str) -> tuple[int, int, int]:
    """The bounding box [x, y, z] of an OpenSCAD `cube`, `cylinder` or `sphere` call."""
    text = raw.strip()
    if match := _CUBE_VECTOR.fullmatch(text):
        x, y, z = (to_um(n, factor_um, field) for n in match.groups())
        return x, y, z
    if match := _CUBE_SCALAR.fullmatch(text):
        side = to_um(match.group(1), factor_um, field)
        return side, side, side
    match = _CALL.fullmatch(text)
    if match is None:
        raise bad(field, f"{raw!r} is not an OpenSCAD cube, cylinder or sphere")
    args = _arguments(match.group(2), raw, field)
    if match.group(1) == "sphere":
        diameter = _diameter_um(args, "", factor_um, raw, field)
        if diameter == 0:
            raise bad(field, f"{raw!r}: a sphere needs r or d")
        return diameter, diameter, diameter
    diameter = max(_diameter_um(args, s, factor_um, raw, field) for s in ("", "1", "2"))
    if "h" not in args or diameter == 0:
        raise bad(field, f"{raw!r}: a cylinder needs h and r or d")
    return diameter, diameter, to_um(args["h"], factor_um, field)


def _arguments(text: str, raw: str, field: str) -> dict[str, str]:
    """Named numeric arguments; OpenSCAD's positional order is (h, r) for a cylinder
    and (r) for a sphere, so a bare first number of a sphere is taken as r below."""
    args: dict[str, str] = {}
    items = text.split(",") if text.strip() else []
    for position, item in enumerate(items):
        match = _ARGUMENT.fullmatch(item)
        if match is None:
            raise bad(field, f"cannot read the arguments of {raw!r}")
        name = match.group(1) or (
            "r" if raw.lstrip().startswith("sphere") else "hr"[min(position, 1)]
        )
        if name in args:
            raise bad(field, f"{raw!r} gives {name} twice")
        if match.group(2) in ("true", "false") and name != "center":
            raise bad(field, f"{raw!r}: {name} is a number")
        args[name] = match.group(2)
    return args


def _diameter_um(args: dict[str, str], suffix: str, factor_um: int, raw: str, field: str) -> int:
    """The diameter given as r<suffix> or d<suffix>, in micrometres; 0 if neither."""
    radius, diameter = args.get("r" + suffix), args.get("d" + suffix)
    if radius is not None and diameter is not None:
        raise bad(field, f"{raw!r} gives both r{suffix} and d{suffix}")
    if radius is not None:
        return to_um(str(Decimal(radius) * 2), factor_um, field)
    if diameter is not None:
        return to_um(diameter, factor_um, field)
    return 0
