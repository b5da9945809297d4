"""Write the synthetic 世田谷区 samples in data/samples/setagaya/ (deterministic: the same seed gives the same bytes).

Nothing here is real: residents, numbers and summaries are generated. About 60 ordinary residents
never come near a threshold; besides them the ward holds planted patterns (the off-hours rules, the
long visit with 生活支援課's longer tiers, a long call, redials) and traps that must never be flagged.
planted.toml lists both, for the Setagaya profile to be judged by. Business hours are 08:30-17:15 on
weekdays; 9/21, 9/22 and 9/23 are public holidays. Run: python scripts/make_samples_setagaya.py
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

# The Bunkyo generator's writers: both wards' exports come out in exactly the same formats.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_samples import Asterisk, Visits, working_days  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "data" / "samples" / "setagaya"
SEED = 20260921

DEPARTMENTS = [
    ("301", "戸籍住民課"),
    ("302", "戸籍住民課"),
    ("311", "国保・年金課"),
    ("321", "課税課"),
    ("331", "生活支援課"),
    ("341", "子ども家庭課"),
    ("351", "清掃・リサイクル課"),
    ("361", "区民の声担当"),
    ("03-5432-2101", "戸籍住民課"),
    ("03-5432-2111", "国保・年金課"),
    ("03-5432-2121", "課税課"),
    ("03-5432-2131", "生活支援課"),
    ("03-5432-2141", "子ども家庭課"),
    ("03-5432-2151", "清掃・リサイクル課"),
    ("03-5432-2161", "区民の声担当"),
    ("03-5432-1111", "代表"),
]
EXT = {name: number for number, name in reversed(DEPARTMENTS) if len(number) == 3}  # first extension wins
NAMES = list(EXT)  # a list, not a set: the order must not depend on string hashing
MAIN = "0354321111"  # 代表 as the trunk delivers it: the closed-hours announcement answers here
TOPICS = [
    "住民票",
    "印鑑登録",
    "国民健康保険料",
    "国民年金",
    "住民税",
    "生活保護",
    "児童手当",
    "粗大ごみ",
    "区政への意見",
]
HOLIDAYS = {date(2026, 9, 21), date(2026, 9, 22), date(2026, 9, 23)}  # 敬老の日, 国民の休日, 秋分の日
WITHHELD = '"非通知" <>'


class SetagayaVisits(Visits):
    """Visit ids SV00001...: never the same as Bunkyo's V00001... when both wards share a database."""

    def add(self, *args, **kwargs) -> None:
        super().add(*args, **kwargs)
        self.rows[-1][0] = "S" + self.rows[-1][0]


class Ward:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.calls = Asterisk(18, 60000)  # its own counter: uniqueids unlike Bunkyo's
        self.visits = SetagayaVisits()
        self.planted: list[tuple[str, str, list[str], str]] = []  # who, severity, rules, note
        self.traps: list[tuple[str, str]] = []  # who, note
        every = working_days(datetime(2026, 9, 1), datetime(2026, 9, 30))
        self.days = [day for day in every if day.date() not in HOLIDAYS]  # open days only
        self.used_numbers: set[str] = set()

    def mobile(self) -> str:
        while True:
            number = f"0{self.rng.choice('789')}0{self.rng.randint(1000, 9999)}{self.rng.randint(1000, 9999)}"
            if number not in self.used_numbers:
                self.used_numbers.add(number)
                return number

    def at(self, day: datetime, hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, second=self.rng.randint(0, 59))

    def announcement(self, src: str, start: datetime, dst: str = MAIN, clid: str | None = None) -> datetime:
        """Only the closed-hours message answers: a Playback leg with no destination channel."""
        return self.calls.leg(
            src, dst, start, talk=self.rng.randint(30, 55), ring=1, clid=clid, lastapp="Playback", dstchannel=""
        )

    def residents(self, count: int) -> None:
        """1-3 short contacts in hours on different open days, at most 2 departments, never a topic twice."""
        for i in range(count):
            number = self.mobile()
            departments = self.rng.sample(NAMES, 2)
            days = sorted(self.rng.sample(self.days, self.rng.randint(1, 3)))
            for day, topic in zip(days, self.rng.sample(TOPICS, len(days)), strict=True):
                department = self.rng.choice(departments)
                start = self.at(day, self.rng.randint(9, 15), self.rng.randint(0, 59))
                if self.rng.random() < 0.6:
                    outcome = self.rng.choices(["ANSWERED", "NO ANSWER", "BUSY"], [85, 10, 5])[0]
                    talk = self.rng.randint(60, 15 * 60) if outcome == "ANSWERED" else self.rng.randint(3, 20)
                    self.calls.leg(number, EXT[department], start, talk=talk, disposition=outcome)
                else:
                    kind = self.rng.choice(["手続", "手続", "問合せ", "相談", "要望"])
                    phone = number if self.rng.random() < 0.7 else ""
                    ref = "" if phone else f"SR-{5001 + i}"  # unique: a shared ref would merge two residents
                    self.visits.add(start, self.rng.randint(5, 40), department, kind, topic, phone, ref)

    def background(self) -> None:
        """Withheld callers and staff calling each other, all in hours: contacts that are nobody's."""
        for day in self.rng.sample(self.days, 12):
            start = self.at(day, self.rng.randint(9, 15), self.rng.randint(0, 59))
            self.calls.leg(
                "", self.rng.choice(list(EXT.values())), start, talk=self.rng.randint(120, 720), clid=WITHHELD
            )
        for day in self.rng.sample(self.days, 15):
            src, dst = self.rng.sample(list(EXT.values()), 2)
            start = self.at(day, self.rng.randint(9, 16), self.rng.randint(0, 59))
            self.calls.leg(
                src, dst, start, talk=self.rng.randint(60, 600), context="from-internal", clid=f'"職員" <{src}>'
            )


def build(ward: Ward) -> None:
    rng, calls, visits = ward.rng, ward.calls, ward.visits

    def d(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 9, day, hour, minute)

    ward.residents(60)
    ward.background()

    # ---- planted patterns: each flagged by exactly these rules ----
    n = "09030000001"
    for start, talk in ((d(8, 18, 10), 7), (d(10, 19, 5), 9), (d(26, 10), 6)):  # 9/26: the Saturday duty desk
        calls.leg(n, EXT["戸籍住民課"], start, talk=talk * 60)
    ward.planted.append((n, "watch", ["off_hours_contacts"], "staff-answered calls at 18:10, 19:05 and on Saturday"))
    n = "09030000002"
    for start in (d(21, 10, 5), d(21, 14, 40), d(22, 9, 30), d(22, 13, 15), d(23, 11), d(23, 15, 20)):
        ward.announcement(n, start)
    for start in (d(15, 20, 20), d(15, 21, 35), d(17, 20, 50)):
        ward.announcement(n, start, dst="0354322121")  # 課税課's direct line, closed at night
    ward.planted.append(
        (n, "watch", ["off_hours_attempts"], "9 calls answered only by the announcement, 3 holidays and 2 nights")
    )
    n = "09030000003"
    visits.add(d(9, 9, 30), 185, "生活支援課", "相談", "生活保護", n, summary="生活保護の相談面接 (合成データ)")
    ward.planted.append((n, "alert", ["long_visit"], "a 185-minute 生活支援課 interview: over its own 180-minute tier"))
    n = "09030000004"
    visits.add(d(14, 13), 130, "課税課", "苦情", "住民税", n)
    ward.planted.append((n, "alert", ["long_visit"], "a 130-minute complaint at 課税課"))
    n = "09030000005"
    calls.leg(n, EXT["子ども家庭課"], d(16, 10), talk=65 * 60)
    ward.planted.append((n, "alert", ["long_call"], "one 65-minute call"))
    n = "09030000006"
    end = calls.leg(n, EXT["国保・年金課"], d(24, 13, 30), talk=150)
    for _ in range(4):  # each within 4 minutes of hanging up
        end = calls.leg(
            n, EXT["国保・年金課"], end + timedelta(seconds=rng.randint(20, 240)), talk=rng.randint(120, 180)
        )
    ward.planted.append((n, "watch", ["immediate_redial"], "an answered call, then 4 calls each within 4 minutes"))

    # ---- traps: none of these may ever be flagged ----
    n = "09040000001"
    visits.add(d(10, 13), 110, "生活支援課", "相談", "生活保護", n, summary="生活保護の相談面接 (合成データ)")
    ward.traps.append((n, "a 110-minute 生活支援課 interview: long_visit watch anywhere else"))
    n = "09040000002"
    for hour in (9, 13):
        visits.add(d(17, hour, 30), 50, "生活支援課", "相談", "生活保護", n, summary="生活保護の相談面接 (合成データ)")
    ward.traps.append((n, "two 50-minute 生活支援課 interviews in a day: department_day_total is off there"))
    n = "09040000003"
    ward.announcement(n, d(7, 17, 40), dst="0354322141")
    ward.announcement(n, d(11, 8, 10))
    calls.leg(n, EXT["子ども家庭課"], d(11, 9, 5), talk=6 * 60)
    ward.traps.append((n, "the announcement at 17:40 and at 08:10, then staff in hours: 2 attempts"))
    n = "09040000004"
    calls.leg(n, EXT["課税課"], d(2, 17, 45), talk=6 * 60)
    calls.leg(n, EXT["課税課"], d(25, 18, 30), talk=8 * 60)
    ward.traps.append((n, "2 staff-answered calls after hours on two days"))
    n = "09040000005"
    end = calls.leg(n, EXT["清掃・リサイクル課"], d(15, 10), talk=4 * 60)
    start = end + timedelta(seconds=60)
    for _ in range(5):  # 5 busy signals within 10 minutes: retries, not redials
        start = calls.leg(n, EXT["清掃・リサイクル課"], start, talk=8, disposition="BUSY") + timedelta(seconds=90)
    ward.traps.append((n, "5 busy retries within 10 minutes after an answered call"))
    for day in (9, 10, 11):
        for minute in (0, 30, 60, 90):
            ward.announcement("", d(day, 18, 30) + timedelta(minutes=minute), clid=WITHHELD)
    ward.traps.append(("withheld", "a 非通知 caller reaches the announcement 12 times after hours"))
    for day in (8, 9, 10, 14):
        calls.leg("331", EXT["戸籍住民課"], d(day, 19), talk=5 * 60, context="from-internal", clid='"職員" <331>')
    ward.traps.append(("331", "a member of staff calls another extension at 19:00 on four days"))


def manifest(ward: Ward) -> str:
    lines = [
        "# Planted patterns and traps of the synthetic 世田谷区 samples: scripts/make_samples_setagaya.py writes this.",
        "# Judged with the Setagaya profile, every planted requester is flagged by exactly these rules at this",
        "# severity, and nobody else is flagged at all. All numbers are synthetic.",
        "",
    ]
    for who, severity, rules, note in ward.planted:
        rule_list = ", ".join(json.dumps(r) for r in rules)
        lines += ["[[planted]]", f'number = "{who}"', f'severity = "{severity}"', f"rules = [{rule_list}]"]
        lines += [f"note = {json.dumps(note, ensure_ascii=False)}", ""]
    for who, note in ward.traps:
        lines += ["[[trap]]", f'number = "{who}"', f"note = {json.dumps(note, ensure_ascii=False)}", ""]
    return "\n".join(lines)


def main() -> None:
    ward = Ward(SEED)
    build(ward)
    for folder in ("asterisk", "visits"):
        (OUT / folder).mkdir(parents=True, exist_ok=True)
    with open(OUT / "departments.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("number,department\n" + "".join(f"{n},{d}\n" for n, d in DEPARTMENTS))
    (OUT / "asterisk" / "Master-2026-09.csv").write_text("\n".join(ward.calls.lines()) + "\n", encoding="utf-8")
    (OUT / "visits" / "visits-2026-09.csv").write_bytes(b"\xef\xbb\xbf" + ward.visits.csv(9).encode("utf-8"))
    (OUT / "planted.toml").write_text(manifest(ward), encoding="utf-8")


if __name__ == "__main__":
    main()
