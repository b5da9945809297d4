"""Write the synthetic ward in data/samples/ (deterministic: the same seed gives the same bytes).

Nothing here is real: residents, numbers and summaries are generated; the ward's own numbers are
03-5555-01xx. Besides ordinary residents, who never come near a threshold, the ward holds planted
patterns (one per Bunkyo rule) and traps that must never be flagged; data/samples/planted.toml
lists both, and tests/test_planted.py checks them. Run: python scripts/make_samples.py
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

# Asterisk uniqueids carry the instant of the channel's start: site-local times are Tokyo's.
SITE = ZoneInfo("Asia/Tokyo")

OUT = Path(__file__).resolve().parent.parent / "data" / "samples"
SEED = 20260901
FMT = "%Y-%m-%d %H:%M:%S"

DEPARTMENTS = [
    ("201", "区民課"),
    ("202", "区民課"),
    ("211", "国保年金課"),
    ("221", "福祉政策課"),
    ("231", "税務課"),
    ("241", "子育て支援課"),
    ("251", "住宅課"),
    ("261", "清掃リサイクル課"),
    ("271", "広聴・広報課"),
    ("03-5555-0101", "区民課"),
    ("03-5555-0111", "国保年金課"),
    ("03-5555-0121", "福祉政策課"),
    ("03-5555-0131", "税務課"),
    ("03-5555-0141", "子育て支援課"),
    ("03-5555-0100", "代表"),
]
EXT = {name: number for number, name in reversed(DEPARTMENTS) if len(number) == 3}
VISIT_DEPARTMENTS = sorted(set(EXT))
TOPICS = ["住民票", "国民健康保険料", "住民税", "保育園入園", "区営住宅", "粗大ごみ", "児童手当", "介護保険"]


def utc_of(local: datetime) -> datetime:
    """A naive site time as the naive UTC time a system writing UTC shows."""
    return local.replace(tzinfo=SITE).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def hyphenated(number: str) -> str:
    return f"{number[:3]}-{number[3:7]}-{number[7:]}"


@dataclass
class Asterisk:
    """cdr_csv rows: strings quoted, integers bare, an unanswered call's answer time empty (,,)."""

    columns: int = 18
    counter: int = 100
    rows: list[tuple[datetime, str]] = field(default_factory=list)
    utc: bool = False  # usegmtime=yes: times written in UTC (uniqueids carry the instant either way)

    def shown(self, when: datetime) -> str:
        return (utc_of(when) if self.utc else when).strftime(FMT)

    def uniqueid(self, when: datetime) -> str:
        self.counter += 1
        return f"{int(when.replace(tzinfo=SITE).timestamp())}.{self.counter}"

    def leg(
        self,
        src: str,
        dst: str,
        start: datetime,
        *,
        talk: int = 120,
        ring: int = 6,
        disposition: str = "ANSWERED",
        uniqueid: str | None = None,
        clid: str | None = None,
        context: str = "from-trunk",
        lastapp: str = "Dial",
        dstchannel: str | None = None,
        linkedid: str | None = None,
        sequence: int = 0,
        channel: str | None = None,
    ) -> datetime:
        """One leg; returns when it ended."""
        uniqueid = uniqueid or self.uniqueid(start)
        answer = start + timedelta(seconds=ring)
        if disposition == "ANSWERED":
            end = answer + timedelta(seconds=talk)
        elif disposition == "BUSY":  # billsec counts from the busy signal: BUSY rows with billsec > 0 are real
            answer, end = start, start + timedelta(seconds=talk)
        else:
            answer, end = None, start + timedelta(seconds=ring + (talk if lastapp == "VoiceMail" else 0))
        billsec = int((end - answer).total_seconds()) if answer else 0
        clid = clid if clid is not None else f'"区民" <{src}>'
        channel = channel or (f"SIP/{src}-{self.counter:08x}" if 0 < len(src) <= 5 else f"SIP/trunk-{self.counter:08x}")
        dstchannel = dstchannel if dstchannel is not None else f"SIP/{dst}-{self.counter + 1:08x}"
        fields = [
            quote(""),
            quote(src),
            quote(dst),
            quote(context),
            quote(clid),
            quote(channel),
            quote(dstchannel),
            quote(lastapp),
            quote(f"SIP/{dst},30" if lastapp == "Dial" else ""),
            quote(self.shown(start)),
            quote(self.shown(answer)) if answer else "",
            quote(self.shown(end)),
            str(int((end - start).total_seconds())),
            str(billsec),
            quote(disposition),
            quote("DOCUMENTATION"),
        ]
        if self.columns in (17, 18, 21):
            fields.append(quote(uniqueid))
        if self.columns in (18, 21):
            fields.append(quote(""))
        if self.columns == 21:
            fields += [quote(""), quote(linkedid or uniqueid), str(sequence)]
        self.rows.append((start, ",".join(fields)))
        return end

    def lines(self, since: datetime | None = None, until: datetime | None = None) -> list[str]:
        return [
            text
            for when, text in sorted(self.rows, key=lambda r: r[0])
            if (since is None or when >= since) and (until is None or when < until)
        ]


@dataclass
class Visits:
    rows: list[list[str]] = field(default_factory=list)
    counter: int = 0

    def add(
        self,
        arrived: datetime,
        minutes: float,
        department: str,
        kind: str,
        topic: str = "",
        phone: str = "",
        ref: str = "",
        exit_after: float | None = None,
        summary: str = "来庁者への説明 (合成データ)",
    ) -> None:
        self.counter += 1
        ended = arrived + timedelta(minutes=minutes)
        exit_at = (arrived + timedelta(minutes=exit_after)).strftime("%Y-%m-%d %H:%M") if exit_after is not None else ""
        self.rows.append(
            [
                f"V{self.counter:05d}",
                arrived.strftime("%Y-%m-%d %H:%M"),
                ended.strftime("%Y-%m-%d %H:%M"),
                department,
                kind,
                topic,
                phone,
                ref,
                exit_at,
                summary,
            ]
        )

    def csv(self, month: int, extra: list[list[str]] = ()) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            [
                "visit_id",
                "arrived_at",
                "ended_at",
                "department",
                "kind",
                "topic",
                "phone",
                "requester_ref",
                "exit_requested_at",
                "summary",
            ]
        )
        for row in sorted(self.rows, key=lambda r: r[1]):
            if int(row[1][5:7]) == month:
                writer.writerow(row)
        for row in extra:
            writer.writerow(row)
        return buffer.getvalue()


def working_days(first: datetime, last: datetime) -> list[datetime]:
    days, day = [], first
    while day <= last:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


class Ward:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.september = Asterisk(18, 100)
        self.old_pbx = Asterisk(16, 90000)  # a branch office's older Asterisk: 16 columns, no ids
        self.pbx_rows: list[list[str]] = []
        self.visits = Visits()
        self.planted: list[tuple[str, str, list[str], str]] = []  # who, severity, rules, note
        self.traps: list[tuple[str, str]] = []  # who, note
        self.days = working_days(datetime(2026, 9, 1), datetime(2026, 10, 30))
        self.used_numbers: set[str] = set()

    def mobile(self) -> str:
        while True:
            number = f"0{self.rng.choice('789')}0{self.rng.randint(3000, 9999)}{self.rng.randint(1000, 9999)}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def at(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=self.rng.randint(0, 59))

    # -- ordinary residents: 1-3 short contacts, at most 2 departments, never the same day twice --
    def residents(self, count: int) -> list[str]:
        numbers = []
        for _ in range(count):
            number = self.mobile()
            numbers.append(number)
            departments = self.rng.sample(VISIT_DEPARTMENTS, 2)
            days = self.rng.sample(self.days, self.rng.randint(1, 3))
            topics = self.rng.sample(TOPICS, len(days))  # never the same topic twice
            for day, topic in zip(sorted(days), topics, strict=True):
                department = self.rng.choice(departments)
                if self.rng.random() < 0.7:
                    start = self.at(day, self.rng.randint(9, 15), self.rng.randint(0, 59))
                    outcome = self.rng.choices(["ANSWERED", "NO ANSWER", "BUSY"], [85, 10, 5])[0]
                    talk = self.rng.randint(60, 18 * 60) if outcome == "ANSWERED" else self.rng.randint(3, 20)
                    if day.month == 9 or self.rng.random() < 0.3:  # October: mostly the PBX, some Asterisk
                        self.september.leg(number, EXT[department], start, talk=talk, disposition=outcome)
                    else:
                        self.pbx_call(
                            number,
                            department,
                            start,
                            talk,
                            {"ANSWERED": "応答", "NO ANSWER": "不応答", "BUSY": "話中"}[outcome],
                        )
                else:
                    kind = self.rng.choice(["手続", "問合せ", "相談", "手続", "要望"])
                    phone = number if self.rng.random() < 0.7 else ""
                    ref = "" if phone else f"R-{self.rng.randint(1000, 9999)}"
                    self.visits.add(
                        self.at(day, self.rng.randint(9, 15), self.rng.randint(0, 59)),
                        self.rng.randint(5, 40),
                        department,
                        kind,
                        topic,
                        phone,
                        ref,
                    )
        return numbers

    def pbx_call(
        self,
        number: str,
        department: str,
        start: datetime,
        talk: int,
        status: str = "応答",
        direction: str = "外線着信",
        shown: str | None = None,
    ) -> None:
        duration = f"{talk // 3600}:{talk % 3600 // 60:02d}:{talk % 60:02d}" if status == "応答" else "0:00:00"
        self.pbx_rows.append(
            [
                direction,
                EXT.get(department, department),
                shown or hyphenated(number),
                f"{start.year}/{start.month}/{start.day} {start.hour}:{start:%M:%S}",
                duration,
                status,
            ]
        )

    def plant(self, who: str, severity: str, rules: list[str], note: str) -> None:
        self.planted.append((who, severity, rules, note))


def build(ward: Ward) -> None:
    rng, sep, visits = ward.rng, ward.september, ward.visits

    def d(month, day):
        return datetime(2026, month, day)

    ward.residents(260)

    # ---- planted patterns: each must be flagged, with exactly these rules ----
    n = "09010000001"
    sep.leg(n, "231", d(9, 3).replace(hour=10), talk=35 * 60)
    ward.plant(n, "watch", ["long_call"], "one 35-minute call")
    n = "09010000002"
    sep.leg(n, "221", d(9, 4).replace(hour=13), talk=65 * 60)
    ward.plant(n, "alert", ["long_call"], "one 65-minute call")
    n = "09010000003"
    visits.add(d(9, 7).replace(hour=10), 70, "福祉政策課", "苦情", "介護保険", n)
    ward.plant(n, "watch", ["long_visit"], "a 70-minute counter visit")
    n = "09010000004"
    visits.add(d(10, 6).replace(hour=9, minute=30), 125, "税務課", "要望", "住民税", n)
    ward.plant(n, "alert", ["long_visit"], "a 125-minute counter visit")
    n = "09010000005"
    sep.leg(n, "231", d(9, 8).replace(hour=9, minute=10), talk=25 * 60)
    visits.add(d(9, 8).replace(hour=14), 40, "税務課", "苦情", "住民税", n)
    ward.plant(n, "watch", ["department_day_total"], "25-minute call and 40-minute visit to 税務課 on one day")
    n = "09010000006"
    visits.add(d(9, 9).replace(hour=16, minute=50), 45, "区民課", "要望", "住民票", n)
    ward.plant(n, "watch", ["overstay_after_closing"], "a visit ending 17:35, 20 minutes after closing")
    n = "09010000007"
    visits.add(d(10, 8).replace(hour=10), 40, "住宅課", "苦情", "区営住宅", n, exit_after=25)
    ward.plant(
        n, "watch", ["overstay_after_exit_request"], "still at the counter 15 minutes after being asked to leave"
    )
    n = "09010000008"
    end = sep.leg(n, "211", d(9, 10).replace(hour=11), talk=120)
    for _ in range(4):
        end = sep.leg(n, "211", end + timedelta(seconds=rng.randint(20, 240)), talk=100, ring=3)
    ward.plant(n, "watch", ["immediate_redial"], "an answered call, then 4 calls each within 4 minutes of hanging up")
    n = "09010000009"
    end = sep.leg(n, "241", d(9, 15).replace(hour=14), talk=90)
    for _ in range(6):
        end = sep.leg(n, "241", end + timedelta(seconds=rng.randint(10, 120)), talk=60, ring=2)
    ward.plant(n, "alert", ["immediate_redial"], "6 immediate redials in one afternoon")
    # One caller, two written forms: three calls in the September Asterisk export (plain digits), two
    # in the October PBX export (hyphenated): five contacts, three departments, within 30 days.
    n = "09010000010"
    sep.leg(n, "201", d(9, 22).replace(hour=10), talk=300)
    sep.leg(n, "231", d(9, 25).replace(hour=11), talk=240)
    sep.leg("+81" + n[1:], "251", d(9, 29).replace(hour=9, minute=40), talk=300)  # a third form: E.164
    ward.pbx_call(n, "区民課", d(10, 2).replace(hour=10), 420)
    ward.pbx_call(n, "住宅課", d(10, 9).replace(hour=15), 360)
    ward.plant(
        n,
        "watch",
        ["cross_department"],
        "5 contacts to 3 departments in 18 days, across two exports and three number formats",
    )
    # One person by phone and at the counter: two calls, three visits (the first with the phone),
    # the later visits known only by a reference number that the first visit links.
    n = "09010000011"
    sep.leg(n, "221", d(9, 14).replace(hour=10), talk=200)
    sep.leg(n, "241", d(9, 16).replace(hour=10), talk=180)
    visits.add(d(9, 17).replace(hour=11), 20, "税務課", "苦情", "住民税", n, "R-7001")
    visits.add(d(9, 24).replace(hour=11), 20, "区民課", "問合せ", "住民票", "", "R-7001")
    visits.add(d(10, 1).replace(hour=11), 20, "福祉政策課", "要望", "介護保険", "", "R-7001")
    ward.plant(
        n, "watch", ["cross_department"], "calls and counter visits, linked by a visit that gave phone and reference"
    )
    n = "09010000012"
    for day in (d(9, 28), d(9, 30), d(10, 2)):
        visits.add(day.replace(hour=10), 15, "税務課", "苦情", "住民税", n)
    ward.plant(n, "watch", ["same_topic"], "3 complaints about 住民税 within 5 days")
    n = "09010000013"
    for day in (d(9, 1), d(9, 9), d(9, 17), d(9, 25), d(10, 1)):
        visits.add(day.replace(hour=14), 15, "国保年金課", "要望", "国民健康保険料", n)
    ward.plant(n, "watch", ["same_topic"], "5 demands about 国民健康保険料 within 30 days, never 3 in a week")
    n = "09010000014"
    start = d(9, 18).replace(hour=8, minute=40)
    for _ in range(11):
        sep.leg(n, "261", start, talk=180)
        start += timedelta(minutes=40)
    ward.plant(n, "watch", ["frequent_calls"], "11 answered calls in one day, each long after the last")

    # ---- traps: none of these may ever be flagged ----
    for day in ward.days[:40]:
        if day.month != 9:
            continue
        for clid, src in (
            ('"" <>', ""),
            ('"非通知" <>', ""),
            ('"Coin line/payphone" <sip:anonymous@anonymous.invalid>', ""),
            ('"anonymous" <anonymous>', "anonymous"),
        ):
            end = sep.leg(
                src,
                rng.choice(list(EXT.values())),
                ward.at(day, rng.randint(9, 15)),
                talk=rng.randint(35, 70) * 60,
                clid=clid,
            )
            sep.leg(src, "201", end + timedelta(seconds=30), talk=60, clid=clid)  # and calls straight back
    ward.traps.append(
        ("withheld", "非通知, 公衆電話, anonymous and empty caller IDs call long and call back at once, every day")
    )
    n = "09020000001"
    for hour in (9, 11, 14):  # transfers: the caller's channel keeps its uniqueid across both legs
        start = d(9, 11).replace(hour=hour)
        uid = sep.uniqueid(start)
        end = sep.leg(n, "202", start, talk=90, uniqueid=uid)
        sep.leg(n, "231", end, talk=240, ring=0, uniqueid=uid)
    ward.traps.append((n, "three transferred calls in a day (same uniqueid): three contacts, no redials"))
    n = "09020000002"
    for hour in (9, 11, 14):  # the branch office's 16-column export: transfers written as two records
        end = ward.old_pbx.leg(n, "251", d(10, 13).replace(hour=hour), talk=90)
        ward.old_pbx.leg(n, "231", end, talk=240, ring=0)
    ward.traps.append((n, "three transfers in a 16-column export without ids: merged by time, no redials"))
    n = "09020000003"
    start = d(9, 24).replace(hour=9, minute=5)
    for _ in range(5):
        start = sep.leg(n, "211", start, talk=8, disposition="BUSY") + timedelta(seconds=30)
    sep.leg(n, "211", start, talk=180)
    ward.traps.append((n, "5 busy retries, then an answered call: retries are not redials"))
    n = "09020000004"
    for day in ward.days[:25]:
        if day.month == 9:
            sep.leg(n, "261", ward.at(day, 12), talk=25, disposition="NO ANSWER", lastapp="VoiceMail")
    ward.traps.append((n, "leaves a voicemail every day: never answered by staff"))
    for day in ward.days[:30]:
        if day.month == 9:
            for m in range(0, 480, 40):  # staff on the phone all day: extension to extension, and out
                sep.leg("221", "231", ward.at(day, 9 + m // 60, m % 60), talk=35 * 60 // 4, context="from-internal")
            sep.leg("241", "09020000005", ward.at(day, 15), talk=40 * 60, context="from-internal")
    ward.traps.append(("09020000005", "a resident the staff call back every day for 40 minutes: outbound, not theirs"))
    n = "09020000006"
    for hour, department, kind in (
        (9, "区民課", "手続"),
        (10, "国保年金課", "手続"),
        (11, "子育て支援課", "手続"),
        (13, "税務課", "手続"),
        (14, "福祉政策課", "相談"),
    ):
        visits.add(d(10, 5).replace(hour=hour), 25, department, kind, "転入", n)
    ward.traps.append((n, "moving house: procedures at five counters in one day"))
    n = "09020000007"
    for day in ward.days[5:30]:
        for m in range(0, 8 * 60, 55):  # a contractor: 9 calls a day, to two departments, never in a rush
            department = "清掃リサイクル課" if (m // 55) % 2 else "住宅課"
            start = ward.at(day, 8 + m // 60, m % 60)
            if day.month == 9:
                sep.leg(n, EXT[department], start, talk=240)
            else:
                ward.pbx_call(n, department, start, 240)
    ward.traps.append((n, "a contractor: 9 calls a day to two departments, under every threshold"))
    # Just under each threshold.
    n = "09020000010"
    sep.leg(n, "231", d(9, 2).replace(hour=10), talk=29 * 60 + 59)
    ward.traps.append((n, "a call of 29 min 59 s"))
    n = "09020000011"
    visits.add(d(9, 3).replace(hour=10), 59, "税務課", "苦情", "住民税", n)
    ward.traps.append((n, "a 59-minute visit"))
    n = "09020000012"
    end = sep.leg(n, "211", d(9, 7).replace(hour=10), talk=120)
    for _ in range(2):
        end = sep.leg(n, "211", end + timedelta(seconds=200), talk=60)
    ward.traps.append((n, "2 redials in a day"))
    n = "09020000013"
    start = d(9, 21).replace(hour=9)
    for _ in range(9):
        sep.leg(n, "231", start, talk=120)
        start += timedelta(minutes=45)
    ward.traps.append((n, "9 answered calls in a day"))
    n = "09020000014"
    visits.add(d(9, 15).replace(hour=16, minute=45), 45, "区民課", "要望", "住民票", n)
    ward.traps.append((n, "a visit ending exactly 15 minutes after closing"))
    n = "09020000015"
    visits.add(d(9, 16).replace(hour=10), 40, "区民課", "苦情", "住民票", n, exit_after=30)
    ward.traps.append((n, "leaving exactly 10 minutes after being asked to"))
    n = "09020000016"
    sep.leg(n, "231", d(9, 29).replace(hour=9), talk=25 * 60)
    visits.add(d(9, 29).replace(hour=13), 34, "税務課", "苦情", "住民税", n)
    ward.traps.append((n, "59 minutes with one department in a day"))
    n = "09020000017"
    for day, ext in (
        (d(9, 1), "201"),
        (d(9, 8), "231"),
        (d(9, 15), "201"),
        (d(9, 22), "231"),
        (d(9, 29), "201"),
        (d(9, 30), "231"),
    ):
        sep.leg(n, ext, day.replace(hour=11), talk=300)
    ward.traps.append((n, "6 calls in a month to 2 departments"))
    n = "09020000018"
    for day in (d(9, 1), d(9, 8), d(9, 15), d(9, 22)):
        visits.add(day.replace(hour=10), 15, "税務課", "苦情", "住民税", n)
    visits.add(d(10, 2).replace(hour=10), 15, "税務課", "苦情", "住民税", n)
    ward.traps.append((n, "2 complaints a week on one topic, 4 within 30 days"))


# ---- other phone systems: every built-in reader meets an export of its own, with its quirks ----


def other_systems(ward: Ward) -> dict[str, bytes]:
    """An annex, a contractor and the call centre on other systems, each with a plant or a trap."""

    def d(day, hour, minute=0):
        return datetime(2026, 9, day, hour, minute, ward.rng.randint(0, 59))

    files = {
        "asterisk/Master-annex-utc.csv": annex_utc(ward, d),
        "freeswitch/Master.csv": freeswitch(ward, d),
        "cucm/cdr_KuyakushoCluster_01_202609170900_1": cucm(ward, d),
        "3cx/cdr.log": threecx(ward, d),
        "amazon_connect/ctr-2026-09.jsonl": amazon_connect(ward, d),
        "twilio/call-log-2026-09.csv": twilio(ward, d),
    }
    return files


def ordinary(ward: Ward, count: int, hours=(9, 16)) -> list[tuple[str, datetime, int, str]]:
    """Residents who call once or twice, on different days: (number, start, talk seconds, extension)."""
    calls = []
    for _ in range(count):
        number = ward.mobile()
        for day in ward.rng.sample([day for day in ward.days if day.month == 9], ward.rng.randint(1, 2)):
            start = ward.at(day, ward.rng.randint(*hours), ward.rng.randint(0, 59))
            calls.append((number, start, ward.rng.randint(60, 15 * 60), ward.rng.choice(list(EXT.values()))))
    return sorted(calls, key=lambda c: c[1])


def annex_utc(ward: Ward, d) -> bytes:
    """The annex's Asterisk writes UTC (usegmtime=yes): only its uniqueids tell."""
    annex = Asterisk(18, 30000, utc=True)
    for number, start, talk, ext in ordinary(ward, 25):
        annex.leg(number, ext, start, talk=talk)
    n = "09010000015"
    for hour, minute in ((8, 10), (8, 22), (8, 34), (8, 46), (8, 58), (14, 0), (14, 30), (15, 0), (15, 30), (16, 0)):
        annex.leg(n, "271", d(16, hour, minute), talk=150, ring=3)
    ward.plant(
        n,
        "watch",
        ["frequent_calls"],
        "10 answered calls on one day through an annex PBX that writes UTC, "
        "5 before 09:00: one day only when read in the right clock",
    )
    start = d(16, 9, 0)
    for i in range(12):  # a softphone named by digits: SIP/123654987-...
        annex.leg(
            "123654987",
            ["09033334444", "271", "0355550101"][i % 3],
            start,
            talk=120,
            ring=2,
            context="LocalSets",
            clid='"Sato" <123654987>',
            channel=f"SIP/123654987-{0xA100 + i:08x}",
        )
        start += timedelta(minutes=3)
    ward.traps.append(("123654987", "a staff softphone whose device name is 9 digits calls 12 times in 35 minutes"))
    for i in range(6):  # a trunk whose name the PBX writes as the caller: no number at all
        annex.leg("trunk-osaka", "271", d(15 + i % 3, 10 + i), talk=200, clid='"" <trunk-osaka>')
    return ("\n".join(annex.lines()) + "\n").encode()


def freeswitch(ward: Ward, d) -> bytes:
    """A contractor's FreeSWITCH contact centre: mod_cdr_csv, example template, a-legs and some b-legs."""
    rows, counter = [], [0]

    def uuid() -> str:
        counter[0] += 1
        return (
            f"{ward.rng.getrandbits(32):08x}-{counter[0]:04x}-4{ward.rng.getrandbits(12):03x}"
            f"-8{ward.rng.getrandbits(12):03x}-{ward.rng.getrandbits(48):012x}"
        )

    def leg(number, dest, start, talk, bridged=True, cause="NORMAL_CLEARING", ring=5, own=None, b_of=None):
        answer = start + timedelta(seconds=ring) if talk is not None else None
        end = answer + timedelta(seconds=talk) if answer else start + timedelta(seconds=ring)
        me, other = own or uuid(), (b_of or uuid()) if bridged and talk is not None else ""
        rows.append(
            (
                start,
                ",".join(
                    quote(v)
                    for v in [
                        "区民" if number else "",
                        number,
                        dest,
                        "public",
                        start.strftime(FMT),
                        answer.strftime(FMT) if answer else "",
                        end.strftime(FMT),
                        str(int((end - start).total_seconds())),
                        str(talk or 0),
                        cause,
                        me,
                        other,
                        "",
                        "PCMU",
                        "PCMU",
                    ]
                ),
            )
        )
        return end, other

    for number, start, talk, ext in ordinary(ward, 20):
        _, b = leg(number, ext, start, talk)
        if ward.rng.random() < 0.3:  # legs = ab: the b-leg too, its uuid the a-leg's bleg_uuid
            leg(number, ext, start + timedelta(seconds=1), talk, bridged=False, own=b, ring=4)
    n = "09010000016"
    leg(n, "221", d(17, 10, 0), 42 * 60)
    ward.plant(n, "watch", ["long_call"], "a 42-minute call through the contractor's FreeSWITCH")
    n = "09020000020"
    start = d(17, 13, 0)
    for _ in range(8):  # the IVR answers, nobody is bridged
        end, _ = leg(n, "8000", start, 40, bridged=False, ring=0)
        start = end + timedelta(minutes=2)
    ward.traps.append((n, "8 calls that only reached the FreeSWITCH IVR menu, 2 minutes apart"))
    return ("\n".join(text for _, text in sorted(rows, key=lambda r: r[0])) + "\n").encode()


def cucm(ward: Ward, d) -> bytes:
    """A CUCM cluster at the welfare annex: header and type lines, UTC epochs, transfers, Cisco phones."""
    from kasuhara_metrics.ingest.sources.cucm import COLUMNS

    strings = {
        "callingPartyNumber",
        "originalCalledPartyNumber",
        "finalCalledPartyNumber",
        "pkid",
        "origDeviceName",
        "destDeviceName",
        "globalCallId_ClusterID",
        "huntPilotDN",
        "lastRedirectDn",
    }
    rows, call = [], [9000]

    def epoch(local: datetime) -> str:
        return str(int(local.replace(tzinfo=SITE).timestamp()))

    def record(calling, called, start, ring, talk, callid, orig="KuyakushoGW01", dest="SEP0000AAAA0001", cause="16"):
        connect = start + timedelta(seconds=ring) if talk else None
        end = connect + timedelta(seconds=talk) if connect else start + timedelta(seconds=ring)
        values = dict.fromkeys(COLUMNS, "0") | dict.fromkeys(strings, "")
        values.update(
            cdrRecordType="1",
            globalCallID_callManagerId="1",
            globalCallID_callId=str(callid),
            dateTimeOrigination=epoch(start),
            callingPartyNumber=calling,
            originalCalledPartyNumber=called,
            finalCalledPartyNumber=called,
            dateTimeConnect=epoch(connect) if connect else "0",
            dateTimeDisconnect=epoch(end),
            duration=str(talk or 0),
            origDeviceName=orig,
            destDeviceName=dest if talk else "",
            origCause_value="0" if talk else cause,
            destCause_value="16" if talk else "0",
            globalCallId_ClusterID="KuyakushoCluster",
            pkid=f"{ward.rng.getrandbits(32):08x}-0000-4000-8000-{len(rows):012x}",
        )
        rows.append((start, ",".join(quote(values[c]) if c in strings else values[c] for c in COLUMNS)))
        return end

    for number, start, talk, _ in ordinary(ward, 15):
        call[0] += 1
        record(number, "221", start, 6, talk, call[0])
    n = "09010000017"
    call[0] += 1
    end = record(n, "221", d(16, 10, 0), 8, 20 * 60, call[0])
    record(n, "241", end, 4, 42 * 60, call[0], dest="SEP0000AAAA0002")
    ward.plant(n, "alert", ["long_call"], "a transferred call of 62 minutes in all, written as two CUCM records")
    start = d(17, 9, 30)
    for _ in range(12):  # a Cisco phone whose directory number looks like a DID, calling a resident back
        call[0] += 1
        end = record("0355550177", "09055557777", start, 5, 150, call[0], orig="SEP0000AAAA0077", dest="KuyakushoGW01")
        start = end + timedelta(minutes=2)
    ward.traps.append(("0355550177", "a Cisco phone (SEP...) with a DID-like number calls out 12 times in an hour"))
    header = ",".join(quote(c) for c in COLUMNS)
    types = ",".join(
        "UNIQUEIDENTIFIER" if c == "pkid" else "VARCHAR(50)" if c in strings else "INTEGER" for c in COLUMNS
    )
    return ("\n".join([header, types] + [text for _, text in sorted(rows, key=lambda r: r[0])]) + "\n").encode()


def threecx(ward: Ward, d) -> bytes:
    """The childcare hotline on 3CX: cdr.log, UTC, CRLF and a blank line after each record."""
    rows, n_call = [], [700000]

    def call(caller, start, ring, talk, final_type="Extension", final_dn="241", reason="TerminatedBySrc"):
        n_call[0] += 1
        answer = start + timedelta(seconds=ring) if talk is not None else None
        end = answer + timedelta(seconds=talk) if answer else start + timedelta(seconds=ring)

        def shown(t):
            return utc_of(t).strftime("%Y/%m/%d %H:%M:%S") if t else ""

        span = int((end - start).total_seconds())
        fields = [
            f"Call {n_call[0]}",
            f"00000194A2B3{n_call[0] % 65536:04X}_{n_call[0]}",
            f"{span // 3600:02d}:{span % 3600 // 60:02d}:{span % 60:02d}",
            shown(start),
            shown(answer),
            shown(end),
            reason,
            caller,
            "0355550141",
            "10000",
            final_dn,
            "0355550141",
            "",
            f"Ext.{final_dn}" if final_type == "Extension" else final_dn,
            final_dn,
            "",
            "",
            "",
            "",
            f"Chain: {caller};0355550141;",
            "Line",
            "Line",
            final_type,
            "",
            "",
            "",
            "",
        ]
        rows.append((start, ",".join(fields)))
        return end

    for number, start, talk, _ in ordinary(ward, 12):
        call(number, start, 8, talk)
    n = "09020000021"
    start = d(18, 11, 0)
    for _ in range(6):
        start = call(n, start, 0, 45, final_type="Ivr", final_dn="800") + timedelta(minutes=1)
    call(n, start, 40, None, final_type="Queue", final_dn="801", reason="NoAnswerTimeout")
    ward.traps.append((n, "6 calls that only reached the 3CX IVR, then gave up in the queue"))
    return "".join(text + "\r\n\r\n" for _, text in sorted(rows, key=lambda r: r[0])).encode()


def amazon_connect(ward: Ward, d) -> bytes:
    """The call centre on Amazon Connect: contact records as JSON lines, some delivered twice."""
    import json

    records, n_contact = [], [0]

    def z(local: datetime) -> str:
        return utc_of(local).strftime("%Y-%m-%dT%H:%M:%SZ")

    def contact(caller, start, talk, *, method="INBOUND", agent=True, initial=None, queue="区民課"):
        n_contact[0] += 1
        cid = f"{ward.rng.getrandbits(32):08x}-{n_contact[0]:04x}-4000-8000-{ward.rng.getrandbits(48):012x}"
        connected = start + timedelta(seconds=25)
        end = connected + timedelta(seconds=talk) if agent else start + timedelta(seconds=talk)
        records.append(
            (
                start,
                {
                    "AWSContactTraceRecordFormatVersion": "2017-03-10",
                    "ContactId": cid,
                    "InitialContactId": initial,
                    "Channel": "VOICE",
                    "InitiationMethod": method,
                    "InitiationTimestamp": z(start),
                    "ConnectedToSystemTimestamp": z(start + timedelta(seconds=1)),
                    "DisconnectTimestamp": z(end),
                    "LastUpdateTimestamp": z(end + timedelta(seconds=30)),
                    "CustomerEndpoint": {"Address": "+81" + caller[1:], "Type": "TELEPHONE_NUMBER"},
                    "SystemEndpoint": {"Address": "+81355550100", "Type": "TELEPHONE_NUMBER"},
                    "Agent": {
                        "ConnectedToAgentTimestamp": z(connected),
                        "AgentInteractionDuration": talk,
                        "CustomerHoldDuration": 0,
                        "AfterContactWorkDuration": 40,
                    }
                    if agent
                    else None,
                    "Queue": {"Name": queue, "Duration": 20} if agent else None,
                    "DisconnectReason": "CUSTOMER_DISCONNECT",
                },
            )
        )
        return end

    for number, start, talk, _ in ordinary(ward, 20):
        contact(number, start, talk)
    for start, record in list(records[:5]):  # Firehose delivers at least once: the same record, updated later
        records.append((start, dict(record, LastUpdateTimestamp=z(start + timedelta(days=1)))))
    n = "09010000018"
    end = contact(n, d(18, 14, 0), 120)
    for _ in range(3):
        end = contact(n, end + timedelta(minutes=2), 90)
    ward.plant(
        n,
        "watch",
        ["immediate_redial"],
        "an answered contact, then 3 more each 2 minutes after the last ended, through Amazon Connect",
    )
    n = "09020000022"
    start = d(18, 15, 0)
    for _ in range(6):  # the contact flow only: no agent
        start = contact(n, start, 50, agent=False) + timedelta(minutes=1)
    contact(n, start + timedelta(minutes=5), 200, method="CALLBACK")
    ward.traps.append((n, "6 contacts that only reached the Amazon Connect contact flow, then the ward calls back"))
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for _, r in sorted(records, key=lambda r: r[0])).encode()


def twilio(ward: Ward, d) -> bytes:
    """A ward line on Twilio: the Console's call-log CSV, parent calls and their <Dial> legs."""
    from email.utils import format_datetime

    rows, n_call = [], [0]

    def gmt(local: datetime) -> str:
        return format_datetime(local.replace(tzinfo=SITE).astimezone(ZoneInfo("UTC")))

    def call(frm, to, start, talk, status="completed", direction="inbound", parent=""):
        n_call[0] += 1
        sid = f"CA{ward.rng.getrandbits(96):024x}{n_call[0]:08x}"
        end = start + timedelta(seconds=talk or 20)
        rows.append((start, [sid, parent, frm, to, direction, status, gmt(start), gmt(end), str(talk) if talk else ""]))
        return sid, end

    for number, start, talk, _ in ordinary(ward, 12):
        parent, _ = call("+81" + number[1:], "+81355550101", start, talk + 20)
        call(
            "+81355550101",
            "+81355550111",
            start + timedelta(seconds=15),
            talk,
            direction="outbound-dial",
            parent=parent,
        )
    for hour in (10, 13, 15):
        call("+266696687", "+81355550101", d(15, hour), 300)
    n = "09020000023"
    start = d(15, 11, 0)
    for _ in range(6):
        _, end = call("+81" + n[1:], "+81355550101", start, 35)
        start = end + timedelta(minutes=1)
    ward.traps.append((n, "6 calls that TwiML alone answered (a menu), a minute apart"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["Call Sid", "Parent Call Sid", "From", "To", "Direction", "Status", "Start Time", "End Time", "Duration"]
    )
    writer.writerows(row for _, row in sorted(rows, key=lambda r: r[0]))
    return buffer.getvalue().encode()


def damaged(lines: list[str], rng: random.Random) -> list[bytes]:
    """September as the PBX wrote it, with the damage real files show."""
    out = [line.encode("utf-8") for line in lines]
    out[40] = out[40].replace('"""区民'.encode(), b'"""\xa5\xe5\x8c\xba', 1)  # one stray non-UTF-8 byte in a name
    bad = [
        b'"","09011112222","201","from-trunk","""X"" <09011112222>","SIP/trunk-1","SIP/201-1","Dial","SIP/201,30",'
        b'"2026-09-31 25:00:00","2026-09-31 25:00:05","2026-09-31 25:01:00",60,55,"ANSWERED","DOCUMENTATION",'
        b'"1790000000.1",""',
        b'"","09011113333","201","from-trunk","""Y"" <09011113333>","SIP/trunk-2"',
        b'"","09011114444","201","from-trunk","""unterminated <09011114444>,"SIP/trunk-3","SIP/201-3","Dial","",'
        b'"2026-09-15 10:00:00","2026-09-15 10:00:05","2026-09-15 10:01:00",60,55,"ANSWERED","DOCUMENTATION",'
        b'"1790000000.3",""',
        b",,,,,,,,,,,,,,,,,",
    ]
    for position, line in zip((10, 60, 120, 200), bad, strict=True):
        out.insert(position, line)
    return out


def small_layouts(rng: random.Random, ward: Ward) -> dict[str, list[str]]:
    """One small file per other layout: 17 columns, 21 with a forked-leg call, cdr_custom."""
    files: dict[str, list[str]] = {}
    ast = Asterisk(17, 5000)
    for i in range(12):
        start = datetime(2026, 9, 2 + i % 5, 9 + i % 7, 5 * i % 60, 0)
        ast.leg(
            ward.mobile(),
            rng.choice(list(EXT.values())),
            start,
            talk=60 + 30 * i,
            disposition="ANSWERED" if i % 4 else "NO ANSWER",
        )
    files["Master-17col.csv"] = ast.lines()
    ast = Asterisk(21, 7000)
    for i in range(6):
        ast.leg(ward.mobile(), "201", datetime(2026, 9, 7, 9 + i, 10, 0), talk=120)
    # A forked call: one channel rings three phones through Local channels; the legs share the
    # uniqueid and the linkedid; one phone answers.
    start = datetime(2026, 9, 7, 14, 0, 0)
    uid, caller = ast.uniqueid(start), ward.mobile()
    for seq, (target, disposition) in enumerate((("202", "NO ANSWER"), ("211", "ANSWERED"), ("221", "NO ANSWER"))):
        ast.leg(
            caller,
            target,
            start,
            talk=180,
            disposition=disposition,
            uniqueid=uid,
            dstchannel=f"Local/{target}@from-queue-{seq:08x};1",
            linkedid=uid,
            sequence=seq + 1,
        )
    files["Master-21col.csv"] = ast.lines()
    custom = []
    for i in range(8):
        start = datetime(2026, 9, 8, 10 + i, 0, 0)
        src = ward.mobile()
        answered = i % 3 != 0
        answer = (start + timedelta(seconds=5)).strftime(FMT) if answered else ""
        end = start + timedelta(seconds=5 + (200 if answered else 0))
        fields = [
            f'"{src}" <{src}>',
            src,
            rng.choice(list(EXT.values())),
            "from-trunk",
            f"PJSIP/trunk-{i:08x}",
            f"PJSIP/201-{i:08x}",
            "Dial",
            "PJSIP/201",
            start.strftime(FMT),
            answer,
            end.strftime(FMT),
            str(int((end - start).total_seconds())),
            "200" if answered else "0",
            "ANSWERED" if answered else "NO ANSWER",
            "DOCUMENTATION",
            "",
            f"{1788000000 + i}.{i}",
            "",
        ]
        custom.append(",".join(quote(f) for f in fields) + f",{i + 1}")
    files["cdr-custom.csv"] = custom
    return files


def pbx_export(ward: Ward) -> str:
    """The October PBX call log: CP932, Japanese headers, H:MM:SS, yyyy/m/d h:mm:ss, with withheld
    callers, extension calls, transfers between extensions, calls out, and two bad rows."""
    for day in ward.days:
        if day.month != 10:
            continue
        for withheld in ("非通知", "公衆電話", "表示圏外"):
            ward.pbx_rows.append(
                ["外線着信", "201", withheld, f"{ward.at(day, 13):%Y/%m/%d %H:%M:%S}", "0:45:10", "応答"]
            )
        when = ward.at(day, 10, 5)
        ward.pbx_rows.append(["内線通話", "211", "231", f"{when:%Y/%m/%d %H:%M:%S}", "0:32:00", "応答"])
        ward.pbx_rows.append(["内線転送", "201", "231", f"{when:%Y/%m/%d %H:%M:%S}", "0:04:00", "応答"])
        ward.pbx_rows.append(
            ["外線発信", "241", hyphenated(ward.mobile()), f"{when:%Y/%m/%d %H:%M:%S}", "0:05:00", "応答"]
        )
    rows = sorted(ward.pbx_rows, key=lambda r: datetime.strptime(r[3], "%Y/%m/%d %H:%M:%S"))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["発着区分", "内線", "相手先番号", "着信日時", "通話時間", "ステータス"])
    writer.writerows(rows)
    writer.writerow(["外線着信", "201", "090-1111-2222", "2026/10/40 9:00:00", "0:01:00", "応答"])
    writer.writerow(["外線着信", "201", "090-1111-2223", "2026/10/02 9:00:00", "1時間", "応答"])
    return buffer.getvalue()


def manifest(ward: Ward) -> str:
    lines = [
        "# Planted patterns and traps of the synthetic ward (scripts/make_samples.py writes this file).",
        "# tests/test_planted.py ingests and judges the samples with thresholds/bunkyo.toml and checks that",
        "# every planted requester is flagged by exactly these rules, and nobody else is flagged at all.",
        "# All numbers are synthetic.",
        "",
    ]
    for who, severity, rules, note in ward.planted:
        lines += [
            "[[planted]]",
            f'number = "{who}"',
            f'severity = "{severity}"',
            "rules = [" + ", ".join(f'"{r}"' for r in rules) + "]",
            f'note = "{note}"',
            "",
        ]
    for who, note in ward.traps:
        lines += ["[[trap]]", f'number = "{who}"', f'note = "{note}"', ""]
    return "\n".join(lines)


def main() -> None:
    ward = Ward(SEED)
    build(ward)
    for folder in ("asterisk", "pbx", "visits", "freeswitch", "cucm", "3cx", "amazon_connect", "twilio"):
        (OUT / folder).mkdir(parents=True, exist_ok=True)
        for old in (OUT / folder).glob("*"):
            old.unlink()
    with open(OUT / "departments.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("number,department\n" + "".join(f"{n},{d}\n" for n, d in DEPARTMENTS))
    september = ward.september.lines(until=datetime(2026, 10, 1))
    (OUT / "asterisk" / "Master-2026-09.csv").write_bytes(b"\n".join(damaged(september, ward.rng)) + b"\n")
    resent = ward.september.lines(since=datetime(2026, 9, 24))  # overlaps September's last week
    (OUT / "asterisk" / "Master-2026-10-resent.csv").write_text("\n".join(resent) + "\n", encoding="utf-8")
    (OUT / "asterisk" / "Master-branch-16col.csv").write_text("\n".join(ward.old_pbx.lines()) + "\n", encoding="utf-8")
    for name, lines in small_layouts(ward.rng, ward).items():
        (OUT / "asterisk" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / "pbx" / "calls-cp932.csv").write_bytes(pbx_export(ward).encode("cp932"))
    bad_rows = [
        ["V09-BAD1", "2026/09/16 9:00", "", "税務課", "不明な区分", "住民税", "", "R-1001", "", ""],
        ["V09-BAD2", "", "2026-09-16 10:00", "税務課", "苦情", "住民税", "", "R-1002", "", ""],
    ]
    (OUT / "visits" / "visits-2026-09.csv").write_bytes(b"\xef\xbb\xbf" + ward.visits.csv(9, bad_rows).encode("utf-8"))
    (OUT / "visits" / "visits-2026-10-cp932.csv").write_bytes(ward.visits.csv(10).encode("cp932"))
    for name, content in other_systems(ward).items():
        (OUT / name).parent.mkdir(parents=True, exist_ok=True)
        (OUT / name).write_bytes(content)
    (OUT / "planted.toml").write_text(manifest(ward), encoding="utf-8")


if __name__ == "__main__":
    main()
