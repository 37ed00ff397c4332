"""A scripted model server: a test double for the LLM, and nothing else.

The real agent CLIs (codex, claude-code) run unchanged; only the model behind them is replaced
by a local HTTP server on 127.0.0.1 that replays a policy script (see `policy`). It speaks the
OpenAI Responses streaming API (codex) and the Anthropic Messages streaming API (claude-code),
makes the tool calls the script names (shell commands, file edits, MCP tool calls by our tool
names), branches on what the agent saw, and reports plausible, deterministic token usage.

This exists so that tests, CI and demos exercise the real binaries, the real MCP server and the
real oracle with no network and no API key. It measures the harness, not a model: real
experiments point the same adapters at real providers, with API keys taken from the environment
at run time and never written to a file.

    policy = load_policy(Path("policies/sim/drizzle.yaml"))
    with SimServer(policy) as sim:
        sim.base_url("run-1")   # http://127.0.0.1:PORT/r/run-1 -> give it to the agent CLI
"""

from experimentos.agents.sim.policy import Policy, load_policy, parse_policy
from experimentos.agents.sim.server import Served, SimServer

__all__ = ["Policy", "Served", "SimServer", "load_policy", "parse_policy"]
