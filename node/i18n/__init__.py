"""The languages of the node's human text (README "Languages").

Messages are gettext catalogs managed with Babel: `make i18n` extracts every `_()`,
`ngettext()`, `gettext()` and `N_()` of node/ into `node/i18n/fabnode.pot`, updates
`locale/<lang>/LC_MESSAGES/fabnode.po` and compiles the `.mo` files read here
(committed and shipped in the wheel, so a checkout and an install both have them).
English is the source language: a message a catalog lacks is shown in English.

Two ways to pick a language, never mixed:

- the CLI's reader: `use(language_from_env(os.environ))` once in `fabnode`'s main,
  then `_()` and `ngettext()` speak that language (POSIX order: `LC_ALL`, then
  `LC_MESSAGES`, then `LANG`; GNU's `LANGUAGE` list wins unless the locale is C);
- anything a running node writes for someone else (notification texts, e-mails) asks
  `translator(language)` for the language its settings name and calls its methods;
  it never reads `_()`, whose language is that of whoever started the process.

A `Translator` also writes dates, numbers and distances as its locale does (Babel's
CLDR data). Error *codes* are never translated; a fixed error message raised below
the CLI is marked with `N_()` and translated where it is printed (`message`).
"""

from __future__ import annotations

import contextlib
import functools
import gettext
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar

from babel import Locale, UnknownLocaleError
from babel.dates import LOCALTZ, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations
from babel.units import format_unit

DOMAIN: Final = "fabnode"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE: Final = "en"
#: Environment variables naming the locale of messages, first one set wins (POSIX).
LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MESSAGES", "LANG")
#: The attribute `localized` gives an error: its text in the reader's language.
_LOCALIZED: Final = "localized_message"
ErrorT = TypeVar("ErrorT", bound=Exception)


def languages() -> tuple[str, ...]:
    """The languages with a compiled catalog, the source language first."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return (SOURCE_LANGUAGE, *[name for name in found if name != SOURCE_LANGUAGE])


def is_language(name: str) -> bool:
    return name in languages()


@dataclass(frozen=True)
class Translator:
    """One locale's messages and formats (`es_ES`: Spanish messages, Spain's formats)."""

    locale: str
    catalog: NullTranslations

    @property
    def language(self) -> str:
        return self.locale.split("_")[0]

    def gettext(self, message: str) -> str:
        return self.catalog.gettext(message) if message else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    def date_time(self, at_ms: int) -> str:
        """A moment (ms since the epoch) in the machine's time zone: "7 Dec 2026, 15:00:00"."""
        moment = datetime.fromtimestamp(at_ms / 1000, UTC)
        return str(format_datetime(moment, "medium", tzinfo=LOCALTZ, locale=self.locale))

    def number(self, value: float | int, decimals: int | None = None) -> str:
        """A number as the locale groups and points it: 12345.6 -> 12,345.6 / 12.345,6;
        with `decimals`, exactly that many digits after the point (0.5, 2 -> 0.50)."""
        pattern = None if decimals is None else "#,##0." + "0" * decimals if decimals else "#,##0"
        return str(format_decimal(value, pattern, locale=self.locale))

    def percent(self, share: float, decimals: int = 1) -> str:
        """A share as the locale writes a percentage: 0.125 -> 12.5% / 12,5 %."""
        pattern = Locale.parse(self.locale).percent_formats[None].pattern  # "#,##0\xa0%"
        if decimals:
            pattern = pattern.replace("#,##0", "#,##0." + "0" * decimals, 1)
        return str(format_percent(share, pattern, locale=self.locale))

    def distance_m(self, metres: int) -> str:
        """A distance in kilometres, one decimal: 12345 -> "12.3 km" / "12,3 km"."""
        km = metres / 1000
        text = format_unit(km, "length-kilometer", "short", "#,##0.0", locale=self.locale)
        return str(text)


def _locale_name(value: str) -> str | None:
    """`fr_FR.UTF-8@euro` -> `fr_FR`; None for C/POSIX or a locale Babel does not know."""
    name = value.split(".", maxsplit=1)[0].split("@", maxsplit=1)[0]
    if name in ("", "C", "POSIX"):
        return None
    try:
        return str(Locale.parse(name))
    except (ValueError, UnknownLocaleError):
        return None


@functools.cache
def translator(locale: str = SOURCE_LANGUAGE) -> Translator:
    """The translator of a locale or language (`de_DE`, `de`); an unknown one, or one
    without a catalog, speaks the source language with its own formats when Babel
    knows them."""
    name = _locale_name(locale) or SOURCE_LANGUAGE
    language = name.split("_")[0]
    if language not in languages() or language == SOURCE_LANGUAGE:
        return Translator(name, NullTranslations())
    return Translator(name, Translations.load(str(LOCALE_DIR), [language], DOMAIN))


def language_from_env(environ: Mapping[str, str]) -> str:
    """The locale the environment asks messages in (`es_ES`), or `en`."""
    chosen = next((environ[v] for v in LOCALE_VARIABLES if environ.get(v)), "")
    locale = _locale_name(chosen)
    if locale is None:
        return SOURCE_LANGUAGE  # C/POSIX: GNU gettext ignores LANGUAGE too
    for wanted in environ.get("LANGUAGE", "").split(":"):
        name = _locale_name(wanted)
        if name is not None and name.split("_")[0] in languages():
            same = name.split("_")[0] == locale.split("_")[0]
            return locale if same else name
    return locale


_current: list[Translator] = [translator(SOURCE_LANGUAGE)]
_chosen: list[bool] = [False]


def use(locale: str, chosen: bool = False) -> Translator:
    """Make `locale` the language of `_()` (the CLI's reader's); returns its translator.
    `chosen`: the reader named it (`--lang`), so it sets money's format too."""
    _current[0] = translator(locale)
    _chosen[0] = chosen
    return _current[0]


@contextlib.contextmanager
def speaking_to_argparse(environ: MutableMapping[str, str]) -> Iterator[None]:
    """While it lasts, argparse writes its own words ("usage: ", "options", its
    errors) in the language of `_()`. argparse translates them with `gettext.gettext`,
    Python's documented hook for it, which reads the process's default text domain in
    the language the environment names: bind that domain to our catalog (which lists
    argparse's msgids, node.i18n.argparse_words) and name the chosen language in
    `LANGUAGE` (first in gettext's order), so `--lang` and the POSIX order we apply
    hold for argparse too. Both are put back on leaving, so nothing the command
    starts, nor a test calling `main` in its process, inherits them."""
    domain, language = gettext.textdomain(), environ.get("LANGUAGE")
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    environ["LANGUAGE"] = _current[0].language
    try:
        yield
    finally:
        gettext.textdomain(domain)
        if language is None:
            environ.pop("LANGUAGE", None)
        else:
            environ["LANGUAGE"] = language


def is_chosen() -> bool:
    """Whether the reader named the locale (`--lang`) rather than the environment."""
    return _chosen[0]


def current() -> Translator:
    return _current[0]


def _(message: str) -> str:
    """`message` in the CLI reader's language."""
    return _current[0].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current[0].ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for the marker)
    """Marks a message for the catalogs without translating it (translated later)."""
    return message


def message(text: str) -> str:
    """A message raised elsewhere in the reader's language when it is a fixed sentence a
    catalog holds (an error's message, a warning), else unchanged."""
    return _current[0].gettext(text)


def aligned(rows: list[tuple[str, str]], min_width: int = 0, gap: int = 2) -> list[str]:
    """`label  value` lines, the (translated) labels padded to the longest one."""
    width = max([min_width, *(len(label) for label, _value in rows)]) + gap
    return [f"{label:<{width}}{value}" for label, value in rows]


def localized(
    kind: Callable[[str, str], ErrorT], code: str, template: str, /, **params: object
) -> ErrorT:
    """A typed error whose message is `template` in English (what `--json` and the API
    carry, for scripts) and, for people, in the reader's language (`text_of`).
    `template` is marked where it is written: `localized(E, code, N_("... {x}"), x=1)`."""
    error = kind(code, template.format(**params))
    setattr(error, _LOCALIZED, _current[0].gettext(template).format(**params))
    return error


def text_of(error: Exception, fallback: str) -> str:
    """What to print for an error: its reader's-language text when `localized` made it,
    else `fallback` (its message) translated when a catalog holds that sentence."""
    found = getattr(error, _LOCALIZED, None)
    return found if isinstance(found, str) else message(fallback)
