"""common/bulkidentity.py: the SQL path classifies and pseudonymises exactly as the Python one.

Callers are classified in bulk (plain digits in DuckDB, the rest one by one in Python); the table
must equal `identify_each`'s, value for value and key for key, so existing databases keep their
pseudonyms. Generated values cover every form docs/ingest.md names.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from kasuhara_metrics.common.bulkidentity import identify_phones, identify_values
from kasuhara_metrics.common.identity import WITHHELD_WORDS, Pseudonymizer, identify_each
from kasuhara_metrics.common.site import SiteSettings

DIGITS = st.text("0123456789", min_size=0, max_size=13)
NATIONAL = st.builds(
    lambda head, rest: head + rest,
    st.sampled_from(["0", "03", "06", "090", "080", "070", "050", "0120", "0570", "010", "00", "0800", "020", "9"]),
    st.text("0123456789", min_size=0, max_size=10),
)
FULL_WIDTH = NATIONAL.map(lambda s: s.translate(str.maketrans("0123456789", "０１２３４５６７８９")))
FORMS = st.one_of(
    DIGITS,
    NATIONAL,
    NATIONAL.map(lambda s: s + " "),
    NATIONAL.map(lambda s: f"{s[:3]}-{s[3:7]}-{s[7:]}"),
    NATIONAL.map(lambda s: "+81" + s[1:]),
    NATIONAL.map(lambda s: "9" + s),  # behind an outside-line code
    NATIONAL.map(lambda s: f"sip:{s}@pbx.example;user=phone"),
    NATIONAL.map(lambda s: f'"山田 太郎" <{s}>'),
    FULL_WIDTH,
    st.sampled_from(sorted(WITHHELD_WORDS)),
    st.sampled_from(["anonymous", "SIP/201-0000001a", "client1", "0" * 10, "", " "]),
    st.none(),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(FORMS, max_size=40, unique=True),
    internal_max_digits=st.integers(0, 8),
    prefix=st.sampled_from(["", "0", "9"]),
    staff=st.lists(NATIONAL, max_size=3),
    secret=st.binary(min_size=16, max_size=100),
    earlier=st.lists(FORMS, max_size=20),
    earlier_with=st.sampled_from(["this site and secret", "another site", "another secret"]),
)
def test_bulk_identities_equal_the_python_classifier(
    values, internal_max_digits, prefix, staff, secret, earlier, earlier_with
):
    """Also after values met before in the process (an earlier batch), with these settings or others."""
    site = SiteSettings(
        internal_max_digits=internal_max_digits,
        outside_line_prefix=prefix,
        staff_numbers=tuple(staff) + tuple(v for v in values[:2] if v),
    )
    before = {
        "this site and secret": (site, secret),
        "another site": (replace(site, internal_max_digits=(internal_max_digits + 4) % 9, staff_numbers=()), secret),
        "another secret": (site, secret + b"another"),
    }[earlier_with]
    identify_values(earlier + values[::2], before[0], Pseudonymizer(before[1]))
    expected = identify_each(values, site, Pseudonymizer(secret))
    got = identify_values(values, site, Pseudonymizer(secret))
    assert got.to_pylist() == expected.to_pylist()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(FORMS, max_size=30, unique=True), secret=st.binary(min_size=16, max_size=40))
def test_visitors_phones_in_bulk_equal_the_python_classifier_blanks_being_no_phone(values, secret):
    """A reception log's distinct phones, blanks among them (several blanks are all no phone)."""
    site = SiteSettings()
    blanks_as_none = [v if v and v.strip() else None for v in values]
    expected = identify_each(blanks_as_none, site, Pseudonymizer(secret)).to_pylist()
    for row, raw in zip(expected, values, strict=True):
        row["raw"] = raw
    assert identify_phones(values, site, Pseudonymizer(secret)).to_pylist() == expected


def test_a_year_of_callers_keeps_its_keys():
    # The keys a database already holds: the same secret and number give the same pseudonym.
    pseudo = Pseudonymizer(b"k" * 32)
    table = identify_values(["0312345678", "09012345678", "201", "非通知"], SiteSettings(), pseudo).to_pylist()
    assert [row["class"] for row in table] == ["external", "external", "internal", "withheld"]
    assert table[0]["key"] == pseudo.key("+81312345678") and table[1]["key"] == pseudo.key("+819012345678")
    assert table[2]["key"] is None and table[2]["canonical"] == "201"
