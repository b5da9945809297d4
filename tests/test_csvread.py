"""ingest/csvread.py: every physical line is a row with its own line number; nothing is swallowed."""

from __future__ import annotations

from kasuhara_metrics.ingest.csvread import LINE_COLUMN, read_csv_rows


def parse(text: str, **kw):
    kw.setdefault("column_count", 3)
    return read_csv_rows("f.csv", text.encode("utf-8"), **kw)


def test_good_rows_keep_their_physical_line_numbers():
    parsed = parse("1,2,3\n\n4,5,6\n   \n7,8,9\n")
    assert parsed.table[LINE_COLUMN].to_pylist() == [1, 3, 5]
    assert parsed.table["c0"].to_pylist() == ["1", "4", "7"]
    assert parsed.rows_read == 3


def test_an_unclosed_quote_does_not_swallow_the_next_line():
    parsed = parse('1,2,3\n"4,5,6\n7,"8",9\n10,11,12\n')
    assert [b.line for b in parsed.bad_lines] == [2]
    assert "unbalanced quotes" in parsed.bad_lines[0].reason
    good = sorted(parsed.table[LINE_COLUMN].to_pylist() + [o.line for o in parsed.odd_rows])
    assert good == [1, 3, 4]
    assert parsed.rows_read == 4


def test_rows_with_another_field_count_come_back_with_their_fields():
    parsed = parse("1,2,3\n4,5\n6,7,8,9\n")
    assert [(o.line, o.fields) for o in parsed.odd_rows] == [(2, ["4", "5"]), (3, ["6", "7", "8", "9"])]
    assert parsed.table[LINE_COLUMN].to_pylist() == [1]


def test_a_line_of_bare_delimiters_is_a_rejected_row_not_a_blank_line():
    parsed = parse("1,2,3\n,,\n\n")
    assert [(b.line, b.reason) for b in parsed.bad_lines] == [(2, "record has no values")]
    assert parsed.rows_read == 2


def test_header_line_is_not_a_row_and_names_columns():
    parsed = read_csv_rows("f.csv", b"a,b\n1,2\n3,4\n", header=True)
    assert parsed.header == ["a", "b"]
    assert parsed.table[LINE_COLUMN].to_pylist() == [2, 3]


def test_crlf_line_ends_and_quoted_commas():
    parsed = parse('"a,b",2,3\r\n4,"5 ""x""",6\r\n')
    assert parsed.table["c0"].to_pylist() == ["a,b", "4"]
    assert parsed.table["c1"].to_pylist() == ["2", '5 "x"']


def test_raw_lines_returns_the_text_as_written():
    parsed = parse("1,2,3\n4,5\n")
    assert parsed.raw_lines({2}) == {2: "4,5"}


def test_a_quoted_field_spanning_two_lines_falls_back_to_line_by_line_reading():
    parsed = parse('1,"a\nb",3\n4,5,6\n')
    # pyarrow would read lines 1-2 as one record; each physical line is a row, and each half
    # has an unclosed quote on its own line.
    assert [b.line for b in parsed.bad_lines] == [1, 2]
    assert parsed.table[LINE_COLUMN].to_pylist() == [3]
    assert parsed.rows_read == 3


def test_a_last_line_cut_short_inside_quotes_is_named_as_such():
    parsed = parse('1,2,3\n4,"5,6', column_count=3)
    assert [(b.line, b.reason.split(":")[0]) for b in parsed.bad_lines] == [(2, "the last line has no line end")]
    # The same unclosed quote on a line that ends is an unbalanced quote.
    parsed = parse('1,2,3\n4,"5,6\n', column_count=3)
    assert parsed.bad_lines[0].reason.startswith("unbalanced quotes")
