"""What the benchmarks share: writing their figures into a section of docs/performance.md."""

from __future__ import annotations

from pathlib import Path


def write_section(doc: Path, heading: str, body: list[str]) -> None:
    """Replace the section under ``heading`` (up to the next ``## `` heading) with ``body``, or
    add it at the end of ``doc``."""
    section = "\n".join([heading, "", *body]).rstrip() + "\n"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if heading in text:
        head, rest = text.split(heading, 1)
        nxt = rest.find("\n## ")
        tail = rest[nxt + 1 :] if nxt >= 0 else ""
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip() + "\n\n" + section
    doc.write_text(text, encoding="utf-8")
