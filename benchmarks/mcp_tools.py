"""What an agent pays for the MCP tool list: tools/list size in bytes and tokens, per tool.

tools/list is sent to the model at the start of every session, so its size is a cost paid on
every call. Bytes are the compact JSON of the answer; tokens are counted with the project's
tokenizer (experimentos.index.tokens). Prints JSON.
Usage: python benchmarks/mcp_tools.py [--root DIR] [--before FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import anyio
import mcp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import with_before  # noqa: E402

from experimentos.index.tokens import count_tokens, tokenizer_name  # noqa: E402
from experimentos.mcp.server import build_server  # noqa: E402
from experimentos.store import Workspace  # noqa: E402
from experimentos.store.scaffold import copy_starter  # noqa: E402


def measure(root: Path) -> dict:
    async def main() -> list:
        async with mcp.Client(build_server(Workspace(root))) as client:
            return (await client.list_tools()).tools

    tools = anyio.run(main)
    dumped = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    text = json.dumps({"tools": dumped}, separators=(",", ":"), ensure_ascii=False)
    per_tool = {}
    for tool in dumped:
        one = json.dumps(tool, separators=(",", ":"), ensure_ascii=False)
        per_tool[tool["name"]] = {"bytes": len(one.encode()), "tokens": count_tokens(one)}
    return {
        "tools": len(dumped),
        "bytes": len(text.encode()),
        "tokens": count_tokens(text),
        "tokenizer": tokenizer_name(),
        "per_tool": dict(sorted(per_tool.items(), key=lambda kv: -kv[1]["bytes"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="a knowledge root (default: a fresh starter)")
    parser.add_argument("--before", type=Path, help="an earlier run's JSON, shown beside")
    args = parser.parse_args()
    if args.root:
        result = measure(args.root)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy_starter(Path(tmp))
            result = measure(Path(tmp))
    print(json.dumps(with_before(result, args.before), indent=2))


if __name__ == "__main__":
    main()
