"""Amazon Connect contact trace records (CTR): JSON objects, one per line or back to back.

One record per contact: ContactId, InitiationMethod, InitiationTimestamp, DisconnectTimestamp,
LastUpdateTimestamp (ISO-8601 with Z), CustomerEndpoint.Address (the caller, E.164),
SystemEndpoint.Address (the number dialled), Agent (null when no agent took the call) with
ConnectedToAgentTimestamp and AgentInteractionDuration (talk seconds), Queue.

- Records arrive at least once: the same ContactId again with the same content is a duplicate;
  with changes (a later LastUpdateTimestamp), the later record wins.
- A transfer starts a new contact with the same InitialContactId: legs of one call.
- A contact that reached no agent (a contact flow, a queue the caller gave up on) was answered
  by a machine. Outbound contacts and queued callbacks are the ward calling: never a requester's.
- Chats, tasks and e-mails are not calls.
"""

from __future__ import annotations

from ...common import arrays
from ..csvread import LINE_COLUMN, BadLine
from ..jsonread import looks_like_json, pick, read_json_records, text_of
from ..stores.calls import CallTyping, canonical_table
from .base import IngestOptions, Sample, Source, Staged, staged_from_json

# InitiationMethod -> direction: the customer called, or the ward did.
INBOUND = ("INBOUND", "TRANSFER", "QUEUE_TRANSFER")
_TYPING = CallTyping(
    time_formats=("%Y-%m-%dT%H:%M:%S",),
    dispositions=(("ANSWERED", "ANSWERED"), ("NO ANSWER", "NO ANSWER")),
    answer_needs_dstchannel=True,
)


class AmazonConnect(Source):
    name = "amazon_connect"
    record_kind = "calls"
    description = "Amazon Connect contact trace records (JSON)"
    utc_by_format = "UTC, the Z of Amazon Connect's times"

    def recognise(self, sample: Sample) -> bool:
        return (
            looks_like_json(sample.text) and b'"ContactId"' in sample.text and b'"InitiationTimestamp"' in sample.text
        )

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        read = read_json_records(path, raw, options.encoding)
        rejects: list[BadLine] = []
        rows: list[dict] = []
        for line, record in read.records:
            channel = text_of(record.get("Channel")) or "VOICE"
            if channel != "VOICE" or not record.get("ContactId"):
                reason = (
                    f"a {channel.lower()} contact, not a call"
                    if channel != "VOICE"
                    else "no ContactId: not a contact trace record"
                )
                rejects.append(BadLine(line, read.raw.get(line, ""), reason))
                continue
            rows.append(_canonical(record) | {LINE_COLUMN: line})
        columns = {
            name: arrays.strings([row.get(name) for row in rows])
            for name in (
                "caller",
                "dialled",
                "direction_hint",
                "start",
                "end",
                "billsec",
                "disposition",
                "uniqueid",
                "linkedid",
                "dstchannel",
                "record_version",
            )
        }
        table = canonical_table(columns, arrays.numbers([row[LINE_COLUMN] for row in rows]))
        return staged_from_json(
            read, self.name, "amazon-connect-ctr", table, self.clock(options.site), rejects, _TYPING
        )


def _canonical(record: dict) -> dict:
    method = text_of(record.get("InitiationMethod")) or ""
    customer, system = (
        text_of(pick(record, "CustomerEndpoint.Address")),
        text_of(pick(record, "SystemEndpoint.Address")),
    )
    inbound = method in INBOUND
    agent_at = text_of(pick(record, "Agent.ConnectedToAgentTimestamp"))
    reached_system = agent_at or text_of(record.get("ConnectedToSystemTimestamp"))
    return {
        "caller": customer if inbound else system,
        "dialled": system if inbound else customer,
        # CALLBACK is the ward calling a customer back: not the customer ringing again.
        "direction_hint": "inbound" if inbound else "outbound",
        "start": text_of(record.get("InitiationTimestamp")),
        "end": text_of(record.get("DisconnectTimestamp")),
        # talk: the agent's interaction, hold and after-contact work left out; it ends when the contact does
        "billsec": text_of(pick(record, "Agent.AgentInteractionDuration")) if agent_at else "0",
        "disposition": "ANSWERED" if reached_system else "NO ANSWER",
        "uniqueid": text_of(record.get("ContactId")),
        "linkedid": text_of(record.get("InitialContactId")) or text_of(record.get("ContactId")),
        "dstchannel": "agent" if agent_at else "",
        "record_version": text_of(record.get("LastUpdateTimestamp")),
    }
