"""The part every real agent CLI adapter shares: options, binary lookup, the scripted model.

Options (`AgentSpec.options`), checked up front so a typo names its field:
  policy      a policy script (path relative to the knowledge root): run against the scripted
              model (`experimentos.agents.sim`) instead of a real provider
  binary      an explicit path to the CLI (default: the project-local install, then PATH)
  extra_args  more arguments for the CLI
A real model is named by `AgentSpec.model` (a name for the CLI's default provider, or an endpoint
block, `experimentos.agents.endpoint`); each adapter says which provider kinds its CLI speaks
and refuses the others when the matrix is planned. Secrets (API keys, the endpoint's `keyEnv`)
reach the environment only; no config file an adapter writes ever holds one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from experimentos.agents.base import Adapter, AgentSpec, Decisions, RunSetup, option_error
from experimentos.agents.endpoint import WIRE_APIS, endpoint_key
from experimentos.agents.install import find_binary, install_hint
from experimentos.errors import UsageError

_MOVED = {
    "base_url": "options.base_url is now the model endpoint's baseUrl",
    "env_key": "options.env_key is now the model endpoint's keyEnv",
}


class CliOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(default=None, description="Scripted-model policy (a test double).")
    binary: str | None = None
    extra_args: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, message in _MOVED.items():
                if key in data:
                    raise ValueError(
                        f"{key}: {message}: model: {{provider: openai-responses|openai-chat|"
                        "anthropic, baseUrl, name, keyEnv}"
                    )
        return data


class CliAdapter(Adapter):
    """An adapter for an npm-installed agent CLI; subclasses build the argv and parse."""

    options_model: ClassVar[type[CliOptions]] = CliOptions
    # The provider kinds (endpoint.PROVIDERS) this CLI speaks; the others are refused with
    # `refusal` (what to use instead).
    providers: ClassVar[tuple[str, ...]] = ()
    refusal: ClassVar[str] = ""

    def __init__(self, spec: AgentSpec, root: Path):
        super().__init__(spec, root)
        try:
            self.options = self.options_model.model_validate(spec.options)
        except ValidationError as exc:
            first = exc.errors()[0]
            message = str(first["msg"]).removeprefix("Value error, ")
            head, sep, rest = message.partition(": ")
            loc = [str(p) for p in first["loc"]] or ([head] if sep and head in _MOVED else [])
            message = rest if sep and head in _MOVED else message
            where = ".".join(["options", *loc])
            raise UsageError(f"agent {spec.name!r}: {message}", field=where) from None
        self.sim = None
        self.check_endpoint()

    def check_endpoint(self) -> None:
        """Refuse a model endpoint this CLI cannot speak, or one beside a scripted policy."""
        endpoint = self.spec.endpoint
        if endpoint is None:
            return
        if self.options.policy:
            raise UsageError(
                f"agent {self.spec.name!r}: options.policy drives the scripted model, and the "
                "model endpoint names a real one; keep one of them",
                field="model",
            )
        if endpoint.provider not in self.providers:
            raise UsageError(
                f"agent {self.spec.name!r}: {self.name} cannot speak the "
                f"{WIRE_APIS[endpoint.provider]} (provider {endpoint.provider}); {self.refusal}",
                field="model.provider",
            )

    def endpoint_key(self) -> dict[str, str]:
        """{keyEnv: its value} for the agent's environment; {} when the endpoint names no key."""
        return endpoint_key(self.spec.name, self.spec.endpoint)

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

    def sim_url(self, setup: RunSetup) -> str | None:
        """The scripted model's URL for this run (labelled by run id), or None without a policy."""
        if self.sim is not None:
            return self.sim.base_url(setup.run_id)
        if self.options.policy:
            raise UsageError("the adapter was not entered: the scripted model is not running")
        return None

    def input_files(self) -> dict[str, Path]:
        return {self.options.policy: self.policy_path()} if self.options.policy else {}

    def decisions(self) -> tuple[Decisions, str]:
        if self.options.policy:
            return "script", (
                f"{self.name} driven by the scripted model (experimentos.agents.sim) playing "
                f"{self.options.policy}"
            )
        return "model", f"{self.name} with model {self.spec.model_name or 'the CLI default'}"

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
        """base_env + the adapter's variables + the run's secrets and the endpoint's key (env
        only, never on disk)."""
        return {
            **setup.base_env,
            "HOME": str(setup.home),
            **extra,
            **setup.secrets,
            **self.endpoint_key(),
        }


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(value, ensure_ascii=True)


def toml_inline(values: dict[str, Any]) -> str:
    parts = []
    for key, value in values.items():
        rendered = toml_string(value) if isinstance(value, str) else json.dumps(value)
        parts.append(f"{key}={rendered}")
    return "{" + ",".join(parts) + "}"
