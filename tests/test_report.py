"""The weekly report: the week's numbers as `kasuhara flags --week` has them, nothing personal in
the page or the workbook, and the page really renders in a browser with its charts and tables."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from kasuhara_metrics.common.db import connect
from kasuhara_metrics.desk.flags import list_flags
from kasuhara_metrics.desk.reviews import add_review
from kasuhara_metrics.judge import judge
from kasuhara_metrics.report import Week, write_report
from kasuhara_metrics.rules import load_profile

from .conftest import SAMPLES, fixture_secret, ingest_sample_ward

PROFILE = load_profile()
WEEK = Week.parse("2026-W38", "Asia/Tokyo")
SECRET_NOTE = "山田太郎さんは転居の相談"
REVIEWER = "佐藤花子"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    with fixture_secret():
        db = connect(str(folder / "ward.duckdb"))
        ingest_sample_ward(db)
    judge(db, PROFILE)
    first = db.con.execute(
        "SELECT flag_id FROM flags WHERE first_at < ? AND last_at >= ? ORDER BY flag_id LIMIT 1", [WEEK.end, WEEK.start]
    ).fetchall()[0][0]
    add_review(db, first, "dismissed", REVIEWER, SECRET_NOTE)
    files = write_report(db, PROFILE, WEEK, folder / "out")
    yield db, files
    db.close()


def test_iso_weeks_start_on_monday_in_the_site_zone():
    assert WEEK.start == datetime(2026, 9, 14, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert WEEK.end == datetime(2026, 9, 21, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert Week.containing(datetime(2026, 9, 20, 14, 59, tzinfo=ZoneInfo("UTC")), "Asia/Tokyo").label == "2026-W38"
    assert Week.containing(datetime(2026, 9, 20, 15, 0, tzinfo=ZoneInfo("UTC")), "Asia/Tokyo").label == "2026-W39"
    assert [w.label for w in Week.parse("2026-W02", "Asia/Tokyo").previous(3)] == ["2025-W52", "2026-W01", "2026-W02"]


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: dict[str, str] = {}
        self.svgs = 0
        self._id = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.svgs += tag == "svg"
        self._id = attrs.get("id")

    def handle_endtag(self, tag):
        self._id = None

    def handle_data(self, data):
        if self._id:
            self.ids[self._id] = self.ids.get(self._id, "") + data.strip()


def test_the_numbers_match_the_flags_of_that_week(built):
    db, files = built
    columns, rows = list_flags(db, week=WEEK)
    flags = [dict(zip(columns, row, strict=True)) for row in rows]
    page = _Text()
    page.feed(files.html.read_text(encoding="utf-8"))
    assert int(page.ids["total-flags"].replace(",", "")) == len(flags) > 0
    assert int(page.ids["new-flags"].replace(",", "")) == sum(f["first_at"] >= WEEK.start for f in flags)
    assert int(page.ids["alert-flags"].replace(",", "")) == sum(f["severity"] == "alert" for f in flags)
    for flag in flags:
        assert flag["requester"] in files.html.read_text(encoding="utf-8")
    book = load_workbook(files.workbook)
    summary = {row[0]: row[1] for row in book["概要"].iter_rows(min_row=2, values_only=True)}
    assert summary["今週のフラグ"] == len(flags) and summary["警告"] == int(page.ids["alert-flags"].replace(",", ""))
    assert book["対象者別"].max_row - 1 == len(flags)
    assert book.sheetnames == [
        "概要",
        "今週の判断",
        "収集状況",
        "類型別",
        "部署別",
        "推移",
        "対象者別",
        "延べ対応時間",
        "判定の対象外",
    ]
    handling = list(book["延べ対応時間"].iter_rows(min_row=2, values_only=True))
    assert {row[0] for row in handling} == {f["requester"] for f in flags}  # every flagged person, per department
    trend = list(book["推移"].iter_rows(min_row=2, values_only=True))
    assert len(trend) == 8 and trend[-1][0] == "2026-W38"


def _decision_order(db, flags: list[dict]) -> list[str]:
    """This week's decisions by the page's rule, worked out here in Python: the new flags and all alert
    flags; alert first, then new, then the most handling minutes behind the flag."""
    minutes = dict(
        db.con.execute(
            "SELECT flag_id, CAST(round(sum(talk_s) / 60.0) AS INTEGER) FROM flag_evidence GROUP BY ALL"
        ).fetchall()
    )
    chosen = [f for f in flags if f["first_at"] >= WEEK.start or f["severity"] == "alert"]
    chosen.sort(key=lambda f: (f["first_at"], f["flag_id"]))
    chosen.sort(
        key=lambda f: (f["severity"] == "alert", f["first_at"] >= WEEK.start, minutes.get(f["flag_id"], 0)),
        reverse=True,
    )
    return [f["flag_id"] for f in chosen]


def test_the_page_leads_with_this_weeks_decisions_in_order(built):
    db, files = built
    columns, rows = list_flags(db, week=WEEK)
    flags = [dict(zip(columns, row, strict=True)) for row in rows]
    html = files.html.read_text(encoding="utf-8")
    expected = _decision_order(db, flags)
    assert any(f["first_at"] < WEEK.start for f in flags) and len(expected) < len(flags)  # some ongoing watch
    assert re.findall(r'<tr data-flag="(F[0-9a-f]{16})">', html) == expected
    assert html.index('id="decisions"') < html.index('id="behaviours"')  # the first thing after the summary
    book = load_workbook(files.workbook)
    sheet = list(book["今週の判断"].iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in sheet] == expected
    first = next(f for f in flags if f["flag_id"] == expected[0])
    assert sheet[0][6] == first["first_at"].astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None)  # a real date
    assert book["今週の判断"].auto_filter.ref == f"A1:S{len(expected) + 1}"  # through the review columns
    ongoing = [f for f in flags if f["first_at"] < WEEK.start and f["severity"] != "alert"]
    table = html[html.index('id="ongoing-table"') : html.index("</table>", html.index('id="ongoing-table"'))]
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)[::3]]
    assert sum(counts) == len(ongoing)


def test_the_page_lists_a_bounded_number_and_the_workbook_all(built, tmp_path, monkeypatch):
    import kasuhara_metrics.report as report

    db, _ = built
    monkeypatch.setattr(report, "DECISIONS_ON_PAGE", 2)
    files = write_report(db, PROFILE, WEEK, tmp_path)
    html = files.html.read_text(encoding="utf-8")
    decisions = files.data.decisions
    assert len(decisions) > 2 and len(re.findall(r"<tr data-flag=", html)) == 2
    assert f"ほか {len(decisions) - 2} 件は" in html
    assert html.count('<div class="person"') == 2
    assert load_workbook(files.workbook)["今週の判断"].max_row - 1 == len(decisions)


def test_coverage_counts_each_source_per_day_and_a_week_without_data_says_so(built, tmp_path):
    db, files = built
    expected = {
        (channel, day): n
        for channel, day, n in db.con.execute(
            """SELECT channel, CAST(timezone('Asia/Tokyo', started_at) AS DATE), count(*) FROM contacts
               WHERE started_at >= ? AND started_at < ? GROUP BY ALL""",
            [WEEK.start, WEEK.end],
        ).fetchall()
    }
    days = [WEEK.monday + timedelta(days=n) for n in range(7)]
    assert [row["days"] for row in files.data.coverage] == [
        [expected.get((channel, day), 0) for day in days] for channel in ("call", "visit")
    ]
    assert files.data.has_data and 0 in files.data.coverage[0]["days"]  # the samples' weekend
    html = files.html.read_text(encoding="utf-8")
    assert 'id="no-data"' not in html and "データなし" in html
    # closed days come from the site's business calendar: the holidays of 2026-W39 by name
    holidays = write_report(db, PROFILE, Week.parse("2026-W39", "Asia/Tokyo"), tmp_path)
    assert holidays.data.closed == {
        0: "敬老の日",
        1: "国民の休日",
        2: "秋分の日",
        5: "土曜日",
        6: "日曜日",
    }
    assert "閉庁日（土曜日）" in holidays.html.read_text(encoding="utf-8")

    empty = write_report(db, PROFILE, Week.parse("2026-W50", "Asia/Tokyo"), tmp_path)
    page = empty.html.read_text(encoding="utf-8")
    assert not empty.data.has_data and 'id="no-data"' in page and "この週のデータはありません" in page
    assert "今週のフラグはありません" not in page and "判断が必要な新規・警告のフラグはありません" not in page
    coverage_sheet = list(load_workbook(empty.workbook)["収集状況"].iter_rows(min_row=2, values_only=True))
    assert [row[-1] for row in coverage_sheet] == [0, 0]


def test_the_wording_is_neutral(built):
    _, files = built
    for text in (files.html.read_text(encoding="utf-8"), _everything_in_workbook(files.workbook)):
        assert "要求者" not in text and "該当行為" not in text
        assert "対象者" in text and "検知された行為" in text


def _everything_in_workbook(path) -> str:
    book = load_workbook(path)
    return "\n".join(
        str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None
    )


def test_calls_never_judged_are_counted_per_file_for_the_week(built):
    # The annex writes a trunk's name as the caller of six calls, all in 2026-W38.
    db, files = built
    html = files.html.read_text(encoding="utf-8")
    table = html[html.index('id="not-judged-table"') : html.index("</table>", html.index('id="not-judged-table"'))]
    assert "Master-annex-utc.csv" in table and '<td class="num">6</td>' in table
    assert "/" not in table.split("Master-annex-utc.csv")[0].rsplit("<td>", 1)[1]  # the file's name, not its folders
    sheet = load_workbook(files.workbook)["判定の対象外"]
    rows = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ("Master-annex-utc.csv", "asterisk-cdr_csv-18") in [row[:2] for row in rows]
    assert next(row[3] for row in rows if row[0] == "Master-annex-utc.csv") == 6


def test_no_personal_data_in_the_page_or_the_workbook(built):
    db, files = built
    texts = {"html": files.html.read_text(encoding="utf-8"), "xlsx": _everything_in_workbook(files.workbook)}
    raw_numbers = set()
    for path in list((SAMPLES / "asterisk").glob("*.csv")) + list((SAMPLES / "visits").glob("*.csv")):
        raw_numbers |= set(
            re.findall(r"0[789]0-?\d{4}-?\d{4}|0\d-?\d{4}-?\d{4}", path.read_bytes().decode("utf-8", "replace"))
        )
    assert len(raw_numbers) > 100
    summaries = {"合成データ", "来庁者への説明"}
    for name, text in texts.items():
        assert not [n for n in raw_numbers if n in text or n.replace("-", "") in text], name
        assert not re.search(r"\+81\d{9,10}", text), name
        assert not any(s in text for s in summaries), name
        assert SECRET_NOTE not in text and REVIEWER not in text, name
        assert "R-7001" not in text  # a requester_ref
        assert re.search(r"R[0-9a-f]{16}", text), name  # pseudonyms are what identifies people


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed: `make test` installs Debian's chromium package"
)
def test_the_page_renders_in_a_real_browser(built, tmp_path):
    import matplotlib.image as image
    import numpy as np

    _, files = built
    url = files.html.resolve().as_uri()
    common = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    page = _Text()
    page.feed(dom)
    assert (
        page.svgs >= 2 and "過去8週間の推移" in dom and 'id="behaviour-table"' in dom and 'id="decision-table"' in dom
    )
    shot = tmp_path / "page.png"
    subprocess.run([*common, "--window-size=1200,5200", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    pixels = image.imread(shot)[..., :3]
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05
    # The charts were drawn: bars in the category colours (#c0504d, #4f81bd) are on the screen.
    for colour in ((0xC0, 0x50, 0x4D), (0x4F, 0x81, 0xBD)):
        near = np.abs(pixels * 255 - np.array(colour)).sum(axis=2) < 30
        assert near.sum() > 500, colour


@pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed: `make test` installs Debian's chromium package"
)
def test_the_evidence_page_renders_and_prints_in_a_real_browser(built, tmp_path):
    from kasuhara_metrics.report.evidence import evidence_data
    from kasuhara_metrics.report.evidence_file import write_evidence

    db, _ = built
    key = db.con.execute("SELECT requester_key FROM flags ORDER BY contacts DESC, flag_id LIMIT 1").fetchall()[0][0]
    data = evidence_data(db, key, PROFILE)
    files = write_evidence(data, tmp_path / "evidence")
    url = files.html.resolve().as_uri()
    common = [CHROMIUM, *BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    timeline = dom[dom.index('id="timeline-table"') :]
    assert timeline.count("<tr>") == len(data.contacts) + 1 and key in dom
    pdf = tmp_path / "evidence.pdf"
    subprocess.run([*common, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", url], capture_output=True, timeout=120)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
