"""Libraries a task names: the words of the task text matched against package names.

"Bump drizzle-kit to fix …" names drizzle-kit without any `--library`. A word matches a name
when both normalise to the same npm key (lowercase) or PEP 503 key (`_`, `.` and `-` alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from experimentos.repofacts.facts import npm_key, python_key

# Package-name shaped words: `drizzle-kit`, `@scope/pkg`, `ruamel.yaml`, `pg`; a trailing `.`
# or `,` of the sentence is not part of the name.
_WORD_RE = re.compile(r"@?[A-Za-z0-9][A-Za-z0-9._/+-]*")


def words(text: str) -> set[str]:
    """The npm and PEP 503 keys of every package-name shaped word of `text`."""
    out: set[str] = set()
    for match in _WORD_RE.finditer(text):
        word = match.group(0).rstrip("._/+-")
        if word:
            out.add(npm_key(word))
            out.add(python_key(word))
    return out


def mentioned(text: str, names: Iterable[str]) -> list[str]:
    """The `names` that `text` mentions as a word, in the order given, each once."""
    found = words(text)
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        key = python_key(name)
        if key not in seen and (npm_key(name) in found or key in found):
            seen.add(key)
            out.append(name)
    return out
