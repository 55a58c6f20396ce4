"""How deep a JSON document nests, measured as its text arrives and before anything parses it.

Pure: a parser recurses once per nested array or object, so a document a thousand levels deep
exhausts the interpreter's stack; the request body limits and the live stream measure the depth
here first and refuse a document that nests deeper than their limit. Only the brackets outside
strings count, so the measure needs no parse and holds across chunk boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_LIMIT = 32

# A backslash escapes the next byte (it may be the last of a chunk: then the next chunk's
# first byte); quotes open and close strings; brackets count only outside strings.
_TOKENS = re.compile(rb'\\.|\\$|["\[\]{}]', re.DOTALL)


@dataclass(slots=True)
class DepthGauge:
    """Feed a JSON text chunk by chunk; ``feed`` says when it nests deeper than ``limit``."""

    limit: int = DEFAULT_LIMIT
    depth: int = 0
    deepest: int = 0
    in_string: bool = False
    escaped: bool = False

    def feed(self, chunk: bytes) -> bool:
        """Measure one more chunk: True once the document nests deeper than the limit."""
        start = 0
        if self.escaped and chunk:
            self.escaped, start = False, 1
        for m in _TOKENS.finditer(chunk, start):
            token = m.group()
            if token[0] == 0x5C:  # a backslash
                self.escaped = len(token) == 1
            elif token == b'"':
                self.in_string = not self.in_string
            elif self.in_string:
                continue
            elif token in (b"[", b"{"):
                self.depth += 1
                if self.depth > self.deepest:
                    self.deepest = self.depth
                    if self.deepest > self.limit:
                        return True
            else:
                self.depth -= 1
        return False


def too_deep(text: str | bytes, limit: int = DEFAULT_LIMIT) -> bool:
    """Whether a whole JSON text nests arrays and objects deeper than ``limit``."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return DepthGauge(limit).feed(data)
