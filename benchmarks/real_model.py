"""A real model through a real agent CLI, one full matrix cell: the path, timed.

    pip install -e '.[realmodel]' && experimentos agents install opencode
    python benchmarks/real_model.py [--agent opencode --provider openai-chat] [--keep DIR]

Serves Gemma 3 270M (a GGUF file from an installed PyPI package, never a download) with
llama.cpp's OpenAI-compatible server (the xllamacpp wheel) on 127.0.0.1, writes a knowledge root
with the project's drizzle-pin fixture and a one-cell matrix whose agent names that endpoint:

    model: {provider: openai-chat, baseUrl: http://127.0.0.1:PORT/v1, name: gemma-3-270m,
            keyEnv: REAL_MODEL_KEY, contextWindow: 32768, maxOutputTokens: 256}

and runs it with `experimentos matrix run` (a subprocess, as a researcher would). Prints JSON:
server start, time to the first streamed token, the cell's wall time, and what the run record
says (status, model endpoint, the model's own text from the transcript). The model is tiny and
fails the task; what the run proves is the path. With a key variable set to a dummy value, the
output also says whether that value appears anywhere in the files the run wrote.

Combinations: opencode with openai-chat, openai-responses or anthropic; codex with
openai-responses; claude-code with anthropic (llama.cpp serves all three APIs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from experimentos.agents.install import find_binary  # noqa: E402
from experimentos.agents.localmodel import (  # noqa: E402
    MAX_TOKENS,
    missing_packages,
    serve_local_model,
)

EXPERIMENT = "real-model"
KEY_ENV = "REAL_MODEL_KEY"
KEY_VALUE = "rmk-4f1d0c9e7b2a-not-a-real-key"  # a dummy: llama.cpp asks for none
FIXTURE = "drizzle-pin"


def first_token_seconds(base_url: str, model: str) -> float:
    """Seconds from a streamed chat request to its first content chunk."""
    body = {
        "model": model,
        "stream": True,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Reply with one word."}],
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    began = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        for raw in response:
            line = raw.decode("utf-8", "replace").strip()
            if line.startswith("data:") and '"content"' in line:
                return time.monotonic() - began
    return time.monotonic() - began


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def make_root(root: Path, agent: dict, condition: str, time_limit: float) -> None:
    """A committed knowledge root: this project's pages, one fixture, a one-cell matrix."""
    from experimentos.lab.experiments import new_experiment
    from experimentos.store import Workspace
    from experimentos.store.scaffold import init_workspace

    root.mkdir(parents=True)
    git(root, "init", "-q")
    init_workspace(root)
    for part in ("wiki", "policies"):
        shutil.rmtree(root / part, ignore_errors=True)
        shutil.copytree(PROJECT / part, root / part)
    shutil.copytree(PROJECT / "fixtures" / FIXTURE, root / "fixtures" / FIXTURE)
    (root / "experimentos.toml").write_text('format = 1\n[index]\nembedder = "none"\n', "utf-8")
    new_experiment(Workspace(root), EXPERIMENT, "agent")
    spec = {
        "fixtures": [FIXTURE],
        "conditions": [condition],
        "agents": [agent],
        "repeats": 1,
        "timeLimit": time_limit,
        "search": "fts",
    }
    path = root / "experiments" / EXPERIMENT / "matrix.yaml"
    path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")  # JSON is YAML
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "r")


def model_text(root: Path, run_id: str) -> str:
    """What the model said, as the agent's own transcript (the raw sidecar) carries it."""
    path = root / "experiments" / EXPERIMENT / "runs" / f"{run_id}.transcript.jsonl"
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        part = data.get("part") if isinstance(data.get("part"), dict) else {}
        item = data.get("item") if isinstance(data.get("item"), dict) else {}
        message = data.get("message") if isinstance(data.get("message"), dict) else {}
        if data.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])  # opencode
        elif item.get("type") == "agent_message" and isinstance(item.get("text"), str):
            texts.append(item["text"])  # codex
        elif data.get("type") == "assistant":
            for block in message.get("content") or []:  # claude-code
                if isinstance(block, dict) and isinstance(block.get("text"), str):
                    texts.append(block["text"])
    return "\n".join(texts)


def leaked(root: Path, value: str) -> list[str]:
    """Files under `root` (outside .git) whose bytes hold `value`."""
    hits = []
    for path in root.rglob("*"):
        if ".git" in path.parts or not path.is_file() or path.is_symlink():
            continue
        if value.encode("utf-8") in path.read_bytes():
            hits.append(path.relative_to(root).as_posix())
    return hits


def run(args: argparse.Namespace) -> dict:
    missing = missing_packages()
    if missing:
        return {"skipped": f"not installed: {', '.join(missing)} (pip install -e '.[realmodel]')"}
    binary = find_binary(PROJECT, args.agent)
    if binary is None:
        return {"skipped": f"{args.agent} not installed (experimentos agents install)"}
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="xos-real-model-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    out: dict = {"agent": args.agent, "provider": args.provider, "condition": args.condition}
    try:
        with serve_local_model(
            work / "model", threads=args.threads, log=work / "llama-server.log"
        ) as server:
            out["server_start_s"] = round(server.start_seconds, 2)
            out["first_token_s"] = round(first_token_seconds(server.base_url, server.model), 2)
            url = server.url if args.provider == "anthropic" else server.base_url
            model = {
                "provider": args.provider,
                "baseUrl": url,
                "name": server.model,
                "keyEnv": KEY_ENV,
                "contextWindow": 32768,
                "maxOutputTokens": MAX_TOKENS,
            }
            agent = {"name": "local", "adapter": args.agent, "model": model}
            agent["options"] = {"binary": str(binary)}
            root = work / "root"
            make_root(root, agent, args.condition, args.time_limit)
            env = {**os.environ, KEY_ENV: KEY_VALUE, "LANCEDB_LOG": "error"}
            env["PATH"] = os.pathsep.join([str(binary.parent), env.get("PATH", "")])
            cell_began = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-m", "experimentos", "--root", str(root), "matrix", "run",
                 EXPERIMENT, "--json"],
                capture_output=True, text=True, env=env, timeout=args.time_limit + 600,
            )  # fmt: skip
            out["cell_wall_s"] = round(time.monotonic() - cell_began, 2)
        out["exit_code"] = result.returncode
        if result.returncode not in (0, 1):
            out["error"] = result.stderr[-2000:]
            return out
        out.update(describe(root))
        out["key_in_files"] = leaked(work, KEY_VALUE)
        out["root"] = str(root)
    finally:
        out["total_s"] = round(time.monotonic() - began, 2)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return out


def describe(root: Path) -> dict:
    """The one run's record, as the checks need it."""
    from experimentos.models.lab import RunRecord
    from experimentos.store.records import load_record

    runs = sorted((root / "experiments" / EXPERIMENT / "runs").glob("run.*.md"))
    record = load_record(root, runs[0].relative_to(root).as_posix(), RunRecord).model
    matrix = record.matrix
    assert matrix is not None
    text = model_text(root, record.id)
    return {
        "run_id": record.id,
        "status": record.status.value,
        "outcome": record.outcome.value if record.outcome else None,
        "reason": matrix.reason,
        "record_model": record.model,
        "model_reported": matrix.model_reported,
        "model_endpoint": matrix.model_endpoint.model_dump(by_alias=True)
        if matrix.model_endpoint
        else None,
        "agent_seconds": matrix.agent_process.seconds if matrix.agent_process else None,
        "timed_out": matrix.agent_process.timed_out if matrix.agent_process else None,
        "usage": matrix.usage.model_dump(by_alias=True) if matrix.usage else None,
        "model_text": text[:600],
        "model_text_chars": len(text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agent", default="opencode", choices=["opencode", "codex", "claude-code"])
    parser.add_argument(
        "--provider",
        default="openai-chat",
        choices=["openai-chat", "openai-responses", "anthropic"],
    )
    parser.add_argument("--condition", default="none", help="none (default) or brief")
    parser.add_argument("--time-limit", type=float, default=600.0, help="the cell's timeLimit")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp CPU threads")
    parser.add_argument("--keep", help="keep the root, records and server log in this directory")
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
