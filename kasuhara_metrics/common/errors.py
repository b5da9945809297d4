"""One error hierarchy. Every error can carry where it happened, and says how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SourceLocation:
    """A place in an input file: path, and where known the 1-based line and column."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class KasuharaError(Exception):
    """Base of every error this package raises on purpose."""

    def __init__(self, message: str, source: SourceLocation | None = None):
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        return f"{self.message} (in {self.source})"


class InputFileError(KasuharaError):
    """An input file cannot be read as a whole: missing, empty, unknown layout or encoding."""


class MappingError(KasuharaError):
    """A column-mapping file for a phone-system export is invalid."""


class SettingsError(KasuharaError):
    """Site settings (time zone, internal numbers) are invalid."""


class DatabaseError(KasuharaError):
    """The database cannot be opened or changed as asked."""


class DatabaseBusy(DatabaseError):
    """Another process holds the database for writing."""


class ReadOnlyQuery(DatabaseError):
    """A read-only query tried to change data."""


class SecretError(KasuharaError):
    """The pseudonym secret is missing, unreadable or not the one the database was built with."""


@dataclass(frozen=True)
class ProfileIssue:
    """One problem in a threshold profile, where it is, and how to fix it."""

    message: str
    source: SourceLocation | None = None

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


class ProfileError(KasuharaError):
    """A threshold profile is invalid; carries every problem found, each with its location."""

    def __init__(self, issues: list[ProfileIssue], path: str):
        self.issues = issues
        shown = "\n".join(f"  {issue}" for issue in issues[:20])
        more = f"\n  ... and {len(issues) - 20} more" if len(issues) > 20 else ""
        noun = "problem" if len(issues) == 1 else "problems"
        super().__init__(f"{path} has {len(issues)} {noun}:\n{shown}{more}", issues[0].source if issues else None)

    def __str__(self) -> str:
        return self.message
