"""Keep secrets out of what an agent printed before it is written: transcripts, output tails.

`redact(text, secrets)` masks what `experimentos.errors.redact` masks (every secret this process
knows: credential-named environment variables, registered keys; raw or URL-encoded), the given
secret values (the run's keys), and every token that merely looks like a credential (provider
API keys, GitHub and Slack tokens, AWS key ids, bearer headers, private key blocks): an agent
may print one it found on disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from experimentos.errors import REDACTED, known_secrets
from experimentos.errors import redact as redact_known

MASK = REDACTED
MIN_SECRET_LEN = 6  # shorter values (e.g. "x", a dummy key) would mask ordinary text

# Environment variable names whose values are treated as secrets.
SECRET_NAME = re.compile(
    r"(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|"
    r"COOKIE)$",
    re.IGNORECASE,
)

_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,}"),  # OpenAI / Anthropic
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"),  # Google API key
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/\-]{12,}=*"),
    re.compile(r"(?i)(\bx-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]{8,}"),
]


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of variables in `env` whose names say they hold a secret."""
    return [v for k, v in env.items() if SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LEN]


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret value and credential-looking token replaced by [REDACTED]."""
    if not text:
        return text
    given = [s for s in secrets if s and len(s) >= MIN_SECRET_LEN]
    text = redact_known(text, [*known_secrets(), *given])
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text
