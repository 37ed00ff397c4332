"""The labelled corpus of real issue threads (tests/data/ingest_corpus) and benchmarks/ingest.py."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections import Counter

import pytest

from experimentos.lifecycle.ingest import read_payload
from experimentos.repofacts.versions import matches

from .conftest import PROJECT

CORPUS = PROJECT / "tests" / "data" / "ingest_corpus"
LABELS = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))["threads"]
KINDS = {"upgrade", "downgrade", "pin", "flag", "use", "avoid", "workaround"}
FEATURES = {"pre-release", "retracted", "major-line", "long", "non-english", "code-versions"}


def test_the_corpus_has_enough_threads_of_both_ecosystems_and_every_feature():
    assert len(LABELS) >= 30
    by_ecosystem = Counter(t["ecosystem"] for t in LABELS)
    assert set(by_ecosystem) == {"npm", "python"} and min(by_ecosystem.values()) >= 15
    assert {f for t in LABELS for f in t["features"]} == FEATURES
    assert sum(len(t["advice"]) for t in LABELS) >= 60
    assert any(not t["advice"] for t in LABELS)  # threads with no advice keep precision honest


@pytest.mark.parametrize("thread", LABELS, ids=[t["file"].split("/")[-1][:-5] for t in LABELS])
def test_each_label_fits_its_thread(thread):
    raw = (CORPUS / thread["file"]).read_bytes()
    data = json.loads(raw)
    issue = read_payload(raw, thread["file"])
    assert data["source"]["url"] == thread["url"] == issue.url
    digest = int(hashlib.sha256(thread["url"].encode()).hexdigest(), 16)
    if thread["split"] in ("dev", "heldout"):  # the first 61, split by the url's digest
        assert thread["split"] == ("heldout" if digest % 4 == 0 else "dev")
    authors = {c.author for c in issue.comments}
    assert set(thread["maintainers"]) <= authors
    for item in thread["advice"]:
        assert item["kind"] in KINDS
        assert item["by"] in ("reporter", "user", "maintainer")
        assert item["stance"] in ("endorsed", "corrected", "withdrawn", "none")
        # the advice is where the label says, said by whom it says
        assert issue.comments[item["comment"]].author == item["author"]
        if item["by"] == "maintainer":
            assert item["author"] in thread["maintainers"]
        if item["stance"] in ("endorsed", "corrected"):
            assert item["stance_by"] in thread["maintainers"]
        if item["line"] is not None:  # a range in the ecosystem's syntax
            assert matches(item["line"], "1.0.0", thread["ecosystem"]) is not None


def test_the_benchmark_prints_its_figures_per_split_and_ecosystem():
    run = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / "ingest.py"), "--split", "dev"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT,
    )
    report = json.loads(run.stdout)
    assert report["splits"] == {"dev": "developed on"}  # what the figures are worth, said
    dev = report["dev"]
    assert set(dev) == {"all", "npm", "python"}
    figures = dev["all"]
    assert figures["threads"] == sum(1 for t in LABELS if t["split"] == "dev")
    assert figures["labelled"] == sum(len(t["advice"]) for t in LABELS if t["split"] == "dev")
    # a floor below today's figures, so a regression in reading threads fails here
    assert figures["precision"] >= 0.85 and figures["recall"] >= 0.8
    assert figures["scope_accuracy"] >= 0.8


def test_the_benchmark_details_name_what_was_missed(tmp_path):
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    try:
        import ingest as bench  # benchmarks/ingest.py
    finally:
        sys.path.pop(0)
    gold = {"kind": "downgrade", "subject": "protobuf", "target": "3.20", "comment": 1}
    assert bench._matches(gold, {"kind": "pin", "subject": "Protobuf", "target": "v3.20.0"})
    assert not bench._matches(gold, {"kind": "upgrade", "subject": "protobuf", "target": "3.20"})
    assert not bench._matches(gold, {"kind": "pin", "subject": "protobuf", "target": "3.19.0"})
    thread = {"library": "pillow", "ecosystem": "python"}
    want = {"line": ">=10.0"}
    assert bench.same_scope(want, thread, {"range": ">=10.0.0", "library": "Pillow"}, "10.0.0")
    assert not bench.same_scope(want, thread, {"range": ">=10.0,<11", "library": "pillow"}, "")
