"""Keep secrets out of what we write: transcripts, output tails, error messages.

`redact(text, secrets)` replaces every given secret value and every token that looks like a
credential (provider API keys, GitHub tokens, bearer headers, private key blocks) with
`[REDACTED]`. It imports nothing of the project, so every layer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "[REDACTED]"
MIN_SECRET_LEN = 6  # shorter values (e.g. "x", a dummy key) would mask ordinary text

# Environment variable names whose values are treated as secrets.
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE)", re.I)

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
    # Longest first, so a secret that contains another is masked whole.
    for value in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len)[::-1]:
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text
