"""Secrets out of everything netra-diag shows: one module for every redaction.

* ``redact`` replaces secrets in a text with ``***`` (longest first, so a secret holding
  another goes whole), sparing the identifiers given as ``keep``;
* ``redact_data`` does it through nested data (dict keys and values, lists);
* ``redact_verdict`` (in a check, before its verdict leaves the process: a server may echo
  a token) and ``redact_report`` (before any reporter renders: every format, the terminal's
  included) apply it to the result model;
* ``public_url`` is the one way a URL is shown: user-info and credential query values
  (``?access_token=``, ``?api_key=``, ``?sig=``...) become ``***``; ``url_secrets`` lists
  those values, so that the run can redact them wherever else they appear.

A secret shorter than ``MIN_SECRET_LEN`` is left alone in reports (it would redact ordinary
words and numbers all over them); the checks and the command line, which redact the exact
tokens they were given, pass ``min_len=1``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .model import RunReport, Verdict

__all__ = ["MIN_SECRET_LEN", "REDACTED", "public_url", "redact", "redact_data",
           "redact_report", "redact_verdict", "url_secrets"]

REDACTED = "***"
#: Shorter "secrets" would redact ordinary words and numbers all over a report.
MIN_SECRET_LEN = 4

#: Query keys whose values are credentials (``?access_token=``, ``?api_key=``, ``?sig=``...).
_CREDENTIAL_KEY = re.compile(r"token|key|secret|pass|auth|sig|session|credential|jwt|code",
                             re.IGNORECASE)

#: Fields of the JSON run that hold identifiers or enum values, never rendered free text:
#: redaction leaves them alone (a token equal to ``pass`` must not corrupt a status).
_IDENTIFIER_FIELDS = frozenset({"id", "status", "why", "kind", "line", "depends_on", "tags",
                                "schema", "duration_s", "counts", "verdict", "symptom_checks",
                                "undecided", "interrupted", "builtin", "probe", "ids", "by",
                                "critical", "order", "check"})


def redact(text: str, secrets: Iterable[str], keep: Iterable[str] = (), *,
           min_len: int = MIN_SECRET_LEN) -> str:
    """Replace every occurrence of each secret with ``***``, except inside the words of
    ``keep`` (identifiers such as check ids and status names: a token ``event`` must not
    turn ``event-flow`` into ``***-flow``).

    Empty secrets and ones shorter than ``min_len`` are ignored; longer secrets are
    replaced first so that one containing another is removed whole.
    """
    usable = sorted({s for s in secrets if s and len(s) >= min_len}, key=len, reverse=True)
    if not usable:
        return text
    kept = sorted({k for k in keep if k and any(s in k for s in usable)}, key=len,
                  reverse=True)
    if not kept:
        for secret in usable:
            text = text.replace(secret, REDACTED)
        return text
    # one pass, identifiers first: where one starts, it is matched whole and kept
    pattern = re.compile("|".join(re.escape(w) for w in (*kept, *usable)))
    protected = set(kept)
    return pattern.sub(lambda m: m.group(0) if m.group(0) in protected else REDACTED, text)


def redact_data(value: Any, secrets: Sequence[str], *, min_len: int = MIN_SECRET_LEN) -> Any:
    """``value`` with every secret replaced in its strings, dict keys included (tuples come
    back as lists, as JSON has them)."""
    if isinstance(value, str):
        return redact(value, secrets, min_len=min_len)
    if isinstance(value, dict):
        return {redact_data(k, secrets, min_len=min_len): redact_data(v, secrets, min_len=min_len)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, secrets, min_len=min_len) for v in value]
    return value


def redact_verdict(verdict: Verdict, secrets_: Sequence[str]) -> Verdict:
    """``verdict`` with every token replaced by ``***`` (a server may echo what it got)."""
    from .model import Evidence, Verdict

    usable = [s for s in secrets_ if s]
    if not usable:
        return verdict

    def clean(value: Any) -> Any:
        return redact_data(value, usable, min_len=1)

    evidence = tuple(Evidence(e.kind, clean(e.message), e.file, e.line, clean(e.data))
                     for e in verdict.evidence)
    return Verdict(verdict.status, clean(verdict.summary), evidence,
                   clean(verdict.fix) if verdict.fix else None)


def redact_report(report: RunReport, secrets: Sequence[str]) -> RunReport:
    """A copy of ``report`` with every secret replaced in the text it holds (summaries,
    evidence, fixes, the target, the command line, data keys and values), before any
    reporter escapes or wraps the text. Identifiers and enum values are never touched:
    check ids and status names inside text are kept whole."""
    from .model import RunReport, Status

    keep = {r.id for r in report.results} | set(report.checks) | {s.value for s in Status}
    for meta in report.checks.values():
        keep.update(str(d) for d in meta.get("depends_on", ()) or ())

    def clean(value: Any, field: str = "", data: bool = False) -> Any:
        if field in _IDENTIFIER_FIELDS and not data:  # evidence data is all free text
            return value
        if isinstance(value, str):
            return redact(value, secrets, keep)
        if isinstance(value, dict):
            return {(k if k in keep else clean(k)): clean(v, k, data or k == "data")
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v, "", data) for v in value]
        return value

    return RunReport.from_dict(clean(report.to_dict()))


def url_secrets(url: str) -> list[str]:
    """The credentials ``url`` carries: its user-info (name and password, raw and decoded)
    and every query value whose key looks like a credential."""
    parts = urlsplit(url.strip())
    found: list[str] = []
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    for piece in userinfo.split(":") if userinfo else ():
        found += [piece, unquote(piece)]
    for raw in parts.query.split("&") if parts.query else ():
        key, _, value = raw.partition("=")
        if value and _CREDENTIAL_KEY.search(unquote(key)):
            found += [value, unquote(value)]
    found += [v for k, v in parse_qsl(parts.query) if v and _CREDENTIAL_KEY.search(k)]
    return [s for s in dict.fromkeys(found) if s]


def public_url(url: str) -> str:
    """``url`` as shown: any user-info and credential query values replaced by ``***``.
    Text that does not parse as ``scheme://host`` (a mistyped URL) keeps nothing before its
    last ``@`` in the part before the query: that may be a password."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    elif not netloc and "@" in parts.path:
        parts = parts._replace(scheme="", path="***@" + parts.path.rpartition("@")[2])
    query = "&".join(
        f"{key}=***" if value and _CREDENTIAL_KEY.search(key) else
        (f"{key}={value}" if sep else key)
        for key, sep, value in (item.partition("=") for item in parts.query.split("&"))
    ) if parts.query else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query))
