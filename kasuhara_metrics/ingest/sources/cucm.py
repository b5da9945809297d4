"""Cisco Unified CM CDR flat files (`cdr_<cluster>_<node>_<YYYYMMDDHHMM>_<seq>`).

A header line of quoted column names, then a line of their SQL types (INTEGER, VARCHAR(50), ...);
some exports have neither, in the documented column order. Columns are bound by name, as every
release appends more. Times are UTC epoch seconds; `dateTimeConnect` is 0 when the call never
connected; `duration` is the connected seconds. One call is `globalCallID_callManagerId` +
`globalCallID_callId`, across files; a transfer writes several records of it.

Calls placed from a Cisco phone or Jabber client (origDeviceName SEP..., CSF..., BOT..., TCT...,
TAB...) are staff. A record of type other than 1 (a CMR) is no call.
"""

from __future__ import annotations

import pyarrow.compute as pc

from ...common import arrays
from ...common.errors import InputFileError, SourceLocation
from ..csvread import LINE_COLUMN, BadLine, read_csv_rows, sample_rows
from ..encoding import to_utf8
from ..stores.calls import CallTyping, canonical_table
from .base import IngestOptions, Sample, Source, Staged, staged_from_csv

# The documented column order (CUCM 12-15; the first 129 are older releases' whole header).
COLUMNS = (
    "cdrRecordType globalCallID_callManagerId globalCallID_callId origLegCallIdentifier dateTimeOrigination origNodeId "
    "origSpan origIpAddr callingPartyNumber callingPartyUnicodeLoginUserID origCause_location origCause_value "
    "origPrecedenceLevel origMediaTransportAddress_IP origMediaTransportAddress_Port origMediaCap_payloadCapability "
    "origMediaCap_maxFramesPerPacket origMediaCap_g723BitRate origVideoCap_Codec origVideoCap_Bandwidth "
    "origVideoCap_Resolution origVideoTransportAddress_IP origVideoTransportAddress_Port origRSVPAudioStat "
    "origRSVPVideoStat destLegIdentifier destNodeId destSpan destIpAddr originalCalledPartyNumber "
    "finalCalledPartyNumber finalCalledPartyUnicodeLoginUserID destCause_location destCause_value destPrecedenceLevel "
    "destMediaTransportAddress_IP destMediaTransportAddress_Port destMediaCap_payloadCapability "
    "destMediaCap_maxFramesPerPacket destMediaCap_g723BitRate destVideoCap_Codec destVideoCap_Bandwidth "
    "destVideoCap_Resolution destVideoTransportAddress_IP destVideoTransportAddress_Port destRSVPAudioStat "
    "destRSVPVideoStat dateTimeConnect dateTimeDisconnect lastRedirectDn pkid originalCalledPartyNumberPartition "
    "callingPartyNumberPartition finalCalledPartyNumberPartition lastRedirectDnPartition duration origDeviceName "
    "destDeviceName origCallTerminationOnBehalfOf destCallTerminationOnBehalfOf origCalledPartyRedirectOnBehalfOf "
    "lastRedirectRedirectOnBehalfOf origCalledPartyRedirectReason lastRedirectRedirectReason destConversationId "
    "globalCallId_ClusterID joinOnBehalfOf comment authCodeDescription authorizationLevel clientMatterCode "
    "origDTMFMethod destDTMFMethod callSecuredStatus origConversationId origMediaCap_Bandwidth destMediaCap_Bandwidth "
    "authorizationCodeValue outpulsedCallingPartyNumber outpulsedCalledPartyNumber origIpv4v6Addr destIpv4v6Addr "
    "origVideoCap_Codec_Channel2 origVideoCap_Bandwidth_Channel2 origVideoCap_Resolution_Channel2 "
    "origVideoTransportAddress_IP_Channel2 origVideoTransportAddress_Port_Channel2 origVideoChannel_Role_Channel2 "
    "destVideoCap_Codec_Channel2 destVideoCap_Bandwidth_Channel2 destVideoCap_Resolution_Channel2 "
    "destVideoTransportAddress_IP_Channel2 destVideoTransportAddress_Port_Channel2 destVideoChannel_Role_Channel2 "
    "IncomingProtocolID IncomingProtocolCallRef OutgoingProtocolID OutgoingProtocolCallRef currentRoutingReason "
    "origRoutingReason lastRedirectingRoutingReason huntPilotPartition huntPilotDN calledPartyPatternUsage "
    "IncomingICID IncomingOrigIOI IncomingTermIOI OutgoingICID OutgoingOrigIOI OutgoingTermIOI "
    "outpulsedOriginalCalledPartyNumber outpulsedLastRedirectingNumber wasCallQueued totalWaitTimeInQueue "
    "callingPartyNumber_uri originalCalledPartyNumber_uri finalCalledPartyNumber_uri lastRedirectDn_uri "
    "mobileCallingPartyNumber finalMobileCalledPartyNumber origMobileDeviceName destMobileDeviceName "
    "origMobileCallDuration destMobileCallDuration mobileCallType originalCalledPartyPattern finalCalledPartyPattern "
    "lastRedirectingPartyPattern huntPilotPattern origDeviceType destDeviceType origDeviceSessionID "
    "destDeviceSessionID"
).split()
REQUIRED = (
    "cdrRecordType",
    "globalCallID_callManagerId",
    "globalCallID_callId",
    "dateTimeOrigination",
    "callingPartyNumber",
    "originalCalledPartyNumber",
    "finalCalledPartyNumber",
    "dateTimeConnect",
    "dateTimeDisconnect",
    "pkid",
    "duration",
    "origDeviceName",
    "destDeviceName",
    "origCause_value",
    "destCause_value",
)
# Cisco phones and soft clients: a call from one is placed by staff.
STAFF_DEVICE = r"^(SEP|CSF|BOT|TCT|TAB|CIPC)[0-9A-Za-z]+$"
# Q.850 cause of a call that never connected -> its outcome (16: cleared before an answer, by the caller).
CAUSES = {"17": "BUSY", "16": "NO ANSWER", "19": "NO ANSWER", "18": "NO ANSWER", "0": "NO ANSWER"}
_TYPING = CallTyping(
    time_formats=("epoch",),
    dispositions=(("ANSWERED", "ANSWERED"), ("BUSY", "BUSY"), ("FAILED", "FAILED"), ("NO ANSWER", "NO ANSWER")),
    answer_needs_dstchannel=True,
)


def _is_type_row(fields: list[str]) -> bool:
    return bool(fields) and fields[0].strip().upper() == "INTEGER"


def _headerless_record(fields: list[str]) -> bool:
    """A data row in the documented order: record type, ids, an epoch origination time."""
    return (
        len(fields) >= 129
        and fields[0].strip() in ("0", "1", "2")
        and fields[2].strip().isdigit()
        and fields[4].strip().isdigit()
        and len(fields[4].strip()) >= 9
    )


class Cucm(Source):
    name = "cucm"
    record_kind = "calls"
    description = "Cisco CUCM CDR flat file (header and type rows, or none)"
    utc_by_format = "UTC epoch seconds, as CUCM writes them"

    def recognise(self, sample: Sample) -> bool:
        if not sample.rows:
            return False
        first = [f.strip() for f in sample.rows[0][1]]
        return {"cdrRecordType", "globalCallID_callId"} <= set(first) or _headerless_record(first)

    def read(self, path: str, raw: bytes, options: IngestOptions) -> Staged:
        decoded = to_utf8(raw, path, options.encoding)
        top = sample_rows(decoded.data, limit=2)
        header = [name.strip() for name in top[0][1]] if top else []
        skip = 0
        if "cdrRecordType" in header:  # the header line, and the line of SQL types under it when there is one
            skip = top[1][0] if len(top) > 1 and _is_type_row(top[1][1]) else top[0][0]
        else:  # no header: the documented order
            header = COLUMNS[: len(header)] + [f"column{i + 1}" for i in range(len(COLUMNS), len(header))]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise InputFileError(
                f"{path} has no {missing[0]} column - is it a CUCM CDR file (not a CMR file)?", SourceLocation(path, 1)
            )
        parsed = read_csv_rows(path, raw, column_count=len(header), decoded=decoded, skip_lines=skip)
        rejects = list(parsed.bad_lines) + [
            BadLine(odd.line, odd.raw, f"has {len(odd.fields)} fields; the header has {len(header)}")
            for odd in parsed.odd_rows
        ]
        table = parsed.table
        field = {name: pc.utf8_trim_whitespace(table[f"c{header.index(name)}"]) for name in REQUIRED}
        is_cdr = pc.equal(field["cdrRecordType"], arrays.string("1"))
        if not pc.all(is_cdr).as_py():
            other = table.filter(pc.invert(is_cdr))
            lines = other[LINE_COLUMN].to_pylist()
            raw_lines = parsed.raw_lines(set(lines))
            for line, kind in zip(lines, field["cdrRecordType"].filter(pc.invert(is_cdr)).to_pylist(), strict=True):
                rejects.append(
                    BadLine(
                        line,
                        raw_lines.get(line, ""),
                        f"cdrRecordType {kind} is not a call record "
                        "(1): quality records (CMR, 2) belong in the cmr_ files",
                    )
                )
            table = table.filter(is_cdr)
            field = {name: values.filter(is_cdr) for name, values in field.items()}
        connected = pc.not_equal(field["dateTimeConnect"], arrays.string("0"))
        cause = pc.if_else(
            pc.equal(field["destCause_value"], arrays.string("0")), field["origCause_value"], field["destCause_value"]
        )
        never = pc.take(
            arrays.strings(list(CAUSES.values())),
            pc.index_in(cause, value_set=arrays.strings(list(CAUSES))),
        )
        final = field["finalCalledPartyNumber"]
        columns = {
            "caller": field["callingPartyNumber"],
            # the department is that of the number the call ended at
            "dialled": pc.if_else(pc.equal(final, arrays.string("")), field["originalCalledPartyNumber"], final),
            "start": field["dateTimeOrigination"],
            "answer": field["dateTimeConnect"],
            "end": field["dateTimeDisconnect"],
            "billsec": field["duration"],
            "disposition": pc.if_else(
                connected, arrays.string("ANSWERED"), pc.fill_null(never, arrays.string("FAILED"))
            ),
            "uniqueid": field["pkid"],
            "linkedid": pc.binary_join_element_wise(
                arrays.string("cucm"),
                field["globalCallID_callManagerId"],
                field["globalCallID_callId"],
                arrays.string("-"),
            ),
            "channel": field["origDeviceName"],
            # connected to a device: a phone answered
            "dstchannel": pc.if_else(connected, field["destDeviceName"], arrays.string("")),
            "staff_device": pc.if_else(
                pc.match_substring_regex(field["origDeviceName"], STAFF_DEVICE), arrays.string("1"), arrays.string(None)
            ),
        }
        return staged_from_csv(
            parsed,
            self.name,
            "cucm-cdr",
            canonical_table(columns, table[LINE_COLUMN]),
            self.clock(options.site),
            rejects,
            _TYPING,
        )
