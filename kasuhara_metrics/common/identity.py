"""Who is calling: phone normalisation, withheld callers, staff numbers and keyed pseudonyms.

A requester key is `R` + 16 hex digits of HMAC-SHA256(site secret, canonical number). Raw numbers
never leave this module: ingest hands it the distinct raw values and stores only the keys.
Withheld or unusable caller IDs never form a requester.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import phonenumbers
import pyarrow as pa

from . import arrays
from .errors import SecretError
from .site import SiteSettings

# Values that mean "no caller ID", compared after NFKC and casefold. Japanese displays
# (非通知 withheld, 公衆電話 payphone, 表示圏外 / 通知不可 not deliverable), carrier causes of
# no CLI (3GPP TS 24.008), PBX and SMDR words, and Twilio's pseudo-numbers.
WITHHELD_WORDS = {
    "非通知": "非通知",
    "ひつうち": "非通知",
    "ヒツウチ": "非通知",
    "非通知設定": "非通知",
    "公衆電話": "公衆電話",
    "表示圏外": "表示圏外",
    "通知不可": "通知不可",
    "通知不可能": "通知不可",
    "不明": "不明",
    "anonymous": "anonymous",
    "anonymous@anonymous.invalid": "anonymous",
    "sip:anonymous@anonymous.invalid": "anonymous",
    "restricted": "restricted",
    "private": "private",
    "unavailable": "unavailable",
    "unknown": "unknown",
    "withheld": "withheld",
    "blocked": "blocked",
    "coin line/payphone": "公衆電話",
    "payphone": "公衆電話",
    "interaction with other service": "表示圏外",
    "out of area": "表示圏外",
    "reject by user": "非通知",
    "private number": "private",
    "非表示": "非通知",
    "通知なし": "非通知",
    "番号非通知": "非通知",
    "ユーザ拒否": "非通知",
    "ユーザー拒否": "非通知",
    # SMDR single letters: Private, Out of area, Coin (payphone)
    "p": "private",
    "o": "表示圏外",
    "c": "公衆電話",
    "266696687": "anonymous",
    "7378742833": "restricted",
    "8656696": "unknown",
    "2562533": "blocked",
    "86282452253": "unavailable",
}
# Substrings that mark a display such as "非通知(184)" or "公衆電話から".
WITHHELD_FRAGMENTS = ("非通知", "公衆電話", "表示圏外", "通知不可", "anonymous.invalid")

_CLID = re.compile(r'^\s*"?(?P<name>.*?)"?\s*<(?P<number>[^>]*)>\s*$')
_PUNCTUATION = re.compile(r"[\s\-‐‑‒–—―ー−().\[\]/]")
_ALL_MASKED = re.compile(r"^[*#xX?]+$")
_ALL_ZEROS = re.compile(r"^\+?0[0\s\-]*$")
_NON_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class CallerIdentity:
    """What a raw caller value turned out to be. `canonical` is the E.164 or extension form."""

    caller_class: str  # external | withheld | internal | unusable
    canonical: str | None
    note: str | None = None

    @property
    def external_number(self) -> str | None:
        """The E.164 number of a caller from outside (the only kind that can be a requester), else None."""
        return self.canonical if self.caller_class == "external" else None


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def split_clid(text: str) -> tuple[str, str]:
    """`"Name" <number>` -> (name, number); anything else -> ("", text)."""
    match = _CLID.match(text)
    if match:
        return match.group("name").replace('""', '"').strip().strip('"'), match.group("number").strip()
    return "", text


def withheld_reason(text: str) -> str | None:
    """The reason a caller value means 'no caller ID', or None."""
    folded = nfkc(text).casefold().strip().strip('"').strip()
    if folded in ("", '""', "<>", '"" <>'):
        return "empty"
    if _ALL_ZEROS.match(folded):  # 0, 000, 0000000000: a placeholder some systems write for no number
        return "zeros"
    if folded in WITHHELD_WORDS:
        return WITHHELD_WORDS[folded]
    if folded.lstrip("+") in WITHHELD_WORDS:
        return WITHHELD_WORDS[folded.lstrip("+")]
    if _ALL_MASKED.match(folded):
        return "masked"
    for fragment in WITHHELD_FRAGMENTS:
        if fragment in folded:
            return WITHHELD_WORDS.get(fragment, "anonymous")
    return None


# requester_ref values that name nobody: a form's blanks and "unknown"s.
REFERENCE_PLACEHOLDERS = {
    "-",
    "--",
    "---",
    "ー",
    "―",
    "−",
    "?",
    "??",
    "x",
    "xx",
    "xxx",
    "0",
    "00",
    "000",
    "n/a",
    "na",
    "none",
    "null",
    "nil",
    "unknown",
    "anonymous",
    "なし",
    "無し",
    "不明",
    "不詳",
    "未記入",
    "未確認",
    "匿名",
    "該当なし",
    "非通知",
    "名乗らず",
}
_ONLY_PUNCTUATION = re.compile(r"^[\W_]+$")


def usable_reference(raw: str | None) -> str | None:
    """A requester_ref that identifies someone (NFKC-normalised), or None for blanks and placeholders."""
    text = nfkc(raw or "")
    if not text or text.casefold() in REFERENCE_PLACEHOLDERS or _ONLY_PUNCTUATION.match(text):
        return None
    return text


def classify_number(raw: str | None, site: SiteSettings) -> CallerIdentity:
    """Classify one raw caller value (a number, `"Name" <number>`, or a withheld display)."""
    if raw is None:
        return CallerIdentity("withheld", None, "empty")
    if raw.isascii() and raw.isdigit() and raw not in WITHHELD_WORDS and raw.strip("0"):
        return _classify_digits(raw, False, site)  # the common case, without the text handling
    name, number = split_clid(raw)
    # The number decides; a display name only says why it is missing ("Coin line/payphone" <anonymous@...>).
    reason = withheld_reason(number)
    if reason is not None:
        return CallerIdentity("withheld", None, (withheld_reason(name) if name else None) or reason)
    text = _uri_user(nfkc(number))
    plus = text.startswith("+")
    digits = _PUNCTUATION.sub("", text).lstrip("+")
    if not digits:
        return CallerIdentity("withheld", None, "empty")
    if not digits.isdigit():
        # A device name such as client1 or a damaged value: never a requester.
        return CallerIdentity("unusable", None, "not a number")
    return _classify_digits(digits, plus, site)


def _uri_user(text: str) -> str:
    """The number of a SIP or tel URI (sip:0312345678@host;user=phone -> 0312345678), else the text."""
    if text.lower().startswith(("sip:", "sips:", "tel:")):
        return text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    return text


def all_digits(value: str | None) -> str:
    """Every digit of a dialled value (9#0362345678 -> 90362345678), a URI's user part only."""
    return _NON_DIGIT.sub("", _uri_user(nfkc(value or "")))


def _classify_digits(digits: str, plus: bool, site: SiteSettings) -> CallerIdentity:
    if not plus and len(digits) <= site.internal_max_digits:
        return CallerIdentity("internal", digits, "extension")
    if site.outside_line_prefix and not plus and digits.startswith(site.outside_line_prefix + "0"):
        digits = digits[len(site.outside_line_prefix) :]
    national = _japanese_national_number(digits, plus, site.region)
    if national is not None:
        # The common forms (0XXXXXXXXX, +81XXXXXXXXX) are checked against phonenumbers' own JP
        # patterns directly: parsing costs most of the time, and ingest meets every distinct number.
        if not JP_NUMBERS.is_valid(national):
            return CallerIdentity("unusable", None, "invalid phone number")
        return CallerIdentity("external", "+81" + national)
    try:
        parsed = phonenumbers.parse(("+" if plus else "") + digits, site.region)
    except phonenumbers.NumberParseException:
        return CallerIdentity("unusable", None, "not a phone number")
    if not phonenumbers.is_valid_number(parsed):
        return CallerIdentity("unusable", None, "invalid phone number")
    return CallerIdentity("external", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _japanese_national_number(digits: str, plus: bool, region: str) -> str | None:
    """The national significant number of 0XXXXXXXXX (region JP) or +81XXXXXXXXX, else None."""
    if plus and digits.startswith("81") and digits[2:3] not in ("", "0"):
        return digits[2:]
    # 010 is Japan's international call prefix, not a national number: phonenumbers reads those.
    if (
        not plus
        and region == "JP"
        and len(digits) in (10, 11)
        and digits[0] == "0"
        and digits[1] != "0"
        and not digits.startswith("010")
    ):
        return digits[1:]
    return None


class RegionPatterns:
    """is_valid_number for one region from phonenumbers' metadata: the general pattern and one type's."""

    _TYPES = (
        "fixed_line",
        "mobile",
        "toll_free",
        "premium_rate",
        "shared_cost",
        "personal_number",
        "voip",
        "pager",
        "uan",
        "voicemail",
    )

    def __init__(self, region: str):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            raise ValueError(f"phonenumbers has no metadata for region {region!r}")
        self.general = self._compile(metadata.general_desc)
        self.types = [self._compile(desc) for name in self._TYPES if (desc := getattr(metadata, name, None))]

    @staticmethod
    def _compile(desc) -> tuple[re.Pattern | None, frozenset[int]]:
        pattern = re.compile(desc.national_number_pattern) if desc.national_number_pattern else None
        return pattern, frozenset(desc.possible_length or ())

    @staticmethod
    def _matches(national: str, compiled: tuple[re.Pattern | None, frozenset[int]]) -> bool:
        pattern, lengths = compiled
        if pattern is None or (lengths and len(national) not in lengths):
            return False
        return pattern.fullmatch(national) is not None

    def is_valid(self, national: str) -> bool:
        return self._matches(national, self.general) and any(self._matches(national, t) for t in self.types)


JP_NUMBERS = RegionPatterns("JP")


class Pseudonymizer:
    """Keyed pseudonyms: the same input always gives the same key under one site secret."""

    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise SecretError("the pseudonym secret must be at least 16 bytes long")
        self._secret = secret
        # An ingest meets the same callers in every file: known keys live as long as it.
        self._known: dict[tuple[str, str], str] = {}

    def key(self, canonical: str, namespace: str = "tel") -> str:
        known = self._known.get((namespace, canonical))
        if known is None:
            digest = hmac.new(self._secret, f"{namespace}:{canonical}".encode(), hashlib.sha256).hexdigest()
            known = self._known[(namespace, canonical)] = "R" + digest[:16]
        return known

    def hmac_pads(self) -> tuple[bytes, bytes]:
        """The inner and outer HMAC-SHA256 pads of the secret (RFC 2104), for keys computed in SQL."""
        key = self._secret if len(self._secret) <= 64 else hashlib.sha256(self._secret).digest()
        key = key.ljust(64, b"\0")
        return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)

    def code(self, text: str, kind: str) -> str:
        """A short keyed code for free text the database must not hold (a topic, a department):
        `T-` or `D-` + 10 hex digits. The same text, written alike, always gets the same code."""
        digest = hmac.new(self._secret, f"{kind}:{text}".encode(), hashlib.sha256).hexdigest()
        return f"{kind[:1].upper()}-{digest[:10]}"

    def fingerprint(self) -> str:
        """Identifies the secret without revealing it, to detect a database opened with another one."""
        return hmac.new(self._secret, b"kasuhara-secret-fingerprint", hashlib.sha256).hexdigest()[:16]


def secret_path_for(db_path: str) -> Path:
    return Path(os.environ.get("KASUHARA_SECRET_FILE") or f"{db_path}.secret")


def load_secret(db_path: str, *, create: bool) -> bytes:
    """$KASUHARA_SECRET, else the secret file beside the database, created (mode 0600) on first use."""
    env = os.environ.get("KASUHARA_SECRET")
    if env:
        return env.encode()
    path = secret_path_for(db_path) if db_path != ":memory:" else None
    if path is None:
        if create:
            return secrets.token_hex(32).encode()
        raise SecretError("an in-memory database has no secret file - set KASUHARA_SECRET")
    if path.exists():
        try:
            return path.read_bytes().strip()
        except PermissionError:
            raise SecretError(
                f"cannot read the pseudonym secret {path} - only authorised users may; "
                "ask the operator, or set KASUHARA_SECRET"
            ) from None
    if not create:
        raise SecretError(
            f"no pseudonym secret at {path} - set KASUHARA_SECRET or KASUHARA_SECRET_FILE to the site secret"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path.read_bytes().strip()


def pseudonymizer_for(db, *, create: bool) -> Pseudonymizer:
    """The database's pseudonymizer; refuses a secret other than the one the database was built with.

    A secret is created only for a database that has none yet: for one built with a secret, a
    missing secret file is an error, never the cue to make a new, wrong one.
    """
    known = db.meta("secret_fingerprint")
    pseudo = Pseudonymizer(load_secret(db.path, create=create and known is None))
    if known is None:
        if not db.read_only:
            db.set_meta("secret_fingerprint", pseudo.fingerprint())
    elif known != pseudo.fingerprint():
        raise SecretError(
            f"the pseudonym secret in use is not the one {db.path} was built with (fingerprint {known}) - "
            "set KASUHARA_SECRET or KASUHARA_SECRET_FILE to the original secret"
        )
    return pseudo


def check_secret(db) -> None:
    """Refuse a secret in reach (KASUHARA_SECRET, the secret file) other than the database's own.

    Every command calls this on opening: a wrong secret would give new data other pseudonyms. A
    reader without any secret (an analyst) is fine: the database holds pseudonyms only.
    """
    known = db.meta("secret_fingerprint")
    if known is None:
        return
    try:
        secret = load_secret(db.path, create=False)
    except SecretError:
        return
    if Pseudonymizer(secret).fingerprint() != known:
        where = "KASUHARA_SECRET" if os.environ.get("KASUHARA_SECRET") else str(secret_path_for(db.path))
        raise SecretError(
            f"the pseudonym secret in {where} is not the one {db.path} was built with (fingerprint {known}) - "
            "set KASUHARA_SECRET or KASUHARA_SECRET_FILE to the original secret, or unset it to read without one"
        )


# A pure function of (raw value, site): a day's files repeat most callers of the days before.
_classify_remembered = functools.lru_cache(maxsize=1 << 18)(classify_number)


def identify_each(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer):
    """Classify distinct raw values one at a time; an Arrow table of raw -> class, key, canonical, note.

    The reference for `bulkidentity.identify_values`, and its path for the values SQL does not read.
    The table lives only in memory during ingest: `canonical` (an E.164 number) is never stored
    for external numbers, only their keyed pseudonym.
    """
    classes, keys, canonicals, notes = [], [], [], []
    staff = staff_numbers(site)
    for value in values:
        identity = _classify_remembered(value, site)
        if identity.caller_class == "external" and identity.canonical in staff:
            identity = CallerIdentity("internal", None, "staff number")
        classes.append(identity.caller_class)
        canonicals.append(identity.canonical)
        keys.append(pseudo.key(number) if (number := identity.external_number) else None)
        notes.append(identity.note)
    return pa.table(
        {
            "raw": arrays.strings(values),
            "class": arrays.strings(classes),
            "key": arrays.strings(keys),
            "canonical": arrays.strings(canonicals),
            "note": arrays.strings(notes),
        }
    )


@functools.lru_cache(maxsize=16)
def staff_numbers(site: SiteSettings) -> frozenset[str]:
    """The canonical forms of the site's staff_numbers (E.164, or digits when not a valid number)."""
    forms = set()
    for number in site.staff_numbers:
        identity = classify_number(number, site)
        forms.add(identity.canonical or _PUNCTUATION.sub("", nfkc(number)).lstrip("+"))
    return frozenset(forms)


def identify_references(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer):
    """requester_ref values -> keys; placeholders (-, なし, 不明, ...) are nobody: they must not join strangers."""
    keys = [pseudo.key(usable, "ref") if (usable := usable_reference(v)) else None for v in values]
    return pa.table({"raw": arrays.strings(values), "key": arrays.strings(keys)})


def normal_text(text: str | None) -> str | None:
    """Free text as compared: NFKC (full-width letters and digits), lower case, one space between words."""
    folded = " ".join(nfkc(text or "").casefold().split())
    return folded or None


def identify_texts(kind: str):
    """identify(values, site, pseudo) for free text of `kind` (topic, department): raw -> code, and the
    normalised text (the name it resolves to when the site's list knows it)."""

    def identify(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer):
        normal = [normal_text(v) for v in values]
        return pa.table(
            {
                "raw": arrays.strings(values),
                "normal": arrays.strings(normal),
                "code": arrays.strings([pseudo.code(n, kind) if n else None for n in normal]),
            }
        )

    return identify


def identify_dialled(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer):
    """Dialled numbers -> (class, stored value): an extension stays as digits; any value with more
    digits than an extension (a number, the ward's own DIDs, a SIP URI or dial string holding one)
    is stored only as its pseudonym (departments map those too)."""
    classes, stored = [], []
    for value in values:
        identity = _classify_remembered(value, site)
        digits = all_digits(value)
        if identity.caller_class == "internal":
            classes.append("extension")
            stored.append(identity.canonical)
        elif (number := identity.external_number) is not None:
            classes.append("number")
            stored.append(pseudo.key(number))
        elif len(digits) > site.internal_max_digits:
            classes.append("number")  # not a valid number, but digits of someone's: never in clear
            stored.append(pseudo.key(digits, "digits"))
        else:
            classes.append("none")  # Asterisk's s, h, t; any other text (a name, a URI) only as its code
            text = (value or "").strip()
            stored.append((text if len(text) <= 2 else pseudo.code(text, "xdialled")) if text else None)
    return pa.table(
        {
            "raw": arrays.strings(values),
            "class": arrays.strings(classes),
            "value": arrays.strings(stored),
        }
    )


def identify_own_numbers(values: list[str | None], site: SiteSettings, pseudo: Pseudonymizer):
    """The ward's extensions and numbers (departments): as dialled numbers are stored, so they match.

    An extension is kept as digits; a valid number, and a DID that is no valid number (6 digits,
    say), only as their pseudonyms, keyed as calls key them when dialled.
    """
    classes, canonicals, keys = [], [], []
    for value in values:
        identity = _classify_remembered(value, site)
        digits = _PUNCTUATION.sub("", nfkc(value or "")).lstrip("+")
        if identity.caller_class in ("internal", "external"):
            classes.append(identity.caller_class)
            # a full number is held only as its pseudonym: no number in clear in the database
            key = pseudo.key(number) if (number := identity.external_number) else None
            canonicals.append(key or identity.canonical)
            keys.append(key)
        elif digits.isdigit() and len(digits) > site.internal_max_digits:
            classes.append("digits")
            canonicals.append(pseudo.key(digits, "digits"))
            keys.append(canonicals[-1])
        else:
            classes.append("unusable")
            canonicals.append(None)
            keys.append(None)
    return pa.table(
        {
            "raw": arrays.strings(values),
            "class": arrays.strings(classes),
            "canonical": arrays.strings(canonicals),
            "key": arrays.strings(keys),
        }
    )
