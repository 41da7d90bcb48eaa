"""tests/helpers.py `said`: a reply checked against a catalog key, so that re-wording a
message in bot/locales/*.toml breaks no end-to-end test while a wrong message still does."""

from __future__ import annotations

import pytest

from bot.core.i18n import t
from tests.helpers import said, text_of


def test_a_rendered_message_is_found_in_a_longer_reply() -> None:
    text = "前言\n" + t("zh", "reports.photos.received", count=3, max=10) + "\n后记"
    assert said(text, "reports.photos.received", count=3, max=10)
    assert said(text, "reports.photos.received", count=3)  # max: whatever stands there
    assert said(text, "reports.photos.received")


def test_a_wrong_value_another_message_or_language_is_not_found() -> None:
    text = t("zh", "reports.photos.received", count=3, max=10)
    assert not said(text, "reports.photos.received", count=4)
    assert not said(text, "reports.photos.full")
    assert not said(text, "reports.photos.received", lang="en")
    assert not said(None, "reports.photos.received")
    assert said(t("en", "reports.photos.received", count=3, max=10), "reports.photos.received",
                lang="en", count=3)


def test_values_are_matched_literally() -> None:
    text = t("zh", "reports.text.names", status="缺勤", names="罗宏伟")
    assert said(text, "reports.text.names", status="缺勤", names="罗宏伟")
    assert not said(text, "reports.text.names", status="缺勤", names="罗.伟")  # no regex


def test_mistakes_in_the_test_are_reported() -> None:
    with pytest.raises(KeyError):
        said("x", "reports.no_such_key")
    with pytest.raises(KeyError):
        said("x", "reports.photos.received", colour="red")  # not a field of the template
    with pytest.raises(ValueError):
        said("x", "reports.text.count")  # "{status} {count}": nothing fixed to look for


def test_text_of_is_the_catalog_text() -> None:
    assert text_of("reports.photos.done_button") == t("zh", "reports.photos.done_button")
    assert text_of("reports.hr.header", "en", title="A", host="B") == t(
        "en", "reports.hr.header", title="A", host="B")
