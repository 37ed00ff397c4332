"""A model endpoint: which API an agent CLI speaks, where, to which model, with which key.

    agents:
      - name: opencode-local
        adapter: opencode
        model:
          provider: openai-chat          # openai-responses | openai-chat | anthropic
          baseUrl: http://127.0.0.1:8080/v1
          name: qwen2.5-coder-7b
          keyEnv: LOCAL_LLM_KEY          # optional: the environment variable holding the key

`baseUrl` is written as the provider documents it: with `/v1` for the OpenAI kinds
(https://api.openai.com/v1, http://localhost:11434/v1 for Ollama, :8000/v1 for vLLM, :8080/v1
for llama.cpp), and the host for Anthropic (https://api.anthropic.com; a trailing `/v1` is
accepted). Left out, the provider's hosted API is meant. It never holds credentials: the key is
read from `keyEnv` when the run starts, reaches only that agent's process, and is masked in
everything written. `contextWindow` and `maxOutputTokens` tell the CLI the model's limits (a
local model's are far below what the CLIs assume): opencode takes both, codex the context,
Claude Code the output (CLAUDE_CODE_MAX_OUTPUT_TOKENS).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from experimentos.errors import UsageError, add_secret

Provider = Literal["openai-responses", "openai-chat", "anthropic"]
PROVIDERS: tuple[str, ...] = ("openai-responses", "openai-chat", "anthropic")
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
_ENV_NAME = re.compile(ENV_NAME_PATTERN)
DEFAULT_BASE_URLS = {
    "openai-responses": "https://api.openai.com/v1",
    "openai-chat": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
}
# The provider kinds' wire APIs, as the record and error messages name them.
WIRE_APIS = {
    "openai-responses": "OpenAI Responses API (/v1/responses)",
    "openai-chat": "OpenAI-compatible Chat Completions API (/v1/chat/completions)",
    "anthropic": "Anthropic Messages API (/v1/messages)",
}


class ModelEndpoint(BaseModel):
    """`model:` of a matrix agent when it names an endpoint (a plain string names only the model,
    for the CLI's default provider)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    provider: Provider = Field(
        description="The API the endpoint speaks: openai-responses (OpenAI Responses), "
        "openai-chat (OpenAI-compatible Chat Completions: vLLM, Ollama, llama.cpp, …) or "
        "anthropic (Anthropic Messages)."
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The model name the endpoint knows (sent in every request)."
    )
    base_url: str | None = Field(
        default=None,
        alias="baseUrl",
        description="http(s) URL of the API, without credentials (OpenAI kinds with /v1). "
        "Default: the provider's hosted API.",
    )
    key_env: str | None = Field(
        default=None,
        alias="keyEnv",
        json_schema_extra={"pattern": ENV_NAME_PATTERN},
        description="The environment variable holding the API key (read at run time, passed "
        "only to this agent's process, never written). Leave out for a server without keys.",
    )
    context_window: Annotated[int, Field(ge=256, le=10_000_000)] | None = Field(
        default=None, alias="contextWindow", description="The model's context, in tokens."
    )
    max_output_tokens: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None, alias="maxOutputTokens", description="Tokens the CLI may ask per answer."
    )

    @field_validator("provider", mode="before")
    @classmethod
    def _known_provider(cls, value: Any) -> Any:
        if value not in PROVIDERS:
            raise ValueError(f"{value!r} is not a provider; use one of {', '.join(PROVIDERS)}")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError(f"{value!r}: a model name has no spaces or control characters")
        return value

    @field_validator("key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError(
                f"{value!r} is not an environment variable name (letters, digits and _, not "
                "starting with a digit); keyEnv names the variable, it never holds the key"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_base_url(value)

    @property
    def endpoint(self) -> str:
        """The effective base URL (the provider's hosted API when none is given)."""
        url = self.base_url or DEFAULT_BASE_URLS[self.provider]
        return url.rstrip("/")

    @property
    def anthropic_root(self) -> str:
        """The endpoint without a trailing /v1: what ANTHROPIC_BASE_URL takes."""
        url = self.endpoint
        return url[: -len("/v1")] if url.endswith("/v1") else url

    def record(self) -> dict[str, Any]:
        """What a run record says about the model: never a key, only where it lives."""
        return {
            "provider": self.provider,
            "endpoint": self.endpoint,
            "name": self.name,
            "keyEnv": self.key_env,
        }


def check_base_url(value: str) -> str:
    """`value` if it is an http(s) URL with a host and no credentials; ValueError saying why."""
    # Credentials first, and never echoed: the value may hold a key.
    try:
        parts = urllib.parse.urlsplit(value)
        has_credentials = bool(parts.username or parts.password)
    except ValueError:
        parts, has_credentials = None, "@" in value
    if has_credentials:
        raise ValueError(
            "the URL holds credentials; put the key in an environment variable and name it "
            "in keyEnv (URLs are written to run records)"
        )
    if parts is None or value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a URL (expected e.g. http://127.0.0.1:8080/v1)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{value!r} is not an http(s) URL (expected e.g. http://127.0.0.1:8080/v1)"
        )
    if parts.query or parts.fragment:
        raise ValueError(
            f"{_safe(parts)}: a base URL has no query or fragment (a key in the query string "
            "would be written to run records; name its variable in keyEnv)"
        )
    return value


def _safe(parts: urllib.parse.SplitResult) -> str:
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _model_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "plain"
    if isinstance(value, dict | ModelEndpoint):
        return "endpoint"
    return None


# `model:` of an agent: a plain model name, or an endpoint block. The tags show in validation
# locations (agents.0.model.endpoint.keyEnv); `matrix.spec` drops them from the field it names.
ModelRef = Annotated[
    Annotated[str, Tag("plain"), Field(min_length=1, max_length=200)]
    | Annotated[ModelEndpoint, Tag("endpoint")],
    Discriminator(
        _model_kind,
        custom_error_type="model",
        custom_error_message="a model name, or {provider, baseUrl, name, keyEnv}",
    ),
]
MODEL_TAGS = ("plain", "endpoint")


def model_name(model: str | ModelEndpoint | None) -> str | None:
    """The configured model name, whichever form `model:` took."""
    return model.name if isinstance(model, ModelEndpoint) else model


def endpoint_key(agent: str, endpoint: ModelEndpoint | None) -> dict[str, str]:
    """{keyEnv: its value}, read from the environment now (at run time) and registered as a
    secret, so it is masked in everything this process prints or writes; {} without a keyEnv."""
    if endpoint is None or endpoint.key_env is None:
        return {}
    value = os.environ.get(endpoint.key_env)
    if not value:
        raise UsageError(
            f"agent {agent!r}: {endpoint.key_env} (the model's keyEnv) is not set in the "
            "environment",
            field="model.keyEnv",
        )
    add_secret(value)
    return {endpoint.key_env: value}
