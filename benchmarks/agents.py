"""The scripted model and the real agent CLIs against it: how long things take.

    python benchmarks/agents.py [--requests 200] [--agents codex,claude-code] [--runs 1]

Prints JSON: the scripted model's answer latency (p50/p95, per wire format, one client) and
throughput with 8 concurrent clients; then, per installed agent CLI, the wall time of a whole
run (the drizzle-pin fixture, the test policy, with and without a real `experimentos mcp serve`
over a knowledge base copied from this project, full-text search only).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from experimentos.agents.base import AgentSpec, McpAttachment, RunSetup, open_adapter
from experimentos.agents.install import find_binary
from experimentos.agents.sim import SimServer, load_policy
from experimentos.store.scaffold import init_workspace

PROJECT = Path(__file__).resolve().parents[1]
POLICY = PROJECT / "tests" / "data" / "sim" / "drizzle-pin.yaml"
TASK = "Bump drizzle-kit to the latest version to fix the wrong default on users.created_at"


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def sim_numbers(requests: int) -> dict:
    codex = {
        "stream": True,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text",
                   "text": TASK}]}],
        "tools": [{"type": "function", "name": "exec_command"}],
    }  # fmt: skip
    claude = {
        "stream": True,
        "messages": [{"role": "user", "content": TASK}],
        "tools": [{"name": "Bash", "input_schema": {}}],
    }
    out: dict = {}
    with SimServer(load_policy(POLICY)) as sim:
        for name, path, body in (("responses", "/v1/responses", codex),
                                 ("messages", "/v1/messages", claude)):  # fmt: skip
            data = json.dumps(body).encode()
            times = []
            for _ in range(requests):
                start = time.perf_counter()
                _post(sim.url + path, data)
                times.append(time.perf_counter() - start)
            times.sort()
            out[name] = {
                "p50_ms": round(statistics.median(times) * 1000, 2),
                "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 2),
            }
        data = json.dumps(codex).encode()
        per_thread = max(1, requests // 8)
        start = time.perf_counter()
        threads = [
            threading.Thread(target=lambda: [_post(sim.url + "/v1/responses", data)
                                             for _ in range(per_thread)])
            for _ in range(8)
        ]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        out["concurrent_8_requests_per_s"] = round(8 * per_thread / elapsed, 1)
    return out


def one_run(adapter: str, kb: Path, work: Path, with_mcp: bool) -> dict:
    workdir = work / "wd"
    shutil.copytree(PROJECT / "fixtures" / "drizzle-pin", workdir)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "fixture"]):
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.invalid", *args],
                       cwd=workdir, check=True, capture_output=True)  # fmt: skip
    mcp = McpAttachment("experimentos", sys.executable,
                        ["-m", "experimentos", "--root", str(kb), "mcp", "serve"],
                        tools=["start_pre_work_protocol"])  # fmt: skip
    spec = AgentSpec(name=adapter, adapter=adapter, options={"policy": "sim-policy.yaml"})
    path = os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    with open_adapter(spec, kb) as agent:
        setup = RunSetup(
            run_id=f"bench-{adapter}", workdir=workdir, home=work / "home", prompt=TASK,
            time_limit_s=300, base_env={"PATH": path, "LANG": "C.UTF-8"},
            mcp=mcp if with_mcp else None,
        )  # fmt: skip
        invocation = agent.prepare(setup)
        start = time.perf_counter()
        done = subprocess.run(invocation.argv, env=invocation.env, cwd=invocation.cwd,
                              input=invocation.stdin, capture_output=True, text=True,
                              timeout=300)  # fmt: skip
        wall = time.perf_counter() - start
        transcript = agent.parse(done.stdout.splitlines(), workdir=workdir)
    return {
        "exit": done.returncode,
        "wall_s": round(wall, 2),
        "events": len(transcript.events),
        "tokens_in": transcript.usage.tokens_in,
        "tokens_out": transcript.usage.tokens_out,
    }


def cli_numbers(agents: list[str], runs: int) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="xos-bench-agents-") as tmp:
        kb = Path(tmp) / "kb"
        init_workspace(kb)
        for top in ("wiki", "policies"):
            shutil.copytree(PROJECT / top, kb / top, dirs_exist_ok=True)
        config = kb / "experimentos.toml"
        text = config.read_text(encoding="utf-8").replace('"minilm"', '"none"')
        config.write_text(text, encoding="utf-8")
        shutil.copy(POLICY, kb / "sim-policy.yaml")
        for adapter in agents:
            if find_binary(PROJECT, adapter) is None and find_binary(kb, adapter) is None:
                out[adapter] = "not installed (experimentos agents install)"
                continue
            local = PROJECT / ".experimentos" / "agents"
            if local.is_dir() and not (kb / ".experimentos" / "agents").exists():
                (kb / ".experimentos").mkdir(exist_ok=True)
                (kb / ".experimentos" / "agents").symlink_to(local)
            results = {}
            for condition, with_mcp in (("none", False), ("brief", True)):
                samples = []
                for i in range(runs):
                    work = Path(tmp) / f"{adapter}-{condition}-{i}"
                    work.mkdir()
                    samples.append(one_run(adapter, kb, work, with_mcp))
                results[condition] = samples
            out[adapter] = results
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--agents", default="codex,claude-code")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    agents = [a for a in args.agents.split(",") if a]
    result = {
        "sim": sim_numbers(args.requests),
        "cli_runs": cli_numbers(agents, args.runs),
        "note": "wall times on a shared 2-core machine are noisy",
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
