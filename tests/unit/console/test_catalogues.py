"""Every label the console shows has its Chinese translation, and the compiled catalogues
are the ones the .po files describe."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from console_service.i18n import LOCALES, Formatter


def _catalogue(language: str, kind: str) -> dict[str, str]:
    path = LOCALES / language / "LC_MESSAGES" / f"messages.{kind}"
    reader = read_po if kind == "po" else read_mo
    with Path(path).open("rb") as file:
        catalogue = reader(io.BytesIO(file.read()))
    return {str(m.id): str(m.string) for m in catalogue if m.id}


def _template_ids() -> set[str]:
    with (LOCALES / "messages.pot").open("rb") as file:
        return {str(m.id) for m in read_po(file) if m.id}


def test_every_message_has_a_simplified_chinese_translation() -> None:
    chinese = _catalogue("zh_CN", "po")
    untranslated = sorted(i for i in _template_ids() if not chinese.get(i))
    assert not untranslated


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_compiled_catalogue_matches_its_po_file(language: str) -> None:
    source = {k: v for k, v in _catalogue(language, "po").items() if v}
    assert _catalogue(language, "mo") == source


def test_the_contract_labels_read_in_chinese() -> None:
    zh = Formatter("zh_CN").gettext
    assert [zh("Username"), zh("Password"), zh("Sign in")] == ["用户名", "密码", "登录"]
    assert zh("Record attempt") == "记录尝试"


def test_money_is_formatted_in_the_users_locale() -> None:
    assert Formatter("en").money("1234.5", "CNY") == "CN¥1,234.50"
    assert Formatter("zh_CN").money("1234.5", "CNY") == "¥1,234.50"


def test_a_moment_is_shown_in_the_borrowers_zone() -> None:
    shown = Formatter("en").when("2026-03-01T14:30:00Z", "Asia/Shanghai")
    assert "22:30" in shown
    assert shown.endswith("Asia/Shanghai")
