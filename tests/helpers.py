"""Builders for synthetic export rows used across tests."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

FMT = "%Y-%m-%d %H:%M:%S"
SITE = ZoneInfo("Asia/Tokyo")


def epoch(local: datetime, zone: ZoneInfo = SITE) -> int:
    """The instant of a naive site-local time: what an Asterisk uniqueid carries."""
    return int(local.replace(tzinfo=zone).timestamp())


def q(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def cdr18(
    src: str,
    start: datetime,
    *,
    dst: str = "201",
    talk: int = 60,
    ring: int = 5,
    disposition: str = "ANSWERED",
    uniqueid: str | None = None,
    clid: str | None = None,
    dcontext: str = "from-trunk",
    lastapp: str = "Dial",
    dstchannel: str | None = None,
) -> str:
    """One Asterisk cdr_csv 18-column row."""
    answered = disposition == "ANSWERED"
    answer = start + timedelta(seconds=ring) if answered else None
    end = (answer + timedelta(seconds=talk)) if answered else start + timedelta(seconds=ring)
    billsec = talk if answered else 0
    if disposition == "BUSY":
        answer, end, billsec = start, start + timedelta(seconds=talk), talk
    uniqueid = uniqueid or f"{epoch(start)}.{zlib.crc32(repr((src, start, dst, disposition)).encode()) % 100000}"
    clid = clid if clid is not None else f'"区民" <{src}>'
    dstchannel = dstchannel if dstchannel is not None else f"SIP/{dst}-00000001"
    fields = [
        q(""),
        q(src),
        q(dst),
        q(dcontext),
        q(clid),
        q("SIP/trunk-00000001"),
        q(dstchannel),
        q(lastapp),
        q(""),
        q(start.strftime(FMT)),
        q(answer.strftime(FMT)) if answer else "",
        q(end.strftime(FMT)),
        str(int((end - start).total_seconds())),
        str(billsec),
        q(disposition),
        q("DOCUMENTATION"),
        q(uniqueid),
        q(""),
    ]
    return ",".join(fields)
