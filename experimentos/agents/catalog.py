"""What `experimentos agents list` shows: every adapter, whether it can run here, versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from experimentos.agents.base import AgentSpec, adapter_class, adapter_names
from experimentos.agents.install import PINS, binary_version, installed_version, is_local
from experimentos.errors import ExperimentosError


@dataclass(frozen=True)
class AgentInfo:
    adapter: str
    available: bool
    problem: str | None  # why it cannot run here (with the command that fixes it)
    binary: str | None
    version: str | None  # what is installed
    pinned: str | None  # what the project pins (package@version)


def list_agents(root: Path) -> list[AgentInfo]:
    """Every registered adapter with its availability; versions of the pinned CLIs."""
    infos = []
    for name in adapter_names():
        try:
            cls = adapter_class(name)
            assert cls is not None
            adapter = cls(AgentSpec(name=name, adapter=name), root)
            problem = adapter.unavailable()
        except ExperimentosError as exc:
            problem = str(exc)
            adapter = None
        binary = getattr(adapter, "binary", None)
        found = binary() if callable(binary) else None
        version = None
        if name in PINS and found is not None:
            # A verified local install says its version in package.json: nothing is run. A CLI
            # on PATH is the user's own, and is asked.
            local = is_local(root, found)
            version = installed_version(root, name) if local else binary_version(found)
        pin = PINS.get(name)
        infos.append(
            AgentInfo(
                adapter=name,
                available=problem is None,
                problem=problem,
                binary=str(found) if found else None,
                version=version,
                pinned=pin.spec if pin else None,
            )
        )
    return infos
