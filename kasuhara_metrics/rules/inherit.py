"""Profiles that inherit: `extends = "bunkyo"` builds a ward's profile on another one.

The ward's file names itself ([profile] is never inherited) and writes only what differs: a rule
table it writes is laid over the inherited rule key by key (`params` and `overrides` entry by
entry), a rule it adds is new, and `enabled = false` switches an inherited rule off. [site] keys
it writes replace the inherited ones. The merged data is checked like any profile, and a problem
is reported at the file and line that set the key's effective value.

Examples travel with the numbers they test: an inherited rule keeps its examples while the ward
leaves its kind, params and tiers alone (and does not write `inherit_examples = false`); the ward's
own examples are added to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..common.errors import KasuharaError, SourceLocation
from ..common.tomlfile import TomlDocument, load_toml

SHIPPED_PROFILES = Path(str(resources.files("kasuhara_metrics.thresholds")))
# What decides a rule's measurement: when an extending profile changes one, the inherited examples go.
_JUDGED_KEYS = ("kind", "params", "tiers")


@dataclass(frozen=True)
class LayeredDocument(TomlDocument):
    """A profile merged over the profiles it extends; `layers` holds its own file first."""

    layers: tuple[TomlDocument, ...] = ()

    def locate(self, dotted_key: str) -> SourceLocation:
        """The line in the file that set the key; for a missing key, where its table is written."""
        parts = dotted_key.split(".")
        if parts[0] == "profile":  # never inherited: a ward names itself
            return self.layers[0].locate(dotted_key)
        for depth in range(len(parts), 0, -1):
            for doc in self.layers:
                if _holds(doc.data, parts[:depth]):
                    return doc.locate(dotted_key)
        return self.layers[0].locate(dotted_key)


def _holds(data: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def resolve_extends(name: str, extending: Path) -> Path:
    """The profile file `name` names: a path relative to the extending file, or a shipped profile
    ("bunkyo" or "bunkyo.toml")."""
    for candidate in (extending.parent / name, extending.parent / f"{name}.toml"):
        if candidate.is_file():
            return candidate
    shipped = SHIPPED_PROFILES / (name if name.endswith(".toml") else f"{name}.toml")
    if "/" not in name and shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in SHIPPED_PROFILES.glob("*.toml")))
    raise KasuharaError(
        f"extends = {name!r}: no such file next to {extending.name}, and no shipped profile of that name "
        f'(shipped: {known}) - give a path relative to this file, e.g. extends = "bunkyo.toml"',
        None,
    )


def find_profile(name: str | Path) -> Path:
    """A profile file by its path, or a shipped profile by its name (`--profile setagaya`, even
    where a folder of that name is at hand)."""
    path = Path(name)
    shipped = SHIPPED_PROFILES / (path.name if path.suffix == ".toml" else f"{path.name}.toml")
    if not path.is_file() and path.parent == Path(".") and shipped.is_file():
        return shipped
    return path


def load_layered(path: Path) -> TomlDocument:
    """The profile at `path`, merged over every profile it extends (a plain document if it extends none)."""
    chain = [load_toml(path, KasuharaError)]
    while "extends" in chain[-1].data:
        current = chain[-1]
        name = current.data["extends"]
        where = current.locate("extends")
        if not isinstance(name, str) or not name.strip():
            raise KasuharaError('extends names the profile this one builds on, e.g. extends = "bunkyo"', where)
        try:
            base = resolve_extends(name, Path(current.path)).resolve()
        except KasuharaError as exc:
            raise KasuharaError(exc.message, where) from None
        if any(Path(doc.path).resolve() == base for doc in chain):
            names = " -> ".join(Path(doc.path).name for doc in chain)
            raise KasuharaError(f"profiles extend each other in a circle ({names} -> {base.name})", where)
        chain.append(load_toml(base, KasuharaError))
    if len(chain) == 1:
        return chain[0]
    data = chain[-1].data
    for doc in reversed(chain[:-1]):
        data = merge_profile_data(data, doc.data)
    return LayeredDocument(chain[0].path, chain[0].text, data, tuple(chain))


def merge_profile_data(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """`child` laid over `base` as described above; wrong types pass through for the loader to report."""
    merged: dict[str, Any] = {key: value for key, value in base.items() if key not in ("extends", "profile")}
    for key, value in child.items():
        if key == "extends":
            continue
        if key == "site" and isinstance(value, dict) and isinstance(base.get("site"), dict):
            merged["site"] = _merge_site(base["site"], value)
        elif key == "rules" and isinstance(value, dict) and isinstance(base.get("rules"), dict):
            rules = dict(base["rules"])
            for rule_id, table in value.items():
                inherited = rules.get(rule_id)
                if isinstance(inherited, dict) and isinstance(table, dict):
                    table = _merge_rule(inherited, table)
                rules[rule_id] = table
            merged["rules"] = rules
        else:
            merged[key] = value
    return merged


def _merge_site(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    site = base | child
    if isinstance(base.get("clock"), dict) and isinstance(child.get("clock"), dict):
        site["clock"] = base["clock"] | child["clock"]  # per source, as a site file does
    return site


def _merge_rule(inherited: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    rule = inherited | table
    for key in ("params", "overrides"):
        if isinstance(inherited.get(key), dict) and isinstance(table.get(key), dict):
            rule[key] = inherited[key] | table[key]
    same_measurement = all(rule.get(key) == inherited.get(key) for key in _JUDGED_KEYS)
    # inherit_examples = false: examples that test a calendar or a counter the ward does not share
    keep = same_measurement and table.get("inherit_examples", True) is not False
    examples = list(inherited.get("examples", [])) if keep else []
    own = table.get("examples", [])
    rule["examples"] = examples + own if isinstance(own, list) else own
    return rule
