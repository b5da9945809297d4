"""Strict TOML loading that keeps error positions.

`tomllib` reports syntax errors with a line and column but returns plain dicts. Semantic
errors found later name the file and the dotted key, plus the line where the key is written
when it can be found in the text.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .errors import KasuharaError, SourceLocation

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class TomlDocument:
    path: str
    text: str
    data: dict[str, Any]

    def locate(self, dotted_key: str) -> SourceLocation:
        """Best-effort line of `a.b.c`: the `[a.b]` table header, then the `c =` key below it."""
        parts = dotted_key.split(".")
        lines = self.text.splitlines()
        start = 0
        line_no = None
        # Find the deepest table header that prefixes the key, then the leaf key after it.
        for depth in range(len(parts) - 1, 0, -1):
            header = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(map(_key_pattern, parts[:depth])) + r"\s*\]\]?\s*(#.*)?$")
            for i, line in enumerate(lines):
                if header.match(line):
                    start, line_no = i, i + 1
                    break
            if line_no is not None:
                break
        leaf = re.compile(r"^\s*" + _key_pattern(parts[-1]) + r"\s*=")
        for i in range(start, len(lines)):
            if leaf.match(lines[i]):
                return SourceLocation(self.path, i + 1)
            if i > start and lines[i].lstrip().startswith("[") and line_no is not None:
                break
        return SourceLocation(self.path, line_no)


def _key_pattern(key: str) -> str:
    escaped = re.escape(key)
    return rf"(?:{escaped}|\"{escaped}\"|'{escaped}')"


def load_toml(path: str | Path, error: type[KasuharaError]) -> TomlDocument:
    """Read and parse a TOML file; syntax errors become `error` with the file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"{path} does not exist - check the path", SourceLocation(str(path))) from None
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text - save it as UTF-8", SourceLocation(str(path))) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        reason = _TOML_POSITION.sub("", str(exc)).strip()
        raise error(f"invalid TOML: {reason}", SourceLocation(str(path), line, column)) from exc
    return TomlDocument(str(path), text, data)


def reject_unknown_keys(
    doc: TomlDocument, table: dict[str, Any], allowed: Iterable[str], prefix: str, error: type[KasuharaError]
) -> None:
    """Raise on the first key of `table` not in `allowed`, naming its dotted path and line."""
    allowed = set(allowed)
    for key in table:
        if key not in allowed:
            dotted = f"{prefix}.{key}" if prefix else key
            raise error(
                f"unknown key '{dotted}' - allowed keys here are: {', '.join(sorted(allowed))}",
                doc.locate(dotted),
            )
