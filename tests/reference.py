"""Plain-Python reference implementations of every rule kind, for the property tests.

Each takes the requesters' contacts (dicts with the columns of `_judged`) and a Rule (off_hours
also the site settings: its business calendar), and yields the rule's hits; `episodes` merges them
into the flags the rule should make. They are written for clarity, not speed, straight from the
rule definitions in docs/thresholds.md.

Department overrides: an override with `enabled = false` takes its departments' contacts away from
every kind (`looked_at`, through `passes_filter`; redial and overstay call it themselves: redial
keeps every call in the sequence and drops the pairs that hold one of them); an override with
tiers gives the measurements of its departments those tiers instead of the rule's, for the kinds
measured per department (`tiers_for`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import time, timedelta
from zoneinfo import ZoneInfo

import jpholiday

from kasuhara_metrics.common.site import SiteSettings
from kasuhara_metrics.rules import RULE_KINDS, SEVERITIES

PER_DEPARTMENT = ("long_contact", "daily_total", "overstay")
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def end_of(contact):
    return contact["ended_at"] or contact["started_at"]


def switched_off(rule) -> set[str]:
    """Departments an override with enabled = false (no tiers) takes away from the rule."""
    return {d for o in rule.overrides if o.tiers is None for d in o.departments}


def looked_at(contact, rule) -> bool:
    """False for a contact of a department the rule is switched off for (any kind)."""
    return contact["department"] is None or contact["department"] not in switched_off(rule)


def tiers_for(rule, department):
    """(tiers, override id) for a measurement of `department`: an override's own tiers replace the
    rule's for the kinds measured per department; a severity the override leaves out does not apply."""
    if rule.kind in PER_DEPARTMENT and department is not None:
        for o in rule.overrides:
            if o.tiers is not None and department in o.departments:
                return o.tiers, o.id
    return rule.tiers, None


def passes_filter(contact, rule) -> bool:
    if not looked_at(contact, rule):
        return False
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


# -- hits: (requester, group, window_start, window_end, value, severity, threshold, override) ----
# `override` is the id of the department override whose tiers the hit reached, None for the rule's.


def long_contact(contacts, rule):
    for c in contacts:
        if passes_filter(c, rule):
            tiers, override = tiers_for(rule, c["department"])
            severity, threshold = severity_of(c["talk_s"] / 60, tiers)
            if severity:
                yield (
                    c["requester_key"],
                    None,
                    c["started_at"],
                    end_of(c),
                    c["talk_s"] / 60,
                    severity,
                    threshold,
                    override,
                )


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
                    None,
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
                    None,
                )


def redial(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    # the call before is the one before among all calls; a pair with a call of a switched-off
    # department is no redial (switching off only ever takes flags away)
    calls = [c for c in contacts if c["channel"] == "call"]
    for requester, mine in by_requester(calls).items():
        redials = []
        for previous, call in zip(mine, mine[1:], strict=False):
            gap = (call["started_at"] - end_of(previous)).total_seconds()
            both_looked_at = looked_at(call, rule) and looked_at(previous, rule)
            if previous["answered"] and 0 <= gap <= values["gap_minutes"] * 60 and both_looked_at:
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
                    None,
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
                    None,
                )


def daily_total(contacts, rule):
    values = RULE_KINDS[rule.kind].param_values(rule)
    groups = defaultdict(list)
    for c in contacts:
        if passes_filter(c, rule) and c["department"] is not None:
            groups[(c["requester_key"], c["department"], c["local_day"])].append(c)
    for (requester, department, _), group in groups.items():
        total = sum(c["talk_s"] for c in group) / 60
        tiers, override = tiers_for(rule, department)
        severity, threshold = severity_of(total, tiers)
        if severity and len(group) >= values["min_contacts"]:
            yield (
                requester,
                department,
                min(c["started_at"] for c in group),
                max(end_of(c) for c in group),
                total,
                severity,
                threshold,
                override,
            )


def overstay(contacts, rule):
    reference = RULE_KINDS[rule.kind].param_values(rule)["reference"]
    for c in contacts:
        if c["channel"] != "visit" or c["ended_at"] is None or not looked_at(c, rule):
            continue
        mark = c["exit_requested_at"] if reference == "exit_request" else c["closing_at"]
        if mark is None:
            continue
        late = (c["ended_at"] - mark).total_seconds() / 60
        tiers, override = tiers_for(rule, c["department"])
        severity, threshold = severity_of(late, tiers, strict=True)
        if severity:
            yield c["requester_key"], None, c["started_at"], c["ended_at"], late, severity, threshold, override


def same_topic(contacts, rule):
    chosen = [c for c in contacts if passes_filter(c, rule) and c["topic_key"] is not None]
    groups = defaultdict(list)
    for c in sorted(chosen, key=lambda c: (c["started_at"], c["contact_id"])):
        groups[(c["requester_key"], c["topic_key"])].append(c)
    windows = [(s, w["days"], w["contacts"]) for s in SEVERITIES if s in rule.tiers for w in rule.tiers[s]]
    for (requester, topic), mine in groups.items():
        reached = defaultdict(list)  # (window start, end) -> (rank, value, severity, need) of each window reached
        for anchor in mine:
            for severity, days, need in windows:
                window = in_window(mine, anchor, days * 86400)
                if len(window) >= need:
                    key = (min(c["started_at"] for c in window), end_of(anchor))
                    reached[key].append(((SEVERITIES.index(severity), len(window)), len(window), severity, need))
        for (start, end), found in reached.items():
            # the worst window, then the fullest; windows tied on both are all possible thresholds
            best = max(rank for rank, *_ in found)
            for rank, value, severity, need in found:
                if rank == best:
                    yield requester, topic, start, end, value, severity, float(need), None


def is_off_hours(contact, site: SiteSettings) -> bool:
    """The contact STARTS (site time) on a closed day, or before opening or from closing time on."""
    local = contact["started_at"].astimezone(ZoneInfo(site.timezone))
    day = local.date()
    closed = (
        WEEKDAY_NAMES[day.weekday()] not in site.business_days
        or (site.public_holidays and jpholiday.is_holiday(day))
        or day.strftime("%m-%d") in site.closure_days
    )
    opening, closing = (time(*map(int, t.split(":"))) for t in site.business_hours.split("-"))
    return closed or local.time() < opening or local.time() >= closing


def off_hours(contacts, rule, site: SiteSettings):
    values = RULE_KINDS[rule.kind].param_values(rule)

    def counted(c):
        if values["counts"] == "answered":
            return c["channel"] == "visit" or c["answered"]
        return c["channel"] == "call" and c["outcome"] == "machine"

    chosen = [c for c in contacts if passes_filter(c, rule) and counted(c) and is_off_hours(c, site)]
    for requester, mine in by_requester(chosen).items():
        for anchor in mine:
            window = in_window(mine, anchor, values["window_days"] * 86400)
            severity, threshold = severity_of(len(window), rule.tiers)
            days = {c["local_day"] for c in window}
            if severity and len(days) >= values["min_days"]:
                yield (
                    requester,
                    None,
                    min(c["started_at"] for c in window),
                    end_of(anchor),
                    len(window),
                    severity,
                    threshold,
                    None,
                )


KINDS = {
    "long_contact": long_contact,
    "count_window": count_window,
    "redial": redial,
    "distinct_window": distinct_window,
    "daily_total": daily_total,
    "overstay": overstay,
    "same_topic": same_topic,
    "off_hours": off_hours,
}
NEEDS_SITE = ("off_hours",)


def hits(contacts, rule, site: SiteSettings | None = None):
    """The rule's hits; each kind leaves out the contacts of switched-off departments itself."""
    if rule.kind in NEEDS_SITE:
        return KINDS[rule.kind](contacts, rule, site or SiteSettings())
    return KINDS[rule.kind](contacts, rule)


def episodes(contacts, rule, site: SiteSettings | None = None):
    """Hits of one requester and group whose windows overlap (or touch) are one episode.

    Returns {(requester, group, first_at, last_at, severity, value): {(override, threshold), ...}}:
    an episode takes the override and threshold of its worst hit (severity, then value); when hits
    tie on both, any of theirs is right. A rule with enabled = false is not judged: no episodes.
    """
    if not rule.enabled:
        return {}
    by_group = defaultdict(list)
    for requester, group, start, end, value, severity, threshold, override in hits(contacts, rule, site):
        by_group[(requester, group)].append((start, end, value, severity, threshold, override))
    result = {}
    for (requester, group), mine in by_group.items():
        mine.sort(key=lambda h: (h[0], h[1]))
        current = None
        for start, end, value, severity, threshold, override in mine:
            if current and start <= current["last"]:
                current["last"] = max(current["last"], end)
                current["hits"].append((value, severity, threshold, override))
            else:
                if current:
                    result.update([_episode(requester, group, current)])
                current = {"first": start, "last": end, "hits": [(value, severity, threshold, override)]}
        result.update([_episode(requester, group, current)])
    return result


def _episode(requester, group, current):
    def rank(hit):
        return SEVERITIES.index(hit[1]), hit[0]

    worst = max(rank(h) for h in current["hits"])
    severity = SEVERITIES[worst[0]]
    value = max(h[0] for h in current["hits"])
    choices = frozenset((h[3], round(float(h[2]), 6)) for h in current["hits"] if rank(h) == worst)
    key = (requester, group, current["first"], current["last"], severity, round(float(value), 6))
    return key, choices
