"""Plain-Python reference implementations of every rule kind, for the property tests.

Each takes the requesters' contacts (dicts with the columns of `_judged`) and a Rule, and returns
the episodes the rule should flag: (requester, group, first_at, last_at, severity, value). They are
written for clarity, not speed, straight from the rule definitions in docs/thresholds.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from kasuhara_metrics.rules import RULE_KINDS, SEVERITIES


def end_of(contact):
    return contact["ended_at"] or contact["started_at"]


def passes_filter(contact, rule) -> bool:
    values = RULE_KINDS[rule.kind].param_values(rule)
    channel = values.get("channel", "any")
    if channel != "any" and contact["channel"] != channel:
        return False
    if values.get("answered_only") and not contact["answered"]:
        return False
    if "kinds" in values and contact["kind"] not in values["kinds"]:
        return False
    return True


def severity_of(value, tiers, strict=False):
    reached = [s for s in SEVERITIES if s in tiers and (value > tiers[s] if strict else value >= tiers[s])]
    return (reached[-1], float(tiers[reached[-1]])) if reached else (None, None)


def in_window(contacts, anchor, seconds):
    start = anchor["started_at"] - timedelta(seconds=seconds)
    return [c for c in contacts if start <= c["started_at"] <= anchor["started_at"]]


def by_requester(contacts):
    groups = defaultdict(list)
    for contact in sorted(contacts, key=lambda c: (c["started_at"], c["contact_id"])):
        groups[contact["requester_key"]].append(contact)
    return groups


# -- hits: (requester, group, window_start, window_end, value, severity, threshold) --------------


def long_contact(contacts, rule):
    for c in contacts:
        if passes_filter(c, rule):
            severity, threshold = severity_of(c["talk_s"] / 60, rule.tiers)
            if severity:
                yield c["requester_key"], None, c["started_at"], end_of(c), c["talk_s"] / 60, severity, threshold


def count_window(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    chosen = [c for c in contacts if passes_filter(c, rule)]
    if values["period"] == "day":
        days = defaultdict(list)
        for c in chosen:
            days[(c["requester_key"], c["local_day"])].append(c)
        for (requester, _), group in days.items():
            severity, threshold = severity_of(len(group), rule.tiers)
            if severity:
                yield (
                    requester,
                    None,
                    min(c["started_at"] for c in group),
                    max(end_of(c) for c in group),
                    len(group),
                    severity,
                    threshold,
                )
        return
    for requester, mine in by_requester(chosen).items():
        for anchor in mine:
            window = in_window(mine, anchor, values["window_hours"] * 3600)
            severity, threshold = severity_of(len(window), rule.tiers)
            if severity:
                yield (
                    requester,
                    None,
                    min(c["started_at"] for c in window),
                    end_of(anchor),
                    len(window),
                    severity,
                    threshold,
                )


def redial(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    calls = [c for c in contacts if c["channel"] == "call"]
    for requester, mine in by_requester(calls).items():
        redials = []
        for previous, call in zip(mine, mine[1:], strict=False):
            gap = (call["started_at"] - end_of(previous)).total_seconds()
            if previous["answered"] and 0 <= gap <= values["gap_minutes"] * 60:
                redials.append((call, previous))
        for call, _ in redials:
            window = [
                (r, p)
                for r, p in redials
                if call["started_at"] - timedelta(hours=values["window_hours"]) <= r["started_at"] <= call["started_at"]
            ]
            severity, threshold = severity_of(len(window), rule.tiers)
            if severity:
                yield (
                    requester,
                    None,
                    min(p["started_at"] for _, p in window),
                    end_of(call),
                    len(window),
                    severity,
                    threshold,
                )


def distinct_window(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    field = values["field"]
    chosen = [c for c in contacts if passes_filter(c, rule) and c[field] is not None]
    for requester, mine in by_requester(chosen).items():
        for anchor in mine:
            window = in_window(mine, anchor, values["window_days"] * 86400)
            distinct = len({c[field] for c in window})
            severity, threshold = severity_of(distinct, rule.tiers)
            if severity and len(window) >= values["min_contacts"]:
                yield (
                    requester,
                    None,
                    min(c["started_at"] for c in window),
                    end_of(anchor),
                    distinct,
                    severity,
                    threshold,
                )


def daily_total(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    groups = defaultdict(list)
    for c in contacts:
        if passes_filter(c, rule) and c["department"] is not None:
            groups[(c["requester_key"], c["department"], c["local_day"])].append(c)
    for (requester, department, _), group in groups.items():
        total = sum(c["talk_s"] for c in group) / 60
        severity, threshold = severity_of(total, rule.tiers)
        if severity and len(group) >= values["min_contacts"]:
            yield (
                requester,
                department,
                min(c["started_at"] for c in group),
                max(end_of(c) for c in group),
                total,
                severity,
                threshold,
            )


def overstay(contacts, rule):
    reference = RULE_KINDS[rule.kind].param_values(rule)["reference"]
    for c in contacts:
        if c["channel"] != "visit" or c["ended_at"] is None:
            continue
        mark = c["exit_requested_at"] if reference == "exit_request" else c["closing_at"]
        if mark is None:
            continue
        late = (c["ended_at"] - mark).total_seconds() / 60
        severity, threshold = severity_of(late, rule.tiers, strict=True)
        if severity:
            yield c["requester_key"], None, c["started_at"], c["ended_at"], late, severity, threshold


def same_topic(contacts, rule):
    chosen = [c for c in contacts if passes_filter(c, rule) and c["topic_key"] is not None]
    groups = defaultdict(list)
    for c in sorted(chosen, key=lambda c: (c["started_at"], c["contact_id"])):
        groups[(c["requester_key"], c["topic_key"])].append(c)
    windows = [(s, w["days"], w["contacts"]) for s in SEVERITIES if s in rule.tiers for w in rule.tiers[s]]
    for (requester, topic), mine in groups.items():
        best = {}
        for anchor in mine:
            for severity, days, need in windows:
                window = in_window(mine, anchor, days * 86400)
                if len(window) >= need:
                    key = (min(c["started_at"] for c in window), end_of(anchor))
                    rank = (SEVERITIES.index(severity), len(window))
                    if key not in best or rank > best[key][0]:
                        best[key] = (rank, len(window), severity, need)
        for (start, end), (_, value, severity, need) in best.items():
            yield requester, topic, start, end, value, severity, float(need)


KINDS = {
    "long_contact": long_contact,
    "count_window": count_window,
    "redial": redial,
    "distinct_window": distinct_window,
    "daily_total": daily_total,
    "overstay": overstay,
    "same_topic": same_topic,
}


def episodes(contacts, rule):
    """Hits of one requester and group whose windows overlap (or touch) are one episode."""
    hits = defaultdict(list)
    for requester, group, start, end, value, severity, _threshold in KINDS[rule.kind](contacts, rule):
        hits[(requester, group)].append((start, end, value, severity))
    result = set()
    for (requester, group), mine in hits.items():
        mine.sort(key=lambda h: (h[0], h[1]))
        current = None
        for start, end, value, severity in mine:
            if current and start <= current["last"]:
                current["last"] = max(current["last"], end)
                current["value"] = max(current["value"], value)
                current["severity"] = max(current["severity"], severity, key=SEVERITIES.index)
            else:
                if current:
                    result.add(_episode(requester, group, current))
                current = {"first": start, "last": end, "value": value, "severity": severity}
        result.add(_episode(requester, group, current))
    return result


def _episode(requester, group, current):
    return (requester, group, current["first"], current["last"], current["severity"], round(float(current["value"]), 6))
