"""contacts/: legs become contacts; transfers and forks are one contact; nobody's calls stay apart."""

from __future__ import annotations

from datetime import datetime, timedelta

from .conftest import ingest, rows, write
from .helpers import SITE, cdr18

T = datetime(2026, 9, 1, 10, 0, 0)


def load(db, tmp_path, lines):
    ingest(db, "calls", write(tmp_path, f"c{len(lines)}.csv", "\n".join(lines) + "\n"))


def without_ids(line: str) -> str:
    """The same record as a 16-column cdr_csv row: no uniqueid, no userfield."""
    return ",".join(line.split(",")[:16])


def test_a_transfer_written_as_two_records_is_one_contact(db, tmp_path):
    # No ids (16 columns): the second leg starts the second the first ends.
    first = without_ids(cdr18("09012345678", T, dst="201", talk=90))
    second = without_ids(cdr18("09012345678", T + timedelta(seconds=95), dst="231", ring=0, talk=240))
    ingest(db, "departments", write(tmp_path, "d.csv", "201,区民課\n231,税務課\n"))
    load(db, tmp_path, [first, second])
    # Records without ids are named by their file's content hash and line: the same in every run.
    key = rows(db, "SELECT substr(sha256, 1, 12) FROM ingest_log WHERE kind = 'calls'")[0][0]
    assert rows(db, "SELECT legs, talk_s, span_s, department, source_ids FROM contacts") == [
        (2, 330, 335, "税務課", [f"f{key}:1", f"f{key}:2"])
    ]


def test_calls_with_their_own_ids_are_never_merged_by_time(db, tmp_path):
    # Two lines at once (a second phone): two calls, both counted, each with its own talk time.
    first = cdr18("09012345678", T, dst="201", talk=100, ring=0, uniqueid="1788000000.1")
    second = cdr18("09012345678", T + timedelta(seconds=30), dst="231", talk=175, ring=0, uniqueid="1788000000.2")
    load(db, tmp_path, [first, second])
    assert rows(db, "SELECT legs, talk_s FROM contacts ORDER BY started_at") == [(1, 100), (1, 175)]


def test_the_final_department_is_the_last_answered_legs_even_when_unmapped(db, tmp_path):
    legs = [
        cdr18("09012345678", T, dst="201", talk=60, ring=0, uniqueid="1788000000.5"),
        cdr18("09012345678", T + timedelta(seconds=60), dst="299", talk=60, ring=0, uniqueid="1788000000.5"),
    ]
    ingest(db, "departments", write(tmp_path, "d.csv", "201,区民課\n"))
    load(db, tmp_path, legs)
    assert rows(db, "SELECT legs, department FROM contacts") == [(2, None)]


def test_talk_time_is_the_union_of_answered_intervals(db, tmp_path):
    # An attended transfer: the second leg's talk overlaps the first's by 30 seconds.
    first = without_ids(cdr18("09012345678", T, talk=120, ring=0))
    second = without_ids(cdr18("09012345678", T + timedelta(seconds=90), talk=100, ring=0, dst="231"))
    load(db, tmp_path, [first, second])
    assert rows(db, "SELECT legs, talk_s FROM contacts") == [(2, 190)]


def test_a_redial_after_hanging_up_is_a_new_contact(db, tmp_path):
    first = cdr18("09012345678", T, talk=60, ring=0)
    again = cdr18("09012345678", T + timedelta(seconds=62), talk=60, ring=0)
    load(db, tmp_path, [first, again])
    assert rows(db, "SELECT count(*), count(DISTINCT requester_key) FROM contacts") == [(2, 1)]


def test_busy_retries_are_separate_unanswered_contacts(db, tmp_path):
    lines = [cdr18("09012345678", T + timedelta(minutes=m), disposition="BUSY", talk=10) for m in range(4)]
    load(db, tmp_path, lines)
    assert rows(db, "SELECT count(*), bool_or(answered), any_value(outcome) FROM contacts") == [(4, False, "busy")]


def test_withheld_callers_are_never_merged_or_given_a_requester(db, tmp_path):
    lines = [cdr18("", T + timedelta(seconds=s), clid='"" <>', talk=300, uniqueid=f"w.{s}") for s in (0, 10, 20)]
    lines.append(cdr18("anonymous", T, clid='"anonymous" <anonymous>', talk=300, uniqueid="w.x"))
    load(db, tmp_path, lines)
    assert rows(db, "SELECT count(*), count(requester_key), max(legs) FROM contacts") == [(4, 0, 1)]
    assert rows(db, "SELECT count(*) FROM requesters") == [(0,)]


def test_staff_calls_and_outbound_calls_belong_to_no_requester(db, tmp_path):
    lines = [
        cdr18("221", T, dst="231", dcontext="from-internal", uniqueid="s.1"),
        cdr18("241", T, dst="09012345678", dcontext="from-internal", uniqueid="s.2"),
        cdr18("0312345678", T, dst="201", dcontext="from-internal", uniqueid="s.3"),
    ]
    load(db, tmp_path, lines)
    assert rows(db, "SELECT direction, caller_class, requester_key FROM contacts ORDER BY source_ids") == [
        ("internal", "internal", None),
        ("outbound", "internal", None),
        ("internal", "internal", None),
    ]
    # The resident's number dialled by staff is not stored in clear.
    assert rows(db, "SELECT count(*) FROM call_legs WHERE dialled LIKE '%12345678%'") == [(0,)]


def test_linkedid_groups_legs_of_one_call(db, tmp_path):
    from .conftest import FILES

    ingest(db, "calls", FILES / "asterisk" / "forked-21.csv")
    assert rows(db, "SELECT contact_id, legs, outcome, talk_s, span_s FROM contacts") == [
        ("call:1788760800.12", 3, "answered", 180, 187)
    ]


def test_dialled_numbers_other_than_extensions_are_stored_only_as_pseudonyms(db, tmp_path):
    ingest(db, "departments", write(tmp_path, "d.csv", "03-5555-0101,区民課\n"))
    lines = [
        cdr18("09012345678", T, dst="0355550101", uniqueid="1788000000.1"),  # our DID
        cdr18("241", T, dst="009012345678", dcontext="from-internal", uniqueid="1788000000.2"),  # outside-line 0
        cdr18("client1", T, dst="08011112222", uniqueid="1788000000.3"),  # a softphone calling out
    ]
    load(db, tmp_path, lines)
    dialled = rows(db, "SELECT dialled, dialled_class FROM calls ORDER BY uniqueid")
    assert all(value.startswith("R") and cls == "number" for value, cls in dialled)
    assert rows(db, "SELECT direction, department FROM contacts ORDER BY source_ids") == [
        ("inbound", "区民課"),
        ("outbound", None),
        ("outbound", None),
    ]


def _contacts_table(db):
    return rows(db, "SELECT * EXCLUDE (source_ids), list_sort(source_ids) FROM contacts ORDER BY contact_id")


def test_a_refresh_after_each_file_gives_the_contacts_of_a_full_rebuild(tmp_path):
    """Contacts are rebuilt only for the new files' requesters; the result is that of a full rebuild."""
    from kasuhara_metrics import contacts
    from kasuhara_metrics.common.db import connect
    from kasuhara_metrics.ingest import IngestOptions, ingest_files
    from kasuhara_metrics.ingest.sources.mapped import load_mapping

    from .conftest import CALL_EXPORTS, SAMPLES

    batches = [("departments", [SAMPLES / "departments.csv"], IngestOptions())]
    batches += [("calls", [path], IngestOptions()) for path in CALL_EXPORTS]
    batches += [
        (
            "calls",
            [SAMPLES / "pbx" / "calls-cp932.csv"],
            IngestOptions(mapping=load_mapping(SAMPLES / "mapping-example.toml")),
        )
    ]
    batches += [("visits", [path], IngestOptions()) for path in sorted((SAMPLES / "visits").glob("*.csv"))]
    batches += [
        (
            "calls",
            [write(tmp_path, "late.csv", cdr18("09010000008", T + timedelta(days=40), uniqueid="1799999999.1") + "\n")],
            IngestOptions(),
        )
    ]
    with connect(str(tmp_path / "steps.duckdb")) as db:
        scopes = []
        for kind, paths, options in batches:
            report = ingest_files(db, kind, [str(p) for p in paths], options)
            assert not report.failures
            scopes.append(db.meta("contacts_built_through_file"))
        stepwise = _contacts_table(db)
        with db.transaction():
            contacts.rebuild(db)
        assert _contacts_table(db) == stepwise
    # The late file touched one requester: only theirs were rebuilt.
    with connect(str(tmp_path / "steps.duckdb")) as db:
        late = write(
            tmp_path, "later.csv", cdr18("09010000008", T + timedelta(days=41), uniqueid="1799999999.2") + "\n"
        )
        ingest_files(db, "calls", [str(late)], IngestOptions(), rebuild_contacts=False)
        with db.transaction():
            done = contacts.refresh(db)
        assert done.requesters is not None and len(done.requesters) == 1


def test_a_refresh_keeps_every_leg_of_a_call_whose_later_leg_shows_another_caller(db):
    """A Twilio <Dial> leg shows the ward's number as its caller: when a later file touches only the
    resident, the refresh must still take the whole call (a full rebuild's contacts, not one leg)."""
    from kasuhara_metrics import contacts

    from .conftest import FILES

    ingest(db, "calls", FILES / "twilio" / "call-log.csv")
    ingest(db, "calls", FILES / "3cx" / "cdr.log")  # 0312345678 calls again, through 3CX
    stepwise = _contacts_table(db)
    assert rows(
        db, "SELECT legs, outcome FROM contacts WHERE contact_id = 'call:CA00000000000000000000000000000001'"
    ) == [(2, "answered")]
    with db.transaction():
        contacts.rebuild(db)
    assert _contacts_table(db) == stepwise


def test_a_later_leg_of_a_call_staff_placed_replaces_its_stored_contact(db, tmp_path):
    """The stored contact of a call staff placed belongs to no requester. When a later file adds a
    leg showing the resident, the refresh finds that contact by its call, not by a requester, from
    the earliest leg of the call on, and replaces it: one contact, as a full rebuild makes it."""
    from kasuhara_metrics import contacts

    placed = cdr18("241", T, dst="09012345678", dcontext="from-internal", uniqueid="1788000000.5", talk=300)
    others = [cdr18(f"0901000{n:04d}", T + timedelta(hours=1, minutes=n)) for n in range(6)]
    load(db, tmp_path, [placed, *others])
    resident_leg = cdr18("09012345678", T + timedelta(seconds=40), dst="201", uniqueid="1788000000.5")
    ingest(db, "calls", write(tmp_path, "later.csv", resident_leg + "\n"))
    assert rows(db, "SELECT legs, requester_key FROM contacts WHERE contact_id = 'call:1788000000.5'") == [(2, None)]
    stepwise = _contacts_table(db)
    with db.transaction():
        contacts.rebuild(db)
    assert _contacts_table(db) == stepwise


def test_files_holding_most_records_build_everything_and_a_day_builds_what_it_touches(db, tmp_path):
    """A refresh takes the shorter way: when the new files hold most records (the first calls after
    the departments), everything is built; a later day's file rebuilds only what it touches."""
    from kasuhara_metrics import contacts
    from kasuhara_metrics.ingest import IngestOptions, ingest_files

    def calls_file(name: str, callers: range, day: int):
        lines = [cdr18(f"0901000{n:04d}", T + timedelta(days=day, minutes=n)) for n in callers]
        path = write(tmp_path, name, "\n".join(lines) + "\n")
        ingest_files(db, "calls", [str(path)], IngestOptions(), rebuild_contacts=False)

    calls_file("first.csv", range(3), 0)
    with db.transaction():
        assert contacts.refresh(db).changed_from is None  # no earlier build
    calls_file("most.csv", range(10, 20), 1)
    with db.transaction():
        assert contacts.refresh(db).changed_from is None  # 10 new records of 13: everything
    calls_file("day.csv", range(10, 12), 2)
    with db.transaction():
        done = contacts.refresh(db)
    assert done.changed_from is not None and len(done.changed_from) == 2
    assert min(done.changed_from.values()) == (T + timedelta(days=2, minutes=10)).replace(tzinfo=SITE)
    assert rows(db, "SELECT count(*) FROM contacts") == [(15,)]


def test_a_visit_that_links_two_phones_rebuilds_only_their_requesters_contacts(db, tmp_path):
    """A reference number given with two phones makes them one requester: every contact of both
    moves to it, however old, and nobody else's contacts are rebuilt or judged again."""
    from kasuhara_metrics import contacts
    from kasuhara_metrics.ingest import IngestOptions, ingest_files

    lines = [cdr18(f"0901000{n:04d}", T + timedelta(days=day, minutes=n)) for n in range(6) for day in range(4)]
    ingest_files(db, "calls", [str(write(tmp_path, "calls.csv", "\n".join(lines) + "\n"))], IngestOptions())
    first_call = dict(rows(db, "SELECT requester_key, min(started_at) FROM contacts GROUP BY requester_key"))
    visits = write(
        tmp_path,
        "visits.csv",
        "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref\n"
        "V1,2026-09-05 10:00,2026-09-05 10:20,税務課,苦情,住民税,09010000001,K-0001\n"
        "V2,2026-09-06 10:00,2026-09-06 10:20,税務課,苦情,住民税,09010000002,K-0001\n",
    )
    ingest_files(db, "visits", [str(visits)], IngestOptions(), rebuild_contacts=False)
    with db.transaction():
        done = contacts.refresh(db)
    stepwise = _contacts_table(db)
    # the phone whose calls moved to the other phone's requester, and that requester: not everyone
    links = dict(rows(db, "SELECT alias_key, requester_key FROM requester_links"))
    (moved,) = links.keys() & first_call.keys()
    assert done.changed_from == {moved: first_call[moved], links[moved]: first_call[moved]}
    assert rows(db, "SELECT count(DISTINCT requester_key) FROM contacts WHERE requester_key IS NOT NULL") == [(5,)]
    with db.transaction():
        contacts.rebuild(db)
    assert _contacts_table(db) == stepwise
