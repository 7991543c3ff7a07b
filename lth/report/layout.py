"""The report's Markdown layout: its headings' GitHub anchors (for the table of contents and the first
screen's links) and prose wrapped to ``WIDTH`` characters (table rows, headings and images are left whole)."""
from __future__ import annotations

import re
from dataclasses import dataclass

WIDTH = 120
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#* *$")
FENCE = re.compile(r"^ {0,3}(```|~~~)")
# a word that would open a block (list, quote, heading, table row, HTML, fence, setext underline) if a wrapped
# line began with it
BLOCK_START = re.compile(r"^([-+*]|#{1,6}|[>|<].*|=+|-+|\d{1,9}[.)]|`{3,}.*|~{3,}.*)$")
PREFIX = re.compile(r"^( *(?:> ?)*(?:[-+*] |\d{1,9}[.)] )?)")


@dataclass(frozen=True)
class Heading:
    """One heading of a document: its level (number of #), text and GitHub anchor."""
    level: int
    text: str
    anchor: str


def slug(text: str) -> str:
    """GitHub's anchor of a heading's text: lower case, punctuation and symbols dropped (letters, digits,
    spaces, hyphens and underscores kept), spaces as hyphens."""
    return "".join("-" if c == " " else c for c in text.lower() if c.isalnum() or c in " -_")


class Anchors:
    """Hands out a document's anchors in order: a repeated slug gets GitHub's -1, -2, ... suffix."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def headings(self, markdown: str) -> list[Heading]:
        """The headings of ``markdown`` (outside code fences) with their anchors, counting every earlier one."""
        out, fenced = [], False
        for line in markdown.splitlines():
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and (match := HEADING.match(line)):
                base = slug(match.group(2))
                count = self.seen.get(base, 0)
                self.seen[base] = count + 1
                out.append(Heading(len(match.group(1)), match.group(2), base if not count else f"{base}-{count}"))
        return out


def _keep_whole(line: str) -> bool:
    """Lines that cannot wrap: table rows, headings, images, fences and indented code."""
    stripped = line.lstrip()
    return (stripped.startswith(("|", "#", "![", "```", "~~~", "<")) or line.startswith("    ")
            and not PREFIX.match(line).group(1).strip())


def wrap_line(line: str, width: int = WIDTH) -> list[str]:
    """One Markdown line as lines of at most ``width`` characters where the words allow; a list item's or
    quote's continuation lines keep it (indented under the item, or quoted); no line starts with a word
    that would open a block."""
    body = line.rstrip()
    if len(body) <= width or _keep_whole(line):
        return [line]
    prefix = PREFIX.match(body).group(1)
    follow = re.sub(r"[-+*] $|\d{1,9}[.)] $", lambda m: " " * len(m.group(0)), prefix)
    words, lines, current = body[len(prefix):].split(), [], []
    for word in words:
        lead = prefix if not lines else follow
        if current and len(lead) + len(" ".join(current + [word])) > width:
            carried = []
            while BLOCK_START.match(word if not carried else carried[0]) and len(current) > 1:
                carried.insert(0, current.pop())
            lines.append(lead + " ".join(current))
            current = carried
        current.append(word)
    lines.append((prefix if not lines else follow) + " ".join(current) + line[len(body):])
    return lines


def wrap_prose(markdown: str, width: int = WIDTH) -> str:
    """Every line longer than ``width`` wrapped (outside code fences); the rest of the text unchanged."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        out += [line] if fenced else wrap_line(line, width)
    return "\n".join(out)
