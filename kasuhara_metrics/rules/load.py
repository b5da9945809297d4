"""Load a threshold profile (TOML) into the rule model, collecting every problem with its line.

One strict loader for every entry point (`judge`, `thresholds check`, the tests): unknown keys,
unknown kinds, wrong types and badly ordered tiers are all reported together, each as
`path:line: what is wrong - how to fix it`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..common.errors import KasuharaError, ProfileError, ProfileIssue, SettingsError, SourceLocation
from ..common.site import SiteSettings, site_from_document
from ..common.tomlfile import TomlDocument
from .inherit import LayeredDocument, find_profile, load_layered
from .kinds import CONTACT_KINDS, RULE_KINDS
from .model import CATEGORIES, SEVERITIES, DepartmentOverride, Example, ExampleContact, Profile, Rule

# The shipped profile is package data (thresholds/ is the package kasuhara_metrics.thresholds):
# found the same way in a checkout, an editable install and an installed wheel.
DEFAULT_PROFILE = Path(str(resources.files("kasuhara_metrics.thresholds") / "bunkyo.toml"))
PROFILE_KEYS = {"name", "version", "title", "description", "policy"}
RULE_KEYS = {
    "category",
    "behaviour",
    "kind",
    "description",
    "sources",
    "params",
    "tiers",
    "examples",
    "enabled",
    "responses",
    "overrides",
    "inherit_examples",
}
OVERRIDE_KEYS = {"departments", "tiers", "enabled", "reason"}
EXAMPLE_KEYS = {"name", "expect", "start", "contacts"}
CONTACT_KEYS = {
    "at",
    "channel",
    "talk",
    "answered",
    "outcome",
    "department",
    "kind",
    "topic",
    "exit_request",
    "requester",
}
# What an example call's `outcome` may say besides answered: "machine" reached only an announcement.
UNANSWERED_OUTCOMES = ("busy", "no_answer", "machine")
_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$"
)
_RULE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def default_profile_path() -> Path:
    return DEFAULT_PROFILE


def profile_site(path: str | Path | None = None) -> SiteSettings:
    """A profile's [site] settings, with what it inherits, without checking its rules: where the
    site settings of every command start (ingest needs them, not the rules)."""
    try:
        return site_from_document(load_layered(find_profile(path or DEFAULT_PROFILE)))
    except SettingsError:
        raise
    except KasuharaError as exc:
        raise SettingsError(exc.message, exc.source) from None


def load_profile(path: str | Path | None = None) -> Profile:
    """The profile at `path`, or a shipped one by name (default thresholds/bunkyo.toml); ProfileError
    lists every problem."""
    profile, issues = check_profile(path)
    if profile is None:
        raise ProfileError(issues, str(path or DEFAULT_PROFILE))
    return profile


def check_profile(path: str | Path | None = None) -> tuple[Profile | None, list[ProfileIssue]]:
    """The profile and no issues, or None and every issue found."""
    path = find_profile(path or DEFAULT_PROFILE)
    try:
        doc = load_layered(path)
    except KasuharaError as exc:
        return None, [ProfileIssue(exc.message, exc.source)]
    loader = _Loader(doc)
    profile = loader.profile()
    return (profile if not loader.issues else None), loader.issues


def minutes_of(value: Any) -> float | None:
    """A duration in minutes: a number of minutes, or text such as "2h", "1d 3h", "90m", "30s"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip():
        match = _DURATION.match(value)
        if match and any(match.groups()):
            days, hours, mins, secs = (float(g) if g else 0.0 for g in match.groups())
            return days * 1440 + hours * 60 + mins + secs / 60
    return None


class _Loader:
    def __init__(self, doc: TomlDocument):
        self.doc = doc
        self.issues: list[ProfileIssue] = []

    def problem(self, key: str, message: str) -> None:
        self.issues.append(ProfileIssue(message, self.doc.locate(key)))

    def unknown_keys(self, table: dict, allowed: set[str], prefix: str) -> None:
        for key in table:
            if key not in allowed:
                dotted = f"{prefix}.{key}" if prefix else key
                self.problem(dotted, f"unknown key '{dotted}' - allowed here: {', '.join(sorted(allowed))}")

    def string(self, table: dict, key: str, dotted: str, required: bool = True, default: str = "") -> str:
        value = table.get(key, None)
        if value is None:
            if required:
                self.problem(dotted.rsplit(".", 1)[0] if "." in dotted else dotted, f"{dotted} is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.problem(dotted, f"{dotted} must be a non-empty string")
            return default
        return value

    def profile(self) -> Profile | None:
        data = self.doc.data
        self.unknown_keys(data, {"profile", "site", "rules", "extends"}, "")
        head = data.get("profile")
        if not isinstance(head, dict):
            self.problem("profile", "a profile starts with a [profile] table: name, version, title")
            head = {}
        self.unknown_keys(head, PROFILE_KEYS, "profile")
        name = self.string(head, "name", "profile.name")
        version = self.string(head, "version", "profile.version")
        title = self.string(head, "title", "profile.title", required=False, default=name)
        policy = self.string(head, "policy", "profile.policy", required=False)
        try:
            site = site_from_document(self.doc)
        except SettingsError as exc:
            self.issues.append(ProfileIssue(exc.message, exc.source))
            site = SiteSettings()
        rules_table = data.get("rules")
        if not isinstance(rules_table, dict) or not rules_table:
            self.problem("rules", "a profile needs rules: [rules.long_call] tables with kind, tiers, ...")
            rules_table = {}
        rules = [rule for rule_id, table in rules_table.items() if (rule := self.rule(rule_id, table))]
        if self.issues:
            return None
        layers = self.doc.layers if isinstance(self.doc, LayeredDocument) else (self.doc,)
        return Profile(
            name,
            version,
            title,
            str(Path(self.doc.path).resolve()),  # judge_runs records it: a later command finds it from anywhere
            site,
            tuple(rules),
            SourceLocation(self.doc.path, 1),
            policy=policy,
            lineage=tuple(str(layer.path) for layer in layers),
        )

    def rule(self, rule_id: str, table: Any) -> Rule | None:
        prefix = f"rules.{rule_id}"
        before = len(self.issues)
        if not _RULE_ID.match(rule_id):
            self.problem(prefix, f"rule id '{rule_id}' must be lower-case letters, digits and _ (e.g. long_call)")
        if not isinstance(table, dict):
            self.problem(prefix, f"{prefix} must be a table")
            return None
        self.unknown_keys(table, RULE_KEYS, prefix)
        category = self.string(table, "category", f"{prefix}.category")
        if category and category not in CATEGORIES:
            self.problem(f"{prefix}.category", f"category must be one of {', '.join(CATEGORIES)}, not '{category}'")
        behaviour = self.string(table, "behaviour", f"{prefix}.behaviour")
        description = self.string(table, "description", f"{prefix}.description")
        kind_name = self.string(table, "kind", f"{prefix}.kind")
        kind = RULE_KINDS.get(kind_name)
        if kind_name and kind is None:
            self.problem(f"{prefix}.kind", f"unknown rule kind '{kind_name}' - known kinds: {', '.join(RULE_KINDS)}")
        sources = table.get("sources")
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s.strip() for s in sources):
            self.problem(
                f"{prefix}.sources" if "sources" in table else prefix,
                f"{prefix}.sources must list where the numbers come from (at least one string)",
            )
            sources = []
        enabled = table.get("enabled", True)
        if not isinstance(enabled, bool):
            self.problem(f"{prefix}.enabled", "enabled must be true or false")
        if not isinstance(table.get("inherit_examples", True), bool):
            self.problem(f"{prefix}.inherit_examples", "inherit_examples must be true or false")
        params = table.get("params", {})
        if not isinstance(params, dict):
            self.problem(f"{prefix}.params", 'params must be a table, e.g. params = { channel = "call" }')
            params = {}
        tiers = table.get("tiers")
        if not isinstance(tiers, dict) or not tiers:
            self.problem(
                f"{prefix}.tiers" if "tiers" in table else prefix,
                f"{prefix}.tiers must give at least one severity, e.g. tiers = {{ watch = 30, alert = 60 }}",
            )
            tiers = {}
        for severity in tiers:
            if severity not in SEVERITIES:
                self.problem(f"{prefix}.tiers", f"tier '{severity}' is not a severity - use {' and '.join(SEVERITIES)}")
        if kind is not None:
            known = {p.name: p for p in kind.params}
            for key, value in params.items():
                if key not in known:
                    self.problem(
                        f"{prefix}.params",
                        f"unknown parameter '{key}' for kind {kind.name} - "
                        f"its parameters are: {', '.join(known) or 'none'}",
                    )
                elif (why := known[key].check(value)) is not None:
                    self.problem(f"{prefix}.params", f"params.{key} {why}")
            for key, why in kind.check_params(params):
                self.problem(f"{prefix}.params", f"params.{key} {why}")
            for severity, why in kind.check_tiers({s: t for s, t in tiers.items() if s in SEVERITIES}):
                self.problem(f"{prefix}.tiers", f"tiers.{severity} {why}")
        examples = self.examples(prefix, table.get("examples", []), tiers)
        responses = table.get("responses", {})
        if not isinstance(responses, dict) or not all(
            severity in tiers and isinstance(text, str) and text.strip() for severity, text in responses.items()
        ):
            self.problem(
                f"{prefix}.responses",
                f'{prefix}.responses maps this rule\'s severities to what the ward does, e.g. {{ watch = "..." }}',
            )
            responses = {}
        overrides = self.overrides(prefix, table.get("overrides", {}), kind, tiers)
        if len(self.issues) > before:
            return None
        return Rule(
            rule_id,
            category,
            behaviour,
            kind_name,
            description,
            tuple(sources),
            dict(params),
            dict(tiers),
            examples,
            enabled,
            dict(responses),
            self.doc.locate(prefix),
            overrides,
        )

    def overrides(self, prefix: str, tables: Any, kind: Any, tiers: dict) -> tuple[DepartmentOverride, ...]:
        """[rules.X.overrides.NAME]: departments = [...], reason, and tiers = {...} or enabled = false."""
        where = f"{prefix}.overrides"
        if not isinstance(tables, dict):
            self.problem(where, f"{where} holds named tables: [{where}.long_interviews] with departments = [...]")
            return ()
        made: list[DepartmentOverride] = []
        seen: dict[str, str] = {}
        for name, table in tables.items():
            at = f"{where}.{name}"
            if not _RULE_ID.match(name):
                self.problem(at, f"override name '{name}' must be lower-case letters, digits and _")
            if not isinstance(table, dict):
                self.problem(at, f"{at} must be a table with departments and tiers (or enabled = false)")
                continue
            self.unknown_keys(table, OVERRIDE_KEYS, at)
            departments = table.get("departments")
            if (
                not isinstance(departments, list)
                or not departments
                or not all(isinstance(d, str) and d.strip() for d in departments)
            ):
                self.problem(at, f'{at}.departments must list department names, e.g. ["生活支援課"]')
                departments = []
            for department in departments:
                if department in seen:
                    self.problem(at, f"{department} is already in override {seen[department]} of {prefix}")
                seen[department] = name
            reason = self.string(table, "reason", f"{at}.reason")
            enabled = table.get("enabled", True)
            own_tiers = table.get("tiers")
            if enabled is False:
                if own_tiers is not None:
                    self.problem(at, f"{at}: an override either switches the rule off or gives tiers, not both")
                made.append(DepartmentOverride(name, tuple(departments), reason, None, self.doc.locate(at)))
                continue
            if enabled is not True:
                self.problem(at, f"{at}.enabled must be true or false")
            if not isinstance(own_tiers, dict) or not own_tiers:
                self.problem(at, f"{at} needs tiers = {{ watch = ..., alert = ... }} or enabled = false")
                continue
            if kind is not None and not kind.per_department:
                self.problem(
                    at,
                    f"{at}: kind {kind.name} measures across departments, so an override can only switch "
                    "the listed departments off (enabled = false); other tiers need a kind measured per "
                    f"department ({', '.join(k.name for k in RULE_KINDS.values() if k.per_department)})",
                )
                continue
            for severity in own_tiers:
                if severity not in tiers:
                    self.problem(at, f"{at}.tiers.{severity}: the rule has no {severity} tier to override")
            if kind is not None:
                for severity, why in kind.check_tiers({s: t for s, t in own_tiers.items() if s in SEVERITIES}):
                    self.problem(at, f"{at}.tiers.{severity} {why}")
            made.append(DepartmentOverride(name, tuple(departments), reason, dict(own_tiers), self.doc.locate(at)))
        return tuple(made)

    def examples(self, prefix: str, items: Any, tiers: dict) -> tuple[Example, ...]:
        if not isinstance(items, list):
            self.problem(f"{prefix}.examples", "examples must be [[...examples]] tables")
            return ()
        examples = []
        for number, item in enumerate(items, start=1):
            where = f"{prefix}.examples"
            label = f"example {number} of {prefix}"
            if not isinstance(item, dict):
                self.problem(where, f"{label} must be a table")
                continue
            self.unknown_keys(item, EXAMPLE_KEYS, where)
            expect = item.get("expect")
            if expect not in (*SEVERITIES, "none"):
                self.problem(where, f"{label}: expect must be watch, alert or none, not {expect!r}")
            elif expect != "none" and expect not in tiers:
                self.problem(where, f"{label}: expects {expect}, which this rule has no tier for")
            contacts = item.get("contacts")
            if not isinstance(contacts, list) or not contacts:
                self.problem(where, f"{label}: contacts must be a non-empty list of {{at = ..., ...}}")
                continue
            built = []
            for index, contact in enumerate(contacts, start=1):
                made = self.example_contact(where, f"{label}, contact {index}", contact)
                if made:
                    built.append(made)
            examples.append(
                Example(
                    str(item.get("name", label)),
                    str(expect),
                    tuple(built),
                    str(item.get("start", "2026-09-01 09:00")),
                    self.doc.locate(where),
                )
            )
        return tuple(examples)

    def example_contact(self, where: str, label: str, contact: Any) -> ExampleContact | None:
        if not isinstance(contact, dict):
            self.problem(where, f'{label} must be a table such as {{at = "0m", channel = "call", talk = "35m"}}')
            return None
        unknown = set(contact) - CONTACT_KEYS
        if unknown:
            self.problem(
                where, f"{label}: unknown key '{sorted(unknown)[0]}' - allowed: {', '.join(sorted(CONTACT_KEYS))}"
            )
            return None
        at, talk = minutes_of(contact.get("at", 0)), minutes_of(contact.get("talk", 5))
        exit_request = minutes_of(contact["exit_request"]) if "exit_request" in contact else None
        if at is None or talk is None or ("exit_request" in contact and exit_request is None):
            self.problem(where, f'{label}: at, talk and exit_request are minutes or durations such as "90m", "1d 2h"')
            return None
        channel = contact.get("channel", "call")
        kind = contact.get("kind", "unknown")
        if channel not in ("call", "visit") or kind not in CONTACT_KINDS:
            self.problem(where, f"{label}: channel is call or visit, kind one of {', '.join(CONTACT_KINDS)}")
            return None
        outcome = contact.get("outcome")
        if outcome is not None and outcome not in ("answered", *UNANSWERED_OUTCOMES):
            self.problem(where, f"{label}: outcome is answered, {', '.join(UNANSWERED_OUTCOMES)}, not {outcome!r}")
            return None
        answered = contact.get("answered", outcome in (None, "answered"))
        if outcome is None:
            outcome = "answered" if answered else "busy"
        elif answered != (outcome == "answered"):
            self.problem(where, f"{label}: answered = {str(answered).lower()} contradicts outcome = {outcome!r}")
            return None
        return ExampleContact(
            offset_minutes=at,
            channel=channel,
            talk_minutes=talk if answered else 0.0,
            answered=bool(answered),
            outcome=outcome,
            department=contact.get("department", "区民課"),
            kind=kind,
            topic=contact.get("topic"),
            exit_request_minutes=exit_request,
            requester=str(contact.get("requester", "A")),
        )
