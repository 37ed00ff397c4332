"""The part every real agent CLI adapter shares: options, binary lookup, the scripted model.

Options (`AgentSpec.options`), checked up front so a typo names its field:
  policy      a policy script (path relative to the knowledge root): run against the scripted
              model (`experimentos.agents.sim`) instead of a real provider
  base_url    a real provider's endpoint, when not the CLI's default
  binary      an explicit path to the CLI (default: the project-local install, then PATH)
  extra_args  more arguments for the CLI
Secrets (API keys) come from `RunSetup.secrets` into the environment only; no config file an
adapter writes ever holds one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from experimentos.agents.base import Adapter, AgentSpec, Decisions, RunSetup, option_error
from experimentos.agents.install import find_binary, install_hint
from experimentos.errors import UsageError


class CliOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(default=None, description="Scripted-model policy (a test double).")
    base_url: str | None = None
    binary: str | None = None
    extra_args: list[str] = Field(default_factory=list)


class CliAdapter(Adapter):
    """An adapter for an npm-installed agent CLI; subclasses build the argv and parse."""

    options_model: ClassVar[type[CliOptions]] = CliOptions

    def __init__(self, spec: AgentSpec, root: Path):
        super().__init__(spec, root)
        try:
            self.options = self.options_model.model_validate(spec.options)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(["options", *(str(p) for p in first["loc"])])
            raise UsageError(f"agent {spec.name!r}: {first['msg']}", field=where) from None
        self.sim = None

    # --- the scripted model (only when a policy is given) ------------------------------

    def __enter__(self) -> CliAdapter:
        if self.options.policy:
            from experimentos.agents.sim import SimServer, load_policy

            path = self.policy_path()
            dump = os.environ.get("EXPERIMENTOS_SIM_DUMP")  # debugging aid: requests to a dir
            self.sim = SimServer(load_policy(path), dump=Path(dump) if dump else None).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sim is not None:
            self.sim.stop()
            self.sim = None

    def check(self) -> None:
        """The policy script (when one is given) loads and validates; nothing is started."""
        if self.options.policy:
            from experimentos.agents.sim import load_policy

            try:
                load_policy(self.policy_path())
            except UsageError as exc:
                raise option_error("policy", self.options.policy, exc) from None

    def policy_path(self) -> Path:
        assert self.options.policy is not None
        path = (self.root / self.options.policy).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise UsageError("policy path leaves the knowledge root", field="options.policy")
        return path

    def model_url(self, setup: RunSetup) -> str | None:
        """Where the CLI should send model requests: the sim (labelled by run), or base_url."""
        if self.sim is not None:
            return self.sim.base_url(setup.run_id)
        if self.options.policy:
            raise UsageError("the adapter was not entered: the scripted model is not running")
        return self.options.base_url

    def input_files(self) -> dict[str, Path]:
        return {self.options.policy: self.policy_path()} if self.options.policy else {}

    def decisions(self) -> tuple[Decisions, str]:
        if self.options.policy:
            return "script", (
                f"{self.name} driven by the scripted model (experimentos.agents.sim) playing "
                f"{self.options.policy}"
            )
        name = getattr(self.spec.model, "name", self.spec.model)  # a name, or a model block
        return "model", f"{self.name} with model {name or 'the CLI default'}"

    def cli_version(self) -> str | None:
        from experimentos.agents.install import binary_version

        found = self.binary()
        return binary_version(found) if found is not None else None

    # --- the binary ------------------------------------------------------------------

    def binary(self) -> Path | None:
        if self.options.binary:
            path = Path(self.options.binary)
            return path if path.is_file() else None
        return find_binary(self.root, self.name)

    def unavailable(self) -> str | None:
        if self.binary() is None:
            if self.options.binary:
                return f"{self.options.binary} does not exist (options.binary)"
            return install_hint(self.root, self.name)
        return None

    def require_binary(self) -> str:
        found = self.binary()
        if found is None:
            raise UsageError(self.unavailable() or "agent CLI not found", field="adapter")
        return str(found)

    def env(self, setup: RunSetup, **extra: str) -> dict[str, str]:
        """base_env + the adapter's variables + the run's secrets (env only, never on disk)."""
        return {**setup.base_env, "HOME": str(setup.home), **extra, **setup.secrets}


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=True)


def toml_inline(values: dict[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        rendered = toml_string(value) if isinstance(value, str) else json.dumps(value)
        parts.append(f"{key}={rendered}")
    return "{" + ",".join(parts) + "}"
