"""Money in human output: the currency's own minor-unit digits and the reader's locale
(node.cli.money, Babel's CLDR data); JSON keeps integer minor units."""

from __future__ import annotations

import pytest

from node.cli.money import format_money, locale_from_env, minor_exponent, money_text, to_major

NBSP, NNBSP = "\u00a0", "\u202f"


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("EUR", 2), ("BHD", 3), ("usd", 2)])
def test_minor_exponent_is_the_currencys_own(currency: str, digits: int) -> None:
    assert minor_exponent(currency) == digits


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (2185, "EUR", "en", "€21.85"),
        (2185, "EUR", "fr_FR", f"21,85{NBSP}€"),
        (2185, "EUR", "de_DE", f"21,85{NBSP}€"),
        (2185, "JPY", "en", "¥2,185"),
        (2185, "BHD", "en", "BHD2.185"),
        (2185, "BHD", "fr_FR", f"2,185{NBSP}BHD"),
        (5, "USD", "en_US", "$0.05"),
        (123456789, "EUR", "fr_FR", f"1{NNBSP}234{NNBSP}567,89{NBSP}€"),
        (-150, "GBP", "en_GB", "-£1.50"),
    ],
)
def test_format_money(minor: int, currency: str, locale: str, shown: str) -> None:
    assert format_money(minor, currency, locale) == shown


def test_to_major_is_exact() -> None:
    assert str(to_major(2185, "EUR")) == "21.85"
    assert str(to_major(2185, "BHD")) == "2.185"
    assert str(to_major(2185, "JPY")) == "2185"


@pytest.mark.parametrize(
    ("environ", "locale"),
    [
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr_FR"),
        ({"LANG": "fr_FR.UTF-8", "LC_MONETARY": "de_CH.UTF-8"}, "de_CH"),
        ({"LANG": "fr_FR", "LC_MONETARY": "de_CH", "LC_ALL": "ja_JP.UTF-8"}, "ja_JP"),
        ({"LC_ALL": "", "LANG": "es_ES@euro"}, "es_ES"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "xx_QQ.UTF-8"}, "en"),
    ],
)
def test_locale_from_env(environ: dict[str, str], locale: str) -> None:
    assert locale_from_env(environ) == locale


def test_money_text_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MONETARY", raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert money_text(2185, "EUR") == f"21,85{NBSP}€"
