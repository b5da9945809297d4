"""The file for counsel, 延べ対応時間 and the preservation list, on the bundled samples: every contact
with its record ids, totals that add up, the number only when revealed (and the reveal recorded), and
the recordings behind every open or confirmed flag."""

from __future__ import annotations

import re
from datetime import date

import pytest
from openpyxl import load_workbook

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.common.identity import classify_number, pseudonymizer_for
from kasuhara_metrics.common.site import SiteSettings
from kasuhara_metrics.desk.handling import handling_totals
from kasuhara_metrics.desk.reviews import add_review

from .conftest import SAMPLES, rows, write


@pytest.fixture
def ward(judged_ward):
    return judged_ward


def _sample_numbers() -> set[str]:
    found: set[str] = set()
    for path in list((SAMPLES / "asterisk").glob("*.csv")) + list((SAMPLES / "visits").glob("*.csv")):
        found |= set(re.findall(r"0[789]0-?\d{4}-?\d{4}|0\d-?\d{4}-?\d{4}", path.read_text("utf-8", "replace")))
    return found


def test_the_evidence_file_holds_every_contact_with_its_record_ids_and_totals_that_add_up(ward, tmp_path):
    db_path, invoke = ward
    site = write(tmp_path, "site.toml", "[site]\nstaff_hourly_cost = 3600\n")  # one yen a second
    with connect(db_path, read_only=True) as db:
        key = rows(db, "SELECT requester_key FROM flags WHERE rule_id = 'cross_department' ORDER BY first_at")[0][0]
        contacts = rows(
            db, "SELECT source_ids, talk_s, department FROM contacts WHERE requester_key = ? ORDER BY started_at", [key]
        )
    result = invoke("--site", str(site), "evidence", key, "--out", str(tmp_path / "file"))
    assert result.exit_code == 0, result.output
    book = load_workbook(tmp_path / "file" / f"evidence-{key}.xlsx")
    timeline = list(book["対応の記録"].iter_rows(min_row=2, values_only=True))
    assert [row[8] for row in timeline] == ["; ".join(ids) for ids, _, _ in contacts]
    assert all(row[10] for row in timeline)  # each of this requester's contacts is behind the flag
    cover = {row[0]: row[1] for row in book["表紙"].iter_rows(min_row=2, values_only=True)}
    seconds = sum(talk for _, talk, _ in contacts)
    assert cover["対象者（仮名）"] == key and cover["対応件数"] == len(contacts)
    assert (
        cover["延べ対応時間（分）"] == pytest.approx(seconds / 60, abs=0.051) and cover["人件費の目安（円）"] == seconds
    )
    departments = list(book["部署別の対応時間"].iter_rows(min_row=2, values_only=True))
    assert sum(row[1] for row in departments) == len(contacts)
    assert {row[0] for row in departments} == {d or "(不明)" for _, _, d in contacts}
    assert [row[0] for row in book["フラグと確認"].iter_rows(min_row=2, values_only=True)]
    html = (tmp_path / "file" / f"evidence-{key}.html").read_text(encoding="utf-8")
    assert key in html and 'id="revealed-number"' not in html and "電話番号" not in html
    numbers = _sample_numbers()
    everything = html + "\n".join(str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row)
    assert not [n for n in numbers if n in everything or n.replace("-", "") in everything]


def test_a_reveal_needs_the_number_and_a_name_and_is_recorded_without_the_number(ward, tmp_path):
    db_path, invoke = ward
    with connect(db_path, read_only=True) as db:
        flagged = {r[0] for r in rows(db, "SELECT requester_key FROM flags")}
        pseudonyms = pseudonymizer_for(db, create=False)
        site = SiteSettings()
        number = next(
            n
            for n in sorted(_sample_numbers())
            if (canonical := classify_number(n, site).external_number) and pseudonyms.key(canonical) in flagged
        )
        key = pseudonyms.key(classify_number(number, site).external_number)
    assert invoke("evidence", number, "--reveal", "--out", str(tmp_path / "x")).exit_code == 2  # no --by
    refused = invoke("evidence", key, "--reveal", "--by", "佐藤", "--out", str(tmp_path / "x"))
    assert refused.exit_code == 1 and "needs the requester's phone number" in refused.output
    result = invoke("evidence", number, "--reveal", "--by", "佐藤", "--out", str(tmp_path / "file"))
    assert result.exit_code == 0, result.output
    html = (tmp_path / "file" / f"evidence-{key}.html").read_text(encoding="utf-8")
    assert f'<td class="revealed" id="revealed-number">{number}</td>' in html
    cover = dict(load_workbook(tmp_path / "file" / f"evidence-{key}.xlsx")["表紙"].iter_rows(values_only=True))
    assert cover["電話番号（開示）"] == number and cover["開示した者"] == "佐藤"
    with connect(db_path, read_only=True) as db:
        (reveal,) = rows(db, "SELECT requester_key, revealed_by, account, written_to FROM reveals")
        assert reveal[:2] == (key, "佐藤") and reveal[2] and reveal[3] == str((tmp_path / "file").resolve())
        digits = number.replace("-", "")
        assert not rows(
            db, "SELECT * FROM reveal_rows WHERE list_contains([requester_key, revealed_by, written_to], ?)", [digits]
        )
    assert digits not in (tmp_path / "ward.duckdb").read_bytes().decode("latin-1")


def test_handling_totals_per_department_add_up_to_the_requesters(ward):
    db_path, _ = ward
    with connect(db_path, read_only=True) as db:
        people = {r["requester_key"]: r for r in handling_totals(db, hourly_cost=4000)}
        by_department = handling_totals(db, hourly_cost=4000, by_department=True)
        talk = dict(
            rows(db, "SELECT requester_key, sum(talk_s) FROM contacts WHERE requester_key IS NOT NULL GROUP BY 1")
        )
    assert people and set(people) == set(talk)
    for key, person in people.items():
        mine = [d for d in by_department if d["requester_key"] == key]
        assert sum(d["contacts"] for d in mine) == person["contacts"] == person["calls"] + person["visits"]
        assert person["handling_minutes"] == pytest.approx(talk[key] / 60, abs=0.051)  # to a tenth of a minute
        assert person["staff_cost_yen"] == round(talk[key] * 4000 / 3600)
    assert [p["handling_minutes"] for p in people.values()] == sorted(
        (p["handling_minutes"] for p in people.values()), reverse=True
    )


def test_the_preservation_list_holds_the_calls_behind_open_and_confirmed_flags(ward):
    db_path, invoke = ward
    since = date(2026, 9, 10)

    def expected(db) -> set[str]:
        return {
            source
            for (source,) in rows(
                db,
                """SELECT DISTINCT unnest(e.source_ids) FROM flag_evidence e JOIN flags f USING (flag_id)
                   WHERE e.channel = 'call' AND f.review_status <> 'dismissed'
                     AND e.started_at >= TIMESTAMPTZ '2026-09-10 00:00:00+09'""",
            )
        }

    def listed() -> set[str]:
        output = invoke("preserve", "--since", since.isoformat(), "--format", "csv").output
        return {line.split(",")[0] for line in output.splitlines()[1:]}

    with connect(db_path, read_only=True) as db:
        before = expected(db)
        flag = rows(db, "SELECT flag_id FROM flags WHERE rule_id = 'immediate_redial' ORDER BY first_at DESC")[0][0]
    assert listed() == before and before
    with connect(db_path) as db:
        add_review(db, flag, "dismissed", "佐藤")
        after = expected(db)
    assert after < before and listed() == after
    assert invoke("preserve", "--since", "2030-01-01").output.strip() == (
        "No calls behind open or confirmed flags since that day."
    )
