"""The package's folders are its data flow, and the imports between them follow one table.

ingest -> contacts -> rules -> judge, then desk and report for the people who read the flags,
nightly and the CLI on top, and common/ (database, settings, identity, the shared vocabulary)
beneath them all. Each module may import only what ALLOWED gives it, so a shortcut across layers
(rules reaching into judge, common into anything) fails here rather than as an import cycle later.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kasuhara_metrics"
README = Path(__file__).resolve().parents[1] / "README.md"

# What each top-level module or package of kasuhara_metrics may import, besides itself.
ALLOWED = {
    "common": set(),
    "contacts": {"common"},
    "ingest": {"common", "contacts"},
    "rules": {"common"},
    "judge": {"common", "contacts", "rules"},
    "desk": {"common"},
    "report": {"common", "desk", "judge", "rules"},
    "nightly": {"common", "contacts", "desk", "ingest", "judge", "rules"},
    "synth": {"common"},
    "cli": {"common", "contacts", "desk", "ingest", "judge", "nightly", "report", "rules", "synth", "__init__"},
    "__main__": {"cli"},
    "__init__": set(),
    "thresholds": set(),
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_by_layer(package_dir: Path = PACKAGE) -> dict[str, set[tuple[str, str]]]:
    """layer -> {(importing file, imported layer)} for every import of another layer of the package."""
    found: dict[str, set[tuple[str, str]]] = {}
    for path in package_dir.rglob("*.py"):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        package = parts[:-1]
        if parts[-1] != "__init__":
            module = ".".join(parts)
        else:
            module = ".".join(package)
        layer = _layer(module) if parts[-1] != "__init__" or len(parts) > 2 else "__init__"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = (
                    [f"{target}.{alias.name}" for alias in node.names] if target == "kasuhara_metrics" else [target]
                )
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for imported in targets:
                if imported.split(".")[0] == "kasuhara_metrics" and _layer(imported) != layer:
                    found.setdefault(layer, set()).add(
                        (path.relative_to(package_dir.parent).as_posix(), _layer(imported))
                    )
    return found


def test_each_layer_imports_only_the_layers_before_it():
    found = imports_by_layer()
    assert set(found) <= set(ALLOWED), f"new top-level modules need a place in ALLOWED: {set(found) - set(ALLOWED)}"
    wrong = sorted(
        (path, imported)
        for layer, edges in found.items()
        for path, imported in edges
        if imported not in ALLOWED[layer] and imported != "__version__"
    )
    assert not wrong, "imports across layers: " + ", ".join(f"{path} imports {imported}" for path, imported in wrong)


def test_the_check_sees_imports_it_must_refuse(tmp_path):
    # The walker itself: a rules module importing judge, written the ways the package writes imports.
    fake = tmp_path / "kasuhara_metrics"
    (fake / "rules").mkdir(parents=True)
    (fake / "rules" / "bad.py").write_text("from ..judge import judge\nimport kasuhara_metrics.report\n")
    found = imports_by_layer(fake)
    assert found["rules"] == {("kasuhara_metrics/rules/bad.py", "judge"), ("kasuhara_metrics/rules/bad.py", "report")}


def test_the_readme_layout_names_every_module_and_package():
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1].split("\n## ", 1)[0]
    tree = layout.split("kasuhara_metrics/", 1)[1].split("thresholds/", 1)[0]
    # Top level: a line of its own for each package and module; one level down: named in its entry.
    top = set(re.findall(r"^  ([a-z_]+(?:\.py|/))", tree, flags=re.M))
    packages = [p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()]
    expected_top = {p.name + "/" for p in packages}
    expected_top |= {p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")}
    assert top == expected_top - {"thresholds/"}, (
        f"README's layout: missing {sorted(expected_top - top - {'thresholds/'})}, gone {sorted(top - expected_top)}"
    )
    named = set(re.findall(r"[a-z_]+(?:\.py|/)", tree))
    inner = {
        p.name + ("/" if p.is_dir() else "")
        for package in packages
        if package.name != "thresholds"
        for p in package.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").exists()
    }
    assert not inner - named, f"README's layout does not name {sorted(inner - named)}"
