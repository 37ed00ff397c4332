"""Package-manager commands given as advice: the requirements an install names
(`pip install 'x<2'`, `npm i x@^3.0.0`) and the acts they are."""

from __future__ import annotations

import re

from experimentos.lifecycle.ingest.kinds import kind_of, target_of
from experimentos.lifecycle.ingest.vocab import (
    COMMAND_RE,
    NAME,
    Action,
    Context,
    bad_lib,
    strip_run,
)

_REQ_RE = re.compile(rf"^(?P<lib>{NAME}?)(?P<op>===|==|@|<=|>=|<|>|~=|!=|\^|~)(?P<spec>\S+)$")


def install_specs(code: str) -> list[tuple[str, str, str]]:
    """(library, operator, version) of each versioned requirement in an install command."""
    command = COMMAND_RE.match(strip_run(code.strip()))
    if not command:
        return []
    out = []
    for token in command["args"].split():
        token = token.strip("'\"")
        if token.startswith("-"):
            continue
        req = _REQ_RE.match(token)
        if req and req["lib"] and not req["lib"].startswith("-"):
            out.append((req["lib"], req["op"], req["spec"].strip("'\"")))
    return out


def command_actions(code: str, ctx: Context, back: bool = False) -> list[Action]:
    command = COMMAND_RE.match(strip_run(code.strip()))
    if not command:
        return []
    out: list[Action] = []
    upgrading = command["verb"].lower() in ("update", "upgrade", "up") or bool(
        re.search(r"(?:^|\s)(?:-U|--upgrade)\b", command["args"])
    )
    specs = install_specs(code)
    if "@npm:" in command["args"]:
        return [Action("workaround", f"run `{' '.join(code.split())}`")]  # an alias install
    for lib, op, spec in specs:
        ranged = re.match(r"(\^|~|>=|<=|<|>)(?=v?\d)", spec) if op == "@" else None
        if ranged:  # "npm install nanoid@^3.0.0": the range npm resolves
            op, spec = ranged.group(1), spec[ranged.end() :]
        if op == "@" and spec.lower() in ("latest", "next", "canary", "beta"):
            out.append(Action("upgrade", lib, spec.lower()))
            continue
        if op == "@" and not re.match(r"v?\d", spec):
            continue  # a dist-tag such as `cjs`
        op = "==" if op in ("@", "===") else op
        kind = kind_of("back" if back and op != ">=" else None, op, spec, lib, ctx)
        if kind is not None:
            out.append(Action(kind, lib, target_of(kind, op, spec)))
    if not specs and upgrading:
        names = [t for t in command["args"].split() if not t.startswith("-")]
        out += [Action("upgrade", n.strip("'\""), "latest") for n in names[:3] if not bad_lib(n)]
    return out
