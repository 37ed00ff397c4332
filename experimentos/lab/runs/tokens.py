"""Run tokens: the opaque name a matrix run's agent knows its run by.

A matrix run id names its cell (`run.<matrix>.<fixture>.without-policy.x.<agent>.r2`), so an
agent that saw it would learn its condition, and in an ablation the page that was removed. The
agent sees a token instead (`run.t<16 hex digits>`, random per attempt): in its environment, in
the MCP server's command line, in every answer of that server. The runner records the token in
the run record (`matrix.runToken`) and maps it to the run id in a file under the root's state
directory (`.experimentos/run-tokens/<token>`) for the run's lifetime, where the MCP server
started by the agent (`mcp serve --run-token`) looks it up.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from experimentos.errors import NotFound, UsageError
from experimentos.store.safe import STATE_DIR, read_regular, state_path

TOKENS_DIR = "run-tokens"
TOKEN_RE = re.compile(r"^run\.t[0-9a-f]{16}$")
# What a matrix run's MCP server offers: the knowledge and the run's own record. Tools that
# read the experiments (their runs, conditions and results) or write elsewhere are left out:
# their answers would tell the agent which cell it is.
MATRIX_RUN_TOOLS = (
    "start_pre_work_protocol", "get_work_brief", "get_agent_work_context",
    "resolve_dependencies", "search_knowledge", "get_page", "record_run_event",
    "record_decision", "complete_run", "validate_run_completion", "get_next_required_action",
)  # fmt: skip


def new_token() -> str:
    """A fresh token; it says nothing about the run (random, not derived from its id)."""
    return f"run.t{secrets.token_hex(8)}"


def check_token(token: str) -> str:
    if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        raise UsageError(f"{token!r} is not a run token (run.t<16 hex digits>)", field="run_token")
    return token


def issue_token(root: Path, run_id: str) -> str:
    """A new token mapped to `run_id` until `drop_token`."""
    token = new_token()
    path = state_path(root, TOKENS_DIR) / token
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(run_id + "\n")
    return token


def resolve_token(root: Path, token: str) -> str:
    """The run id a live token maps to (NotFound when the run is over or never was)."""
    check_token(token)
    state_path(root, TOKENS_DIR)  # a real directory inside the root, never a link
    try:
        raw = read_regular(Path(root), f"{STATE_DIR}/{TOKENS_DIR}/{token}", limit=512)
    except NotFound:
        raise NotFound(f"no live run has token {token}", field="run_token") from None
    return raw.decode("utf-8", "replace").strip()


def drop_token(root: Path, token: str) -> None:
    with contextlib.suppress(FileNotFoundError, NotFound, UsageError):
        check_token(token)
        (state_path(root, TOKENS_DIR) / token).unlink()
