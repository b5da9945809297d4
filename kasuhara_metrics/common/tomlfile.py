"""Strict TOML loading that keeps error positions.

`tomllib` reports syntax errors with a line and column but returns plain dicts. Semantic
errors found later name the file and the dotted key, plus the line where the key is written
when it can be found in the text.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import KasuharaError, SourceLocation

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class TomlDocument:
    path: str
    text: str
    data: dict[str, Any]

    def locate(self, dotted_key: str) -> SourceLocation:
        """Best-effort line of `a.b.c`: its own `[a.b.c]` header, else `c =` under the `[a.b]` header."""
        parts = dotted_key.split(".")
        lines = self.text.splitlines()
        for depth in range(len(parts), 0, -1):
            header = _header_pattern(parts[:depth])
            start = next((i for i, line in enumerate(lines) if header.match(line)), None)
            if start is None:
                continue
            if depth == len(parts):
                return SourceLocation(self.path, start + 1)
            return SourceLocation(self.path, _leaf_line(lines, start + 1, parts[-1]) or start + 1)
        # A top-level key: before the first table header.
        return SourceLocation(self.path, _leaf_line(lines, 0, parts[-1]))


def _header_pattern(parts: list[str]) -> re.Pattern:
    return re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(map(_key_pattern, parts)) + r"\s*\]\]?\s*(#.*)?$")


def _leaf_line(lines: list[str], start: int, key: str) -> int | None:
    leaf = re.compile(r"^\s*" + _key_pattern(key) + r"\s*=")
    for i in range(start, len(lines)):
        if lines[i].lstrip().startswith("["):
            return None
        if leaf.match(lines[i]):
            return i + 1
    return None


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
                f"unknown key '{dotted}' - allowed keys here are: {', '.join(sorted(allowed))}", doc.locate(dotted)
            )
