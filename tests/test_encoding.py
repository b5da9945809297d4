"""ingest/encoding.py: UTF-8, BOM, CP932 and stray bytes, told apart without being told."""

from __future__ import annotations

import codecs

import pytest

from kasuhara_metrics.common.errors import InputFileError
from kasuhara_metrics.ingest.encoding import to_utf8

TEXT = "発信者番号,着信日時,通話時間\n非通知,2026/09/01 9:03:15,0:01:00\n①㈱,x,y\n"


def test_plain_utf8_is_passed_through():
    decoded = to_utf8(TEXT.encode("utf-8"), "f.csv")
    assert decoded.encoding == "utf-8"
    assert decoded.data.decode("utf-8") == TEXT


def test_utf8_bom_is_stripped():
    decoded = to_utf8(codecs.BOM_UTF8 + TEXT.encode("utf-8"), "f.csv")
    assert decoded.encoding == "utf-8-sig"
    assert decoded.data.decode("utf-8") == TEXT


def test_cp932_with_vendor_characters_is_detected():
    decoded = to_utf8(TEXT.encode("cp932"), "f.csv")
    assert decoded.encoding == "cp932"
    assert decoded.data.decode("utf-8") == TEXT


def test_utf16_with_bom_is_read():
    decoded = to_utf8(TEXT.encode("utf-16"), "f.csv")
    assert decoded.data.decode("utf-8") == TEXT


def test_a_stray_byte_in_a_utf8_file_replaces_only_that_byte():
    raw = "山田,1\n".encode() + b"\xa5x,2\n" + "区民,3\n".encode()
    decoded = to_utf8(raw, "f.csv")
    assert decoded.replaced_lines == [2]
    assert decoded.data.decode("utf-8").splitlines() == ["山田,1", "\ufffdx,2", "区民,3"]
    assert "line 2" in decoded.note()


def test_an_explicit_encoding_is_used():
    assert to_utf8(TEXT.encode("cp932"), "f.csv", "shift_jis").data.decode("utf-8") == TEXT


def test_an_unknown_encoding_name_says_what_to_use():
    with pytest.raises(InputFileError, match="unknown encoding 'klingon'.*cp932"):
        to_utf8(b"x", "f.csv", "klingon")


def test_utf16_with_a_broken_code_unit_keeps_the_line():
    raw = codecs.BOM_UTF16_LE + "a,1\n".encode("utf-16-le") + b"\x00\xd8" + ",2\n".encode("utf-16-le")
    decoded = to_utf8(raw, "f.csv")
    assert decoded.data.decode("utf-8").splitlines() == ["a,1", "\ufffd,2"]
    assert decoded.replaced_lines == [2]


def test_old_mac_line_ends_become_lines():
    assert to_utf8(b"a,1\rb,2\r", "f.csv").data == b"a,1\nb,2\n"
