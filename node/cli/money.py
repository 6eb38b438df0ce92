"""Amounts of money as people read them (issue 14: "2185 EUR" was 21.85 EUR).

Records and JSON carry integer minor units (specs/0007 §2, 0011 §5.4); only human
output turns them into money. How many minor units make a major one is the
currency's own (CLDR: JPY 0 digits, EUR 2, BHD 3), and the way an amount is written
is the reader's locale's ("€21.85" in en, "21,85 €" in fr): both come from Babel's
CLDR data, so no table of ours can drift from it. The CLI's locale is the one
`fabnode --lang` names, else the environment's (`LC_ALL`, then `LC_MONETARY`, then
`LANG`, as POSIX orders them), `en` when none names a locale Babel knows. Pure but
for `money_text`, which reads this process's environment and the reader's choice.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision

from node.i18n import current, is_chosen

DEFAULT_LOCALE: Final = "en"
#: Environment variables naming the locale for money, first one set wins (POSIX order).
LOCALE_VARIABLES: Final = ("LC_ALL", "LC_MONETARY", "LANG")


def minor_exponent(currency: str) -> int:
    """Decimal digits of the currency's minor unit (CLDR; 2 for a code it lacks)."""
    return int(get_currency_precision(currency.upper()))


def to_major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as an exact decimal amount of the major unit: 2185 EUR -> 21.85."""
    return Decimal(amount_minor).scaleb(-minor_exponent(currency))


def format_money(amount_minor: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An amount in minor units written as money in `locale`: 2185, EUR, en -> €21.85."""
    code = currency.upper()
    return str(format_currency(to_major(amount_minor, code), code, locale=locale))


def locale_from_env(environ: Mapping[str, str]) -> str:
    """The locale for money named by the environment (`fr_FR.UTF-8` -> `fr_FR`), or
    DEFAULT_LOCALE when none is set, it is C/POSIX, or Babel does not know it."""
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if not value:
            continue
        name = value.split(".")[0].split("@")[0]
        if name in ("C", "POSIX"):
            return DEFAULT_LOCALE
        try:
            return str(Locale.parse(name))
        except (ValueError, UnknownLocaleError):
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE


def money_text(amount_minor: int, currency: str) -> str:
    """`format_money` in the locale the reader named (`fabnode --lang`), else the one
    this process's environment names (the CLI's)."""
    locale = current().locale if is_chosen() else locale_from_env(os.environ)
    return format_money(amount_minor, currency, locale)
