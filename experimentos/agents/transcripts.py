"""What the transcript parsers share: a tolerant line reader, path and command classification.

Events are what the transcript says the agent did. A shell command is always a `command` event;
it is also a `file_inspected` (cat, head, sed -n, grep … on files), a `test_run` (pytest,
npm test, node --test, …) or a `package_version_checked` (npm view/ls, pip show, reading a
manifest or lockfile) where it looks like one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from experimentos.agents.base import Transcript, TranscriptEvent, TranscriptEventType
from experimentos.store.parse import load_json

_TEST = re.compile(
    r"(^|[\s;&|(])("
    r"pytest|py\.test|python3? -m (pytest|unittest)|node --test|"
    r"(npm|pnpm|yarn|bun) (run )?test|go test|cargo test|make (check|test)|vitest|jest|tox|nox"
    r")\b"
)
_VERSION = re.compile(
    r"(^|[\s;&|(])("
    r"(npm|pnpm|yarn|bun) (view|info|show|ls|list|outdated|why)|"
    r"pip3? (show|index|list|freeze)|python3? -m pip (show|index|list|freeze)|"
    r"uv pip (show|list)|poetry show|cargo tree|go list -m"
    r")\b"
)
MANIFESTS = {
    "package.json",
    "package-lock.json",
    "pnpm-lock.yaml",
    "yarn.lock",
    "pyproject.toml",
    "requirements.txt",
    "poetry.lock",
    "uv.lock",
    "Cargo.toml",
    "Cargo.lock",
    "go.mod",
    "go.sum",
}
_READERS = {"cat", "head", "tail", "less", "more", "nl", "bat", "sed", "grep", "rg", "awk", "jq"}
_SHELL_WRAPPER = re.compile(r"^(/\S*/)?(ba|z)?sh\s+-l?c\s+")


class Builder:
    """Accumulates one Transcript; every add is cheap and never raises."""

    def __init__(self, workdir: Path | None = None):
        self.transcript = Transcript()
        self.workdir = str(workdir) if workdir is not None else None

    def add(self, index: int, kind: TranscriptEventType, **payload: Any) -> None:
        self.transcript.events.append(TranscriptEvent(index=index, type=kind, payload=payload))

    def unknown(self, kind: str) -> None:
        counts = self.transcript.unknown_types
        counts[kind] = counts.get(kind, 0) + 1

    def rel(self, path: str) -> str:
        """A path inside the run's workdir as workdir-relative; anything else as given."""
        if self.workdir and path.startswith(self.workdir.rstrip("/") + "/"):
            return path[len(self.workdir.rstrip("/")) + 1 :]
        return path

    def command(self, index: int, command: str, **extra: Any) -> None:
        self.add(index, "command", command=command, **extra)
        inner = unwrap_shell(command)
        if _TEST.search(inner):
            self.add(index, "test_run", command=command, **_exit(extra))
        paths = read_paths(inner)
        if _VERSION.search(inner) or any(PurePosixPath(p).name in MANIFESTS for p in paths):
            self.add(index, "package_version_checked", command=command)
        for path in paths:
            self.add(index, "file_inspected", path=self.rel(path), via="shell")

    def finish(self, final: str | None, index: int) -> Transcript:
        if final is not None:
            self.transcript.final_answer = final
            self.add(index, "final_answer", text=final)
        return self.transcript


def _exit(extra: dict[str, Any]) -> dict[str, Any]:
    return {"exit_code": extra["exit_code"]} if "exit_code" in extra else {}


def unwrap_shell(command: str) -> str:
    """`/bin/bash -lc 'cat x'` -> `cat x` (codex reports commands wrapped like that)."""
    found = _SHELL_WRAPPER.match(command.strip())
    if not found:
        return command
    rest = command.strip()[found.end() :]
    try:
        words = shlex.split(rest)
    except ValueError:
        return rest
    return words[0] if len(words) == 1 else rest


def read_paths(command: str) -> list[str]:
    """Files a simple reading command names (cat a b, sed -n 1,5p f, grep -n x f …)."""
    found: list[str] = []
    for part in re.split(r"&&|\|\||;|\|", command):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        if not words or PurePosixPath(words[0]).name not in _READERS:
            continue
        tool, args = PurePosixPath(words[0]).name, words[1:]
        operands = [a for a in args if not a.startswith("-")]
        if tool in ("sed", "grep", "rg", "awk", "jq") and operands:
            operands = operands[1:]  # the script or pattern comes first
        found += [a for a in operands if "/" in a or "." in a]
    return found


def json_lines(lines: Iterable[str], builder: Builder) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, object) for every line that is a JSON object; others only count as bad lines."""
    for index, line in enumerate(lines):
        text = line.strip() if isinstance(line, str) else ""
        if not text:
            continue
        try:
            data = load_json(text)
        except ValueError:
            builder.transcript.bad_lines += 1
            continue
        if not isinstance(data, dict):
            builder.transcript.bad_lines += 1
            continue
        yield index, data


def as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def add_tokens(builder: Builder, tokens_in: Any, tokens_out: Any) -> None:
    usage = builder.transcript.usage
    usage.tokens_in = (usage.tokens_in or 0) + as_int(tokens_in)
    usage.tokens_out = (usage.tokens_out or 0) + as_int(tokens_out)
