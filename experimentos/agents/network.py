"""Whether an agent's shell commands can reach the network, and cutting it off where we can.

The agent CLIs decide for their own shells: codex's workspace-write sandbox has no network
(`network_access = false`, written explicitly in its per-run config), claude-code and opencode
run commands unsandboxed (an `npm ls` in a claude-code run reached the registry). Agents that
are scripts of ours (the `shell` and `scripted` adapters) need no network at all, so the runner
starts them in a network namespace of their own (`unshare --net`, with a user namespace so no
privilege is needed) where nothing but a loopback that is down exists. Where the kernel or the
host refuses that (no unshare, unprivileged user namespaces disabled), the run says the shell
was not isolated. Every run record says which (`matrix.agentNetwork`).
"""

from __future__ import annotations

import functools
import shutil
import subprocess

UNSHARE_FLAGS = (["--net", "--map-current-user"], ["--net", "--map-root-user"])
ISOLATED = (
    "a network namespace of its own (unshare --net): no network, not even the host's loopback"
)


@functools.cache
def offline_prefix() -> tuple[str, ...] | None:
    """The argv prefix that runs a command without network here, or None (checked once)."""
    binary = shutil.which("unshare")
    if binary is None:
        return None
    for flags in UNSHARE_FLAGS:
        argv = [binary, *flags, "--", "true"]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode == 0:
            return (binary, *flags, "--")
    return None


def not_isolated() -> str:
    if shutil.which("unshare") is None:
        return (
            "not isolated: unshare is not installed here, so its commands could reach the network"
        )
    return (
        "not isolated: this host refuses an unprivileged network namespace (unshare --net), so "
        "its commands could reach the network"
    )
