"""Write the synthetic sample exports in data/samples/ (deterministic: same seed, same bytes).

Nothing here is real: residents, numbers, names and summaries are generated. The ward's own
numbers use 03-5555-01xx. Run: python scripts/make_samples.py
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "samples"
SEED = 20260901

DEPARTMENTS = [
    ("201", "区民課"), ("202", "区民課"), ("211", "国保年金課"), ("221", "福祉政策課"), ("231", "税務課"),
    ("241", "子育て支援課"), ("251", "住宅課"), ("261", "清掃リサイクル課"), ("271", "広聴・広報課"),
    ("03-5555-0101", "区民課"), ("03-5555-0111", "国保年金課"), ("03-5555-0121", "福祉政策課"),
    ("03-5555-0131", "税務課"), ("03-5555-0141", "子育て支援課"), ("03-5555-0100", "代表"),
]
EXTENSIONS = [n for n, _ in DEPARTMENTS if len(n) == 3]
TOPICS = ["住民票", "国民健康保険料", "住民税", "保育園入園", "区営住宅", "粗大ごみ", "児童手当", "介護保険", "道路補修"]
KINDS_JA = ["問合せ", "手続", "相談", "苦情", "要望", "その他"]


def mobile(rng: random.Random) -> str:
    return f"0{rng.choice('789')}0{rng.randint(1000, 9999)}{rng.randint(1000, 9999)}"


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class Asterisk:
    """Writes cdr_csv rows: strings quoted, integers bare, an unanswered answer time as ,,."""

    def __init__(self, start_id: int):
        self.counter = start_id
        self.rows: list[tuple[datetime, str]] = []

    def uniqueid(self, when: datetime) -> str:
        self.counter += 1
        return f"{int(when.timestamp())}.{self.counter}"

    def leg(self, *, src, dst, start, ring, talk, disposition, uniqueid, clid=None, context="from-trunk",
            lastapp="Dial", channel=None, dstchannel=None, linkedid=None, sequence=None, layout=18):
        answered = disposition == "ANSWERED" and talk > 0
        answer = start + timedelta(seconds=ring) if answered or disposition == "BUSY" else None
        end = start + timedelta(seconds=ring + (talk if answered else 0))
        if disposition == "BUSY":
            answer, end = start, start + timedelta(seconds=talk)  # BUSY rows with billsec > 0 are real
        billsec = int((end - answer).total_seconds()) if answer else 0
        duration = int((end - start).total_seconds())
        fmt = "%Y-%m-%d %H:%M:%S"
        clid = clid if clid is not None else f'"{src}" <{src}>'
        channel = channel or (f"SIP/{src}-{self.counter:08x}" if len(src) <= 5 else f"SIP/trunk-{self.counter:08x}")
        dstchannel = dstchannel if dstchannel is not None else (f"SIP/{dst}-{self.counter + 1:08x}" if disposition != "FAILED" else "")
        fields = [quote(""), quote(src), quote(dst), quote(context), quote(clid), quote(channel), quote(dstchannel),
                  quote(lastapp), quote(f"SIP/{dst},30" if lastapp == "Dial" else ""), quote(start.strftime(fmt)),
                  quote(answer.strftime(fmt)) if answer else "", quote(end.strftime(fmt)), str(duration), str(billsec),
                  quote(disposition), quote("DOCUMENTATION")]
        if layout in (17, 18, 21):
            fields.append(quote(uniqueid))
        if layout in (18, 21):
            fields.append(quote(""))
        if layout == 21:
            fields += [quote(""), quote(linkedid or uniqueid), str(sequence or 0)]
        self.rows.append((start, ",".join(fields)))
        return end


def working_days(first: datetime, days: int) -> list[datetime]:
    return [first + timedelta(days=d) for d in range(days) if (first + timedelta(days=d)).weekday() < 5]


def ward_calls(rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """September's Master.csv (18 columns) and an overlapping re-sent export into October."""
    residents = [mobile(rng) for _ in range(120)] + [f"03{rng.randint(3000, 6999)}{rng.randint(1000, 9999)}" for _ in range(30)]
    ast = Asterisk(100)
    days = working_days(datetime(2026, 9, 1), 35)
    for day in days:
        for _ in range(rng.randint(8, 14)):
            caller = rng.choice(residents)
            start = day.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59), second=rng.randint(0, 59))
            dst = rng.choice(EXTENSIONS)
            outcome = rng.choices(["ANSWERED", "NO ANSWER", "BUSY"], [85, 10, 5])[0]
            talk = int(rng.lognormvariate(5.3, 0.8)) if outcome == "ANSWERED" else rng.randint(5, 25)
            ast.leg(src=caller, dst=dst, start=start, ring=rng.randint(3, 20), talk=talk, disposition=outcome,
                    uniqueid=ast.uniqueid(start))
        # A transfer (Asterisk 11 style): the caller's channel keeps its uniqueid across both legs.
        caller = rng.choice(residents)
        start = day.replace(hour=10, minute=rng.randint(0, 50))
        uid = ast.uniqueid(start)
        end = ast.leg(src=caller, dst="201", start=start, ring=6, talk=90, disposition="ANSWERED", uniqueid=uid)
        ast.leg(src=caller, dst="231", start=end, ring=4, talk=240, disposition="ANSWERED", uniqueid=uid)
        # Withheld callers (非通知, 公衆電話, anonymous): never one requester, however often they call.
        for clid, src in (('"" <>', ""), ('"非通知" <>', ""), ('"Coin line/payphone" <sip:anonymous@anonymous.invalid>', ""),
                          ('"anonymous" <anonymous>', "anonymous")):
            start = day.replace(hour=rng.randint(9, 16), minute=rng.randint(0, 59))
            ast.leg(src=src, dst=rng.choice(EXTENSIONS), start=start, ring=5, talk=rng.randint(60, 600),
                    disposition="ANSWERED", uniqueid=ast.uniqueid(start), clid=clid)
        # Staff calls: extension to extension, and out to a resident.
        start = day.replace(hour=11, minute=rng.randint(0, 59))
        ast.leg(src="221", dst="231", start=start, ring=3, talk=120, disposition="ANSWERED",
                uniqueid=ast.uniqueid(start), context="from-internal")
        start = day.replace(hour=15, minute=rng.randint(0, 59))
        ast.leg(src="241", dst=rng.choice(residents), start=start, ring=8, talk=200, disposition="ANSWERED",
                uniqueid=ast.uniqueid(start), context="from-internal", dstchannel="SIP/trunk-out")
        # Busy retries: the line is busy, the resident tries again a minute later.
        caller = rng.choice(residents)
        start = day.replace(hour=9, minute=rng.randint(0, 30))
        for attempt in range(3):
            start = ast.leg(src=caller, dst="211", start=start, ring=0, talk=rng.randint(5, 20), disposition="BUSY",
                            uniqueid=ast.uniqueid(start)) + timedelta(seconds=40)
        # The same resident in another written form: with hyphens, and in E.164.
        shown = rng.choice(residents[:20])
        formatted = f"{shown[:3]}-{shown[3:7]}-{shown[7:]}" if len(shown) == 11 else f"+81{shown[1:]}"
        start = day.replace(hour=14, minute=rng.randint(0, 59))
        ast.leg(src=formatted, dst="271", start=start, ring=5, talk=300, disposition="ANSWERED",
                uniqueid=ast.uniqueid(start))
        # A voicemail leg: NO ANSWER with billsec, talking to a machine, not to staff.
        start = day.replace(hour=12, minute=rng.randint(0, 59))
        ast.leg(src=rng.choice(residents), dst="261", start=start, ring=20, talk=0, disposition="NO ANSWER",
                uniqueid=ast.uniqueid(start), lastapp="VoiceMail")
    ast.rows.sort()
    lines = [text for _, text in ast.rows]
    september = [text for when, text in ast.rows if when.month == 9]
    resent = [text for when, text in ast.rows if when >= datetime(2026, 9, 24)]  # overlaps September's last week
    return september, resent, residents


def with_damage(lines: list[str]) -> list[bytes]:
    """September as the PBX wrote it, with the damage real files show."""
    out = [line.encode("utf-8") for line in lines]
    # Caller names in UTF-8 Japanese, and one stray non-UTF-8 byte (0xA5) in a name.
    for index in range(5, len(out), 37):
        out[index] = out[index].replace(b'"""', '"""区民'.encode("utf-8"), 1)
    out[40] = out[40].replace(b'"""', b'"""\xa5', 1)
    bad = [
        b'"","09011112222","201","from-trunk","""X"" <09011112222>","SIP/trunk-1","SIP/201-1","Dial","SIP/201,30",'
        b'"2026-09-31 25:00:00","2026-09-31 25:00:05","2026-09-31 25:01:00",60,55,"ANSWERED","DOCUMENTATION","1790000000.1",""',
        b'"","09011113333","201","from-trunk","""Y"" <09011113333>","SIP/trunk-2"',
        b'"","09011114444","201","from-trunk","""unterminated <09011114444>,"SIP/trunk-3","SIP/201-3","Dial","",'
        b'"2026-09-15 10:00:00","2026-09-15 10:00:05","2026-09-15 10:01:00",60,55,"ANSWERED","DOCUMENTATION","1790000000.3",""',
        b",,,,,,,,,,,,,,,,,",
    ]
    for position, line in zip((10, 60, 120, 200), bad):
        out.insert(position, line)
    return out


def small_layouts(rng: random.Random) -> dict[str, list[str]]:
    """One small file per other layout: 16 and 17 columns, 21 with a forked-leg call, cdr_custom."""
    files: dict[str, list[str]] = {}
    for layout in (16, 17):
        ast = Asterisk(5000 + layout)
        for i in range(12):
            start = datetime(2026, 9, 2 + i % 5, 9 + i % 7, 5 * i % 60, 0)
            ast.leg(src=mobile(rng), dst=rng.choice(EXTENSIONS), start=start, ring=5, talk=60 + 30 * i,
                    disposition="ANSWERED" if i % 4 else "NO ANSWER", uniqueid=ast.uniqueid(start), layout=layout)
        files[f"Master-{layout}col.csv"] = [text for _, text in sorted(ast.rows)]
    ast = Asterisk(7000)
    for i in range(6):
        start = datetime(2026, 9, 7, 9 + i, 10, 0)
        ast.leg(src=mobile(rng), dst="201", start=start, ring=4, talk=120, disposition="ANSWERED",
                uniqueid=ast.uniqueid(start), layout=21)
    # A forked call: one channel dials three phones through Local channels; all legs share the
    # uniqueid and the linkedid; one phone answers.
    start = datetime(2026, 9, 7, 14, 0, 0)
    uid = ast.uniqueid(start)
    caller = mobile(rng)
    for seq, (target, disposition) in enumerate((("202", "NO ANSWER"), ("211", "ANSWERED"), ("221", "NO ANSWER"))):
        ast.leg(src=caller, dst=target, start=start, ring=7, talk=180, disposition=disposition, uniqueid=uid,
                dstchannel=f"Local/{target}@from-queue-{seq:08x};1", linkedid=uid, sequence=seq + 1, layout=21)
    files["Master-21col.csv"] = [text for _, text in sorted(ast.rows)]
    custom = []
    for i in range(8):
        start = datetime(2026, 9, 8, 10 + i, 0, 0)
        src = mobile(rng)
        answered = i % 3 != 0
        answer = (start + timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S") if answered else ""
        end = start + timedelta(seconds=5 + (200 if answered else 0))
        fields = [f'"{src}" <{src}>', src, rng.choice(EXTENSIONS), "from-trunk", f"PJSIP/trunk-{i:08x}",
                  f"PJSIP/201-{i:08x}", "Dial", "PJSIP/201", start.strftime("%Y-%m-%d %H:%M:%S"), answer,
                  end.strftime("%Y-%m-%d %H:%M:%S"), str(int((end - start).total_seconds())), "200" if answered else "0",
                  "ANSWERED" if answered else "NO ANSWER", "DOCUMENTATION", "", f"{1788000000 + i}.{i}", ""]
        custom.append(",".join(quote(f) for f in fields) + f",{i + 1}")
    files["cdr-custom.csv"] = custom
    return files


def pbx_export(rng: random.Random) -> str:
    """A Japanese PBX call log (CP932, Japanese headers, H:MM:SS, yyyy/m/d h:mm:ss)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["発着区分", "内線", "相手先番号", "着信日時", "通話時間", "ステータス"])
    residents = [mobile(rng) for _ in range(15)]
    for day in working_days(datetime(2026, 10, 1), 10):
        for _ in range(6):
            number = rng.choice(residents)
            shown = f"{number[:3]}-{number[3:7]}-{number[7:]}"
            when = day.replace(hour=rng.randint(9, 16), minute=rng.randint(0, 59), second=rng.randint(0, 59))
            talk = rng.randint(30, 1500)
            status = rng.choices(["応答", "不応答", "話中"], [80, 15, 5])[0]
            duration = f"{talk // 3600}:{talk % 3600 // 60:02d}:{talk % 60:02d}" if status == "応答" else "0:00:00"
            writer.writerow(["外線着信", rng.choice(EXTENSIONS), shown, f"{when.year}/{when.month}/{when.day} {when.hour}:{when:%M:%S}", duration, status])
        for withheld in ("非通知", "公衆電話", "表示圏外"):
            when = day.replace(hour=13, minute=rng.randint(0, 59))
            writer.writerow(["外線着信", "201", withheld, f"{when:%Y/%m/%d %H:%M:%S}", "0:03:10", "応答"])
        when = day.replace(hour=10, minute=5)
        writer.writerow(["内線通話", "211", "231", f"{when:%Y/%m/%d %H:%M:%S}", "0:02:00", "応答"])
        writer.writerow(["内線転送", "201", "231", f"{when:%Y/%m/%d %H:%M:%S}", "0:04:00", "応答"])
        writer.writerow(["外線発信", "241", rng.choice(residents), f"{when:%Y/%m/%d %H:%M:%S}", "0:05:00", "応答"])
    writer.writerow(["外線着信", "201", "090-1111-2222", "2026/10/40 9:00:00", "0:01:00", "応答"])
    writer.writerow(["外線着信", "201", "090-1111-2223", "2026/10/02 9:00:00", "1時間", "応答"])
    return buffer.getvalue()


def visits(rng: random.Random, month: int, start_id: int, shared_numbers: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["visit_id", "arrived_at", "ended_at", "department", "kind", "topic", "phone", "requester_ref",
                     "exit_requested_at", "summary"])
    departments = sorted({name for _, name in DEPARTMENTS if name != "代表"})
    for i, day in enumerate(working_days(datetime(2026, month, 1), 28)):
        for j in range(rng.randint(3, 6)):
            arrived = day.replace(hour=rng.randint(8, 16), minute=rng.randint(0, 59))
            ended = arrived + timedelta(minutes=int(rng.lognormvariate(2.8, 0.6)))
            phone = rng.choice(shared_numbers) if j == 0 else (mobile(rng) if rng.random() < 0.6 else "")
            if phone and j == 0 and i % 2:
                phone = f"+81 {phone[1:3]} {phone[3:7]} {phone[7:]}"  # the same person, written in E.164
            ref = f"R-{rng.randint(1000, 1099)}" if not phone else ""
            writer.writerow([f"V{month:02d}{start_id + i * 10 + j:05d}", arrived.strftime("%Y-%m-%d %H:%M"),
                             ended.strftime("%Y-%m-%d %H:%M"), rng.choice(departments), rng.choice(KINDS_JA),
                             rng.choice(TOPICS), phone, ref, "", f"来庁者への説明(合成データ {j})"])
    # One person, one visit with both a phone and a reference number: links the two.
    writer.writerow([f"V{month:02d}99990", f"2026-{month:02d}-15 10:00", f"2026-{month:02d}-15 10:20", "福祉政策課",
                     "相談", "介護保険", shared_numbers[0], "R-1000", "", "合成データ"])
    writer.writerow([f"V{month:02d}99991", f"2026/{month:02d}/16 9:00", "", "税務課", "不明な区分", "住民税", "", "R-1001", "", ""])
    writer.writerow([f"V{month:02d}99992", "", f"2026-{month:02d}-16 10:00", "税務課", "苦情", "住民税", "", "R-1002", "", ""])
    return buffer.getvalue()


def main() -> None:
    rng = random.Random(SEED)
    (OUT / "asterisk").mkdir(parents=True, exist_ok=True)
    (OUT / "pbx").mkdir(exist_ok=True)
    (OUT / "visits").mkdir(exist_ok=True)
    with open(OUT / "departments.csv", "w", encoding="utf-8", newline="") as handle:
        handle.write("number,department\n" + "".join(f"{n},{d}\n" for n, d in DEPARTMENTS))
    september, resent, residents = ward_calls(rng)
    (OUT / "asterisk" / "Master-2026-09.csv").write_bytes(b"\n".join(with_damage(september)) + b"\n")
    (OUT / "asterisk" / "Master-2026-10-resent.csv").write_text("\n".join(resent) + "\n", encoding="utf-8")
    for name, lines in small_layouts(rng).items():
        (OUT / "asterisk" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (OUT / "pbx" / "calls-cp932.csv").write_bytes(pbx_export(rng).encode("cp932"))
    # Residents who both call and visit: one requester across channels.
    shared = residents[:3] + [mobile(rng) for _ in range(2)]
    (OUT / "visits" / "visits-2026-09.csv").write_bytes(b"\xef\xbb\xbf" + visits(rng, 9, 0, shared).encode("utf-8"))
    (OUT / "visits" / "visits-2026-10-cp932.csv").write_bytes(visits(rng, 10, 0, shared).encode("cp932"))


if __name__ == "__main__":
    main()
