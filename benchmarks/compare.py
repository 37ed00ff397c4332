"""Before/after: put the figures of an earlier run beside this run's, for the report."""

from __future__ import annotations

import json
from pathlib import Path


def with_before(after: dict, before_path: Path | None) -> dict:
    """`after` alone, or {"before": <earlier run>, "after": after} when a file is given (an
    earlier {"before", "after"} file contributes its "after")."""
    if before_path is None:
        return after
    before = json.loads(Path(before_path).read_text(encoding="utf-8"))
    return {"before": before.get("after", before), "after": after}
