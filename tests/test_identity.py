"""common/identity.py: phone normalisation, withheld callers, staff numbers, keyed pseudonyms, the secret."""

from __future__ import annotations

import os
import stat

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.errors import SecretError
from kasuhara_metrics.common.identity import Pseudonymizer, classify_number, load_secret, pseudonymizer_for
from kasuhara_metrics.common.site import SiteSettings

SITE = SiteSettings()


@pytest.mark.parametrize(
    "raw",
    [
        "090-1234-5678",
        "09012345678",
        "+819012345678",
        "+81 90 1234 5678",
        "０９０-１２３４-５６７８",
        '"山田" <09012345678>',
        "9012345678",
        "tel:+819012345678",
        "(090)1234-5678",
    ],
)
def test_written_forms_of_one_number_are_one_canonical_number(raw):
    identity = classify_number(raw, SITE)
    assert identity.caller_class == "external"
    assert identity.canonical == "+819012345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "  ",
        '""',
        '"" <>',
        "<>",
        "非通知",
        "ヒツウチ",
        "公衆電話",
        "表示圏外",
        "通知不可",
        "通知不可能",
        "不明",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "restricted",
        "Private",
        "unavailable",
        "unknown",
        "withheld",
        "Coin line/payphone",
        '"Coin line/payphone" <sip:anonymous@anonymous.invalid>',
        '"Interaction with other service" <sip:anonymous@anonymous.invalid>',
        "Out of Area",
        "anonymous@anonymous.invalid",
        "sip:anonymous@anonymous.invalid",
        "**********",
        "0",
        "+266696687",
        "+7378742833",
        "+8656696",
        "+2562533",
        "+86282452253",
        '"非通知" <>',
        "非通知(184)",
        # all zeros: the placeholder some systems write for no number, never an extension or a number
        "00",
        "000",
        "0000000000",
        "+000000",
        "000-0000-0000",
    ],
)
def test_withheld_caller_ids_are_never_a_number(raw):
    identity = classify_number(raw, SITE)
    assert identity.caller_class == "withheld"
    assert identity.canonical is None


def test_withheld_reason_comes_from_the_display_name_when_the_number_is_anonymous():
    assert classify_number('"Coin line/payphone" <sip:anonymous@anonymous.invalid>', SITE).note == "公衆電話"
    assert classify_number('"非通知" <>', SITE).note == "非通知"


@pytest.mark.parametrize("raw", ["101", "2001", "12345"])
def test_short_numbers_are_staff_extensions(raw):
    assert classify_number(raw, SITE).caller_class == "internal"


def test_internal_digit_limit_is_a_site_setting():
    site = SiteSettings(internal_max_digits=3)
    assert classify_number("1234", site).caller_class == "unusable"
    assert classify_number("123", site).caller_class == "internal"


@pytest.mark.parametrize("raw", ["client1", "s", "12345678", "0900000000", "0000000001"])
def test_unusable_values_are_never_requesters(raw):
    assert classify_number(raw, SITE).caller_class == "unusable"


def test_outside_line_prefix_is_stripped_when_configured():
    site = SiteSettings(outside_line_prefix="0")
    assert classify_number("00312345678", site).canonical == "+81312345678"
    assert classify_number("0312345678", site).canonical == "+81312345678"


def test_pseudonyms_are_keyed_and_stable():
    a, b = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert a.key("+819012345678") == a.key("+819012345678")
    assert a.key("+819012345678") != b.key("+819012345678")
    assert a.key("+819012345678") != a.key("+819012345679")
    assert a.key("R-1", "ref") != a.key("R-1", "tel")
    key = a.key("+819012345678")
    assert key.startswith("R") and len(key) == 17 and "9012345678" not in key


def test_secret_file_is_created_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")
    db_path = str(tmp_path / "site.duckdb")
    first = load_secret(db_path, create=True)
    mode = stat.S_IMODE(os.stat(tmp_path / "site.duckdb.secret").st_mode)
    assert mode == 0o600
    assert load_secret(db_path, create=True) == first
    assert len(first) >= 32


def test_missing_secret_is_an_error_when_not_creating(tmp_path, monkeypatch):
    monkeypatch.delenv("KASUHARA_SECRET")
    with pytest.raises(SecretError, match="KASUHARA_SECRET"):
        load_secret(str(tmp_path / "none.duckdb"), create=False)


def test_a_database_refuses_another_secret(db, monkeypatch):
    pseudonymizer_for(db, create=True)
    monkeypatch.setenv("KASUHARA_SECRET", "another-secret-0123456789abcdef")
    with pytest.raises(SecretError, match="not the one"):
        pseudonymizer_for(db, create=True)


@settings(max_examples=3000, deadline=None)
@given(
    digits=st.one_of(
        st.from_regex(r"0[1-9][0-9]{8,9}", fullmatch=True),
        st.from_regex(r"0[5-9]0[0-9]{8}", fullmatch=True),
        st.from_regex(r"\+81[1-9][0-9]{7,10}", fullmatch=True),
    )
)
def test_the_fast_japanese_path_agrees_with_phonenumbers(digits):
    """identity.py checks common Japanese forms against phonenumbers' metadata itself: same answers."""
    try:
        parsed = phonenumbers.parse(digits, "JP")
    except phonenumbers.NumberParseException:
        parsed = None
    expected = (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if parsed is not None and phonenumbers.is_valid_number(parsed)
        else None
    )
    identity = classify_number(digits, SITE)
    assert identity.canonical == expected
    assert identity.caller_class == ("external" if expected else "unusable")


def test_dialled_values_holding_more_digits_than_an_extension_are_never_in_clear():
    from kasuhara_metrics.common.identity import Pseudonymizer, identify_dialled

    pseudo = Pseudonymizer(b"0123456789abcdef0123")
    values = ["sip:8192324@pbx.example", "9#0362345678", "*6709061234567", "03-1234-5678", "201", "s"]
    table = identify_dialled(values, SITE, pseudo).to_pylist()
    assert [row["class"] for row in table] == ["number", "number", "number", "number", "extension", "none"]
    for row in table[:4]:
        assert row["value"].startswith("R") and not any(
            part in row["value"] for part in ("8192324", "62345678", "1234")
        )
    assert [row["value"] for row in table[4:]] == ["201", "s"]
