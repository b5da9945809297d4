"""Synthetic ward-scale exports for demos, benchmarks and load tests (`kasuhara synth`).

A year of a ward's daily exports: Asterisk cdr_csv files (`calls/YYYY-MM-DD.csv`, 18 columns) and
reception logs (`visits/YYYY-MM-DD.csv`), with a departments list and planted patterns (one per
Bunkyo rule, listed in planted.toml). The callers are many and skewed: a few call very often, most
once or twice, as in real wards; some callers are withheld, some calls are staff calls or
transfers, some calls are busy. Everything is generated from a seed: the same arguments give the
same bytes. No number belongs to anyone: they are drawn at random from the ranges of Japanese
mobile and Tokyo numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from .common.progress import Step, silent

# Asterisk uniqueids carry the instant of the channel's start: site-local times are Tokyo's.
SITE = ZoneInfo("Asia/Tokyo")

DEPARTMENTS = [
    "区民課",
    "戸籍住民課",
    "国保年金課",
    "福祉政策課",
    "介護保険課",
    "生活福祉課",
    "税務課",
    "子育て支援課",
    "幼児保育課",
    "住宅課",
    "清掃リサイクル課",
    "道路課",
    "公園緑地課",
    "広聴・広報課",
    "障害福祉課",
    "健康推進課",
    "学務課",
    "環境政策課",
]
TOPICS = [
    "住民票",
    "国民健康保険料",
    "住民税",
    "保育園入園",
    "区営住宅",
    "粗大ごみ",
    "児童手当",
    "介護保険",
    "道路補修",
    "生活保護",
    "騒音",
    "駐輪場",
]
KINDS = ["手続", "問合せ", "相談", "苦情", "要望", "その他"]
KIND_WEIGHTS = [0.35, 0.25, 0.15, 0.12, 0.08, 0.05]
FMT = "%Y-%m-%d %H:%M:%S"
VISIT_SHARE = 0.15


@dataclass
class SynthReport:
    out: Path
    days: int
    call_rows: int = 0
    visit_rows: int = 0
    requesters: int = 0
    planted: list[tuple[str, str, str]] = field(default_factory=list)  # number, rule, note

    @property
    def records(self) -> int:
        return self.call_rows + self.visit_rows


def _numbers(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct synthetic numbers: 80% mobiles (070/080/090), 20% Tokyo landlines (03)."""
    mobiles = rng.choice(np.arange(10**7, 10**8), size=int(count * 0.8), replace=False)
    prefixes = rng.choice(["070", "080", "090"], size=len(mobiles))
    first = rng.integers(2, 10, size=len(mobiles))  # the digit after 0X0: never 0; 1 is kept for planted numbers
    lands = rng.choice(np.arange(2 * 10**7, 10**8), size=count - len(mobiles), replace=False)
    numbers = [f"{p}{d}{m % 10**7:07d}" for p, d, m in zip(prefixes, first, mobiles, strict=True)]
    numbers += [f"03{n:08d}" for n in lands]
    return numbers


def _q(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class _Writer:
    """One day's Asterisk rows and visit rows."""

    def __init__(self):
        self.calls: list[tuple[datetime, str]] = []
        self.visits: list[tuple[datetime, str]] = []
        self.counter = 0

    def call(
        self,
        src: str,
        dst: str,
        start: datetime,
        talk: int,
        *,
        disposition: str = "ANSWERED",
        ring: int = 8,
        uniqueid: str | None = None,
        clid: str | None = None,
        context: str = "from-trunk",
    ) -> datetime:
        self.counter += 1
        uniqueid = uniqueid or f"{int(start.replace(tzinfo=SITE).timestamp())}.{self.counter}"
        if disposition == "ANSWERED":
            answer = start + timedelta(seconds=ring)
            end = answer + timedelta(seconds=talk)
        elif disposition == "BUSY":
            answer, end = start, start + timedelta(seconds=talk)
        else:
            answer, end = None, start + timedelta(seconds=ring)
        billsec = int((end - answer).total_seconds()) if answer else 0
        clid = clid if clid is not None else f'"" <{src}>'
        row = ",".join(
            [
                _q(""),
                _q(src),
                _q(dst),
                _q(context),
                _q(clid),
                _q(f"SIP/trunk-{self.counter:08x}"),
                _q(f"SIP/{dst}-{self.counter:08x}"),
                _q("Dial"),
                _q(f"SIP/{dst},30"),
                _q(start.strftime(FMT)),
                _q(answer.strftime(FMT)) if answer else "",
                _q(end.strftime(FMT)),
                str(int((end - start).total_seconds())),
                str(billsec),
                _q(disposition),
                _q("DOCUMENTATION"),
                _q(uniqueid),
                _q(""),
            ]
        )
        self.calls.append((start, row))
        return end

    def visit(
        self,
        visit_id: str,
        arrived: datetime,
        minutes: int,
        department: str,
        kind: str,
        topic: str,
        phone: str = "",
        ref: str = "",
        exit_after: int | None = None,
    ) -> None:
        ended = arrived + timedelta(minutes=minutes)
        exit_at = (arrived + timedelta(minutes=exit_after)).strftime("%Y-%m-%d %H:%M") if exit_after is not None else ""
        self.visits.append(
            (
                arrived,
                ",".join(
                    [
                        visit_id,
                        arrived.strftime("%Y-%m-%d %H:%M"),
                        ended.strftime("%Y-%m-%d %H:%M"),
                        department,
                        kind,
                        topic,
                        phone,
                        ref,
                        exit_at,
                        "合成データ",
                    ]
                ),
            )
        )


def synthesize(
    size: int,
    out: Path,
    *,
    days: int = 365,
    start: date = date(2025, 10, 1),
    seed: int = 42,
    progress: Step = silent,
) -> SynthReport:
    """Write about `size` records (call legs and visits) spread over `days` days into `out`."""
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calls").mkdir(exist_ok=True)
    (out / "visits").mkdir(exist_ok=True)
    extensions = {name: str(201 + 10 * i) for i, name in enumerate(DEPARTMENTS)}
    (out / "departments.csv").write_text(
        "number,department\n"
        + "".join(f"{ext},{name}\n" for name, ext in extensions.items())
        + "".join(f"03-5555-{100 + i:04d},{name}\n" for i, name in enumerate(DEPARTMENTS)),
        encoding="utf-8",
    )
    report = SynthReport(out, days)
    population = max(500, size // 17)
    numbers = _numbers(rng, population)
    report.requesters = population
    # Skewed activity: weight ~ 1/rank, so a few hundred callers make a large share of the calls.
    weights = 1.0 / (np.arange(population) + 40.0) ** 1.1
    weights = 0.6 / population + 0.4 * weights / weights.sum()
    weights /= weights.sum()
    working = [start + timedelta(days=d) for d in range(days) if (start + timedelta(days=d)).weekday() < 5]
    per_day = size / max(1, len(working))
    ext_list = list(extensions.values())
    dept_list = list(extensions)
    planted = _planted_days(working)
    for days_done, day in enumerate(working):
        progress(f"{day}", days_done, len(working))
        writer = _Writer()
        count = int(rng.poisson(per_day))
        visits = int(count * VISIT_SHARE)
        calls = count - visits
        who = rng.choice(population, size=count, p=weights)
        seconds = rng.integers(8 * 3600 + 1800, 17 * 3600, size=count)
        base = datetime.combine(day, datetime.min.time())
        kind_draw = rng.random(calls)
        talk = np.clip(rng.lognormal(5.0, 0.9, size=count).astype(int), 5, 3600)
        dsts = rng.integers(0, len(ext_list), size=count)
        for i in range(calls):
            moment = base + timedelta(seconds=int(seconds[i]))
            r = kind_draw[i]
            if r < 0.02:
                writer.call("", ext_list[dsts[i]], moment, int(talk[i]), clid='"非通知" <>')
            elif r < 0.05:
                writer.call(
                    ext_list[(dsts[i] + 1) % len(ext_list)],
                    ext_list[dsts[i]],
                    moment,
                    int(talk[i]),
                    context="from-internal",
                )
            elif r < 0.12:
                writer.call(numbers[who[i]], ext_list[dsts[i]], moment, 12, disposition="BUSY", ring=0)
            elif r < 0.20:
                writer.call(numbers[who[i]], ext_list[dsts[i]], moment, 0, disposition="NO ANSWER", ring=20)
            elif r < 0.23:  # a transfer: the caller's channel keeps its uniqueid across both legs
                uid = f"{int(moment.replace(tzinfo=SITE).timestamp())}.t{i}"
                end = writer.call(numbers[who[i]], ext_list[dsts[i]], moment, int(talk[i]) // 2, uniqueid=uid)
                writer.call(
                    numbers[who[i]],
                    ext_list[(dsts[i] + 3) % len(ext_list)],
                    end,
                    int(talk[i]) // 2,
                    ring=0,
                    uniqueid=uid,
                )
            else:
                writer.call(numbers[who[i]], ext_list[dsts[i]], moment, int(talk[i]))
        minutes = np.clip(rng.lognormal(2.9, 0.6, size=visits).astype(int), 3, 150)
        topics = rng.integers(0, len(TOPICS), size=visits)
        kinds = rng.choice(len(KINDS), size=visits, p=KIND_WEIGHTS)
        for j in range(visits):
            i = calls + j
            arrived = base + timedelta(seconds=int(min(seconds[i], 16 * 3600)))
            phone = numbers[who[i]] if rng.random() < 0.7 else ""
            ref = "" if phone else f"R-{who[i]:07d}"
            exit_after = int(minutes[j] // 2) if rng.random() < 0.01 else None
            writer.visit(
                f"V{day:%Y%m%d}{j:05d}",
                arrived,
                int(minutes[j]),
                dept_list[dsts[i]],
                KINDS[kinds[j]],
                TOPICS[topics[j]],
                phone,
                ref,
                exit_after,
            )
        for plant in planted.get(day, []):
            number = f"0901000{len(report.planted) + 1:04d}"
            report.planted.append(plant(writer, base, extensions, pyrng, number))
        _write_day(out, day, writer, report)
    _write_manifest(out, report)
    return report


def _write_day(out: Path, day: date, writer: _Writer, report: SynthReport) -> None:
    calls = [row for _, row in sorted(writer.calls, key=lambda item: item[0])]
    (out / "calls" / f"{day:%Y-%m-%d}.csv").write_text("\n".join(calls) + "\n", encoding="utf-8")
    visits = [row for _, row in sorted(writer.visits, key=lambda item: item[0])]
    header = "visit_id,arrived_at,ended_at,department,kind,topic,phone,requester_ref,exit_requested_at,summary\n"
    (out / "visits" / f"{day:%Y-%m-%d}.csv").write_text(
        header + "\n".join(visits) + ("\n" if visits else ""), encoding="utf-8"
    )
    report.call_rows += len(calls)
    report.visit_rows += len(visits)


# -- planted patterns: numbers 090-1000-xxxx, a range the background never draws (its first digit
# after 090 is 2-9), so each planted requester is known ---------------------------------------------


def _planted_days(working: list[date]) -> dict[date, list]:
    """Which planted pattern goes on which day: spread over the year."""
    plants = [_long_call, _redial, _overstay, _same_topic_start]
    chosen: dict[date, list] = {}
    for index, day in enumerate(working[5 :: max(1, len(working) // 12)][:12]):
        chosen.setdefault(day, []).append(plants[index % len(plants)])
    return chosen


def _long_call(writer, base, extensions, rng, number):
    writer.call(number, extensions["税務課"], base + timedelta(hours=10), 75 * 60)
    return number, "long_call", "a 75-minute call"


def _redial(writer, base, extensions, rng, number):
    end = writer.call(number, extensions["区民課"], base + timedelta(hours=13), 120)
    for _ in range(6):
        end = writer.call(number, extensions["区民課"], end + timedelta(seconds=rng.randint(20, 200)), 90)
    return number, "immediate_redial", "an answered call, then 6 calls each within minutes of hanging up"


def _overstay(writer, base, extensions, rng, number):
    writer.visit(f"P{number}", base + timedelta(hours=16, minutes=55), 50, "生活福祉課", "要望", "生活保護", number)
    return number, "overstay_after_closing", "a visit ending 17:45, 30 minutes after closing"


def _same_topic_start(writer, base, extensions, rng, number):
    for offset in range(3):
        writer.visit(
            f"P{number}-{offset}", base + timedelta(hours=9 + 2 * offset), 10, "税務課", "苦情", "住民税", number
        )
    return number, "same_topic", "three complaints about 住民税 in one day"


def _write_manifest(out: Path, report: SynthReport) -> None:
    lines = ["# Planted patterns of this synthetic ward (kasuhara synth). Each number must be flagged by the rule.", ""]
    for number, rule, note in report.planted:
        lines += ["[[planted]]", f'number = "{number}"', f'rules = ["{rule}"]', f'note = "{note}"', ""]
    (out / "planted.toml").write_text("\n".join(lines), encoding="utf-8")
