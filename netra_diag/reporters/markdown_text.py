"""Markdown text primitives for the reports: escaping, code spans, fences, lint-clean output.

Text from a target goes through ``md_inline`` (or a code span, or a fence) so that it can
never become markup; ``lint_clean`` gives the document the form ``mdformat`` writes.
"""

from __future__ import annotations

import re

from .common import strip_controls

__all__ = ["code_span", "fence", "lint_clean", "md_inline", "plural"]

_ESCAPED = "\\`*[]<>|&~"
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")


def _escape(text: str) -> str:
    for char in _ESCAPED:
        text = text.replace(char, "\\" + char)
    return _LONE_UNDERSCORE.sub(r"\\_", text)


def md_inline(text: str) -> str:
    """Text made safe inline: one line, markup characters backslash-escaped, except inside
    balanced code spans, which are kept as they are (nothing is interpreted in them)."""
    out = " ".join(strip_controls(str(text)).split())
    parts, pos = [], 0
    for match in _CODE_SPAN.finditer(out):
        parts += [_escape(out[pos:match.start()]), match.group(0)]
        pos = match.end()
    parts.append(_escape(out[pos:]))
    return "".join(parts)


def code_span(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it contains."""
    text = " ".join(strip_controls(str(text)).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fence(body: str, lang: str = "") -> str:
    """``body`` in a fenced code block longer than any backtick run inside it."""
    body = strip_controls(body)
    longest = max((len(run) for run in re.findall(r"`{3,}", body)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{body.rstrip(chr(10))}\n{ticks}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 check``, ``2 checks`` (``many`` for irregular plurals)."""
    return f"{count} {word if count == 1 else many or word + 's'}"


def lint_clean(text: str) -> str:
    """``text`` as mdformat writes it (CommonMark, GFM tables), so ``mdformat --check``
    passes on every report: escapes only where needed, blank lines around blocks."""
    import mdformat

    return mdformat.text(text, extensions={"tables"})
