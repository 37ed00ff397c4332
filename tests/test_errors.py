"""Domain errors and the redaction of secrets from everything the tool prints or records."""

from __future__ import annotations

import pytest

from experimentos.errors import ExperimentosError, known_secrets, redact


def test_redact_replaces_every_given_secret_and_its_url_encoding():
    text = "Authorization: Bearer ghp_abc/def+1 and again ghp_abc%2Fdef%2B1; key s3cret-key"
    out = redact(text, secrets=["ghp_abc/def+1", "s3cret-key"])
    assert out == "Authorization: Bearer [REDACTED] and again [REDACTED]; key [REDACTED]"


def test_redact_knows_the_secrets_in_the_environment(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_from_the_env_123")
    monkeypatch.setenv("EXPERIMENTOS_API_KEY", "api-key-from-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-xyz-987654")
    monkeypatch.setenv("SHORT_TOKEN", "1")  # too short to be a secret: left alone
    secrets = known_secrets()
    assert {"ghp_from_the_env_123", "api-key-from-env", "sk-ant-xyz-987654"} <= set(secrets)
    text = "ghp_from_the_env_123 api-key-from-env sk-ant-xyz-987654 1"
    assert redact(text) == "[REDACTED] [REDACTED] [REDACTED] 1"


def test_longer_secrets_are_redacted_first():
    assert redact("abcdef-long abcdef", secrets=["abcdef", "abcdef-long"]) == (
        "[REDACTED] [REDACTED]"
    )


@pytest.mark.parametrize("text", ["", "nothing secret here"])
def test_redact_without_secrets_changes_nothing(text, monkeypatch):
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "EXPERIMENTOS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert redact(text, secrets=[]) == text


def test_domain_error_text_is_redacted(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_in_an_error_message")
    exc = ExperimentosError("remote said ghp_in_an_error_message", path="x")
    assert "ghp_in_an_error_message" not in str(exc)
