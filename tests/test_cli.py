import json
import tempfile

import pytest
import typer

from experimentos.cli import app
from experimentos.index.embeddings import embeddings_installed

from .conftest import documentation, git


def all_commands():
    root = typer.main.get_command(app)

    def walk(cmd, path):
        yield path, cmd
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])

    return list(walk(root, []))


@pytest.mark.parametrize("path", [p for p, _ in all_commands()], ids=lambda p: " ".join(p) or "-")
def test_every_command_has_help_and_is_documented(cli, path):
    result = cli(None, *path, "--help")
    assert result.exit_code == 0
    cmd = dict((tuple(p), c) for p, c in all_commands())[tuple(path)]
    assert (cmd.help or "").strip(), f"{path} has no help text"
    undocumented = [p.name for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert undocumented == [], f"{path}: parameters without help: {undocumented}"
    # a flag takes no value: help must not suggest `--read-only <bool>` (then `true` fails)
    assert "<bool>" not in result.stdout, f"{path}: a flag is shown as taking a value"
    for flag in ("--help", "--json", "--read-only", "--keep"):
        line = next((ln for ln in result.stdout.splitlines() if f" {flag} " in ln), None)
        assert line is None or "<" not in line.split(flag, 1)[1].split()[0], line
    if path:  # written about by hand, in the README or a docs page (not only in the reference)
        name = f"experimentos {' '.join(path)}"
        assert name in documentation(), f"{path} is in neither the README nor docs/"


def test_init_is_idempotent(tmp_path, cli):
    target = tmp_path / "kb"
    first = cli(None, "init", str(target), "--json")
    assert first.exit_code == 0
    assert "experimentos.toml" in json.loads(first.stdout)["created"]
    assert (target / "wiki/failures").is_dir() and (target / "policies").is_dir()
    second = cli(None, "--json", "init", str(target))
    assert json.loads(second.stdout)["created"] == []
    assert (target / ".gitignore").read_text().splitlines().count(".experimentos") == 1


def test_root_is_discovered_from_a_subdirectory(tmp_path, cli, monkeypatch):
    cli(None, "init", str(tmp_path / "kb"))
    sub = tmp_path / "kb" / "wiki" / "failures"
    monkeypatch.chdir(sub)
    result = cli(None, "page", "new", "failure", "from-sub", "--title", "T")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kb/wiki/failures/from-sub.md").is_file()


def test_no_root_found_exits_2(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EXPERIMENTOS_ROOT", raising=False)
    result = cli(None, "check")
    assert result.exit_code == 2
    assert "experimentos init" in result.stderr


def test_page_lifecycle(empty_kb, cli):
    root = empty_kb.root
    made = cli(
        root,
        "page",
        "new",
        "policy",
        "keep-pins",
        "--title",
        "Keep pins",
        "--summary",
        "Do not bump pinned deps.",
        "--json",
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["path"] == "policies/keep-pins.md"
    assert cli(root, "page", "new", "policy", "keep-pins", "--title", "Again").exit_code == 2
    assert cli(root, "page", "new", "widget", "x", "--title", "T").exit_code == 2
    assert cli(root, "page", "new", "source", "s", "--title", " ").exit_code == 2
    assert cli(root, "page", "new", "knowledge", "card", "--title", "Card").exit_code == 0
    assert cli(root, "page", "new", "source", "pep-440", "--title", "PEP 440").exit_code == 0

    shown = cli(root, "page", "show", "policy.keep-pins")
    assert shown.stdout == (root / "policies/keep-pins.md").read_text()
    data = json.loads(cli(root, "page", "show", "policy.keep-pins", "--json").stdout)
    assert data["status"] == "draft" and data["summary"] == "Do not bump pinned deps."
    assert "## Rule" in data["body"]

    listed = json.loads(cli(root, "--json", "page", "list").stdout)
    assert [p["id"] for p in listed] == ["knowledge.card", "policy.keep-pins", "source.pep-440"]
    only = json.loads(cli(root, "page", "list", "--type", "policy", "--json").stdout)
    assert [p["id"] for p in only] == ["policy.keep-pins"]
    assert json.loads(cli(root, "page", "list", "--status", "accepted", "--json").stdout) == []
    assert cli(root, "page", "list", "--status", "bogus").exit_code == 2
    assert "policy.keep-pins" in cli(root, "page", "list").stdout


def test_set_status_enforces_review_rules(empty_kb, cli):
    root = empty_kb.root
    cli(root, "page", "new", "policy", "p", "--title", "P")
    cli(root, "page", "new", "source", "s", "--title", "S")
    cli(root, "page", "new", "claim", "c", "--title", "C")
    empty = cli(root, "page", "set-status", "policy.p", "accepted", "--rationale", "r")
    assert empty.exit_code == 2 and "## Rule section is empty" in empty.stderr
    path = root / "policies" / "p.md"
    text = path.read_text(encoding="utf-8").replace("## Rule\n", "## Rule\n\nKeep pins.\n", 1)
    path.write_text(text, encoding="utf-8")
    no_evidence = cli(root, "page", "set-status", "policy.p", "accepted", "--rationale", "r")
    assert no_evidence.exit_code == 2 and "evidence" in no_evidence.stderr
    no_rationale = cli(root, "page", "set-status", "policy.p", "accepted", "--evidence", "source.s")
    assert no_rationale.exit_code == 2 and "rationale" in no_rationale.stderr
    missing = cli(
        root,
        "page",
        "set-status",
        "policy.p",
        "accepted",
        "--rationale",
        "r",
        "--evidence",
        "source.nope",
    )
    assert missing.exit_code == 2 and "source.nope" in missing.stderr
    assert json.loads(cli(root, "page", "show", "policy.p", "--json").stdout)["status"] == "draft"

    ok = cli(
        root,
        "page",
        "set-status",
        "policy.p",
        "accepted",
        "--rationale",
        "seen twice",
        "--evidence",
        "source.s,claim.c",
        "--reviewer",
        "ana",
        "--json",
    )
    assert ok.exit_code == 0, ok.output
    review = json.loads(ok.stdout)["review"]
    assert review["reviewer"] == "ana" and review["evidence"] == ["source.s", "claim.c"]
    assert cli(root, "check", "--strict").exit_code == 0
    # a claim may change status without evidence: it is evidence-only anyway
    assert cli(root, "page", "set-status", "claim.c", "rejected").exit_code == 0
    assert cli(root, "page", "set-status", "claim.c", "rejected").exit_code == 2
    assert cli(root, "page", "set-status", "claim.c", "maybe").exit_code == 2


def test_check_json_and_exit_codes(kb, cli):
    clean = cli(kb.root, "check", "--json", "--strict")
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.stdout)
    assert report["pages"] >= 15 and report["problems"] == []
    (kb.root / "wiki/stray.txt").write_text("x")
    warned = cli(kb.root, "check", "--json")
    assert warned.exit_code == 0
    problem = json.loads(warned.stdout)["problems"][0]
    assert set(problem) == {"path", "field", "code", "severity", "message"}
    assert cli(kb.root, "check", "--strict").exit_code == 1
    assert "0 errors, 1 warning\n" in cli(kb.root, "check").stdout


def test_graph_commands(kb, cli):
    pages = json.loads(cli(kb.root, "page", "list", "--type", "policy", "--json").stdout)
    deepest = None
    for p in pages:
        data = json.loads(cli(kb.root, "graph", "deps", p["id"], "--json").stdout)
        if deepest is None or len(data["nodes"]) > len(deepest["nodes"]):
            deepest = data
    assert len(deepest["nodes"]) >= 2
    assert deepest["nodes"][0] == {**deepest["nodes"][0], "depth": 0, "via": None}
    child = deepest["nodes"][1]["id"]
    shallow = json.loads(
        cli(kb.root, "graph", "deps", deepest["root"], "--depth", "0", "--json").stdout
    )
    assert [n["id"] for n in shallow["nodes"]] == [deepest["root"]]
    text = cli(kb.root, "graph", "deps", deepest["root"]).stdout
    assert deepest["root"] in text and child in text

    rdeps = json.loads(cli(kb.root, "graph", "rdeps", child, "--json").stdout)
    assert deepest["root"] in [d["id"] for d in rdeps["dependents"]]
    assert child in cli(kb.root, "graph", "rdeps", child).stdout
    assert cli(kb.root, "graph", "deps", "policy.does-not-exist").exit_code == 2


def test_graph_reports_missing_targets(empty_kb, cli):
    path = empty_kb.root / "policies/p.md"
    path.write_text("---\nid: policy.p\ntype: policy\ntitle: P\ndependsOn: [failure.gone]\n---\n")
    data = json.loads(cli(empty_kb.root, "graph", "deps", "policy.p", "--json").stdout)
    missing = {"source": "policy.p", "target": "failure.gone", "kind": "dependsOn"}
    assert data["missing"] == [missing]
    assert "missing: failure.gone" in cli(empty_kb.root, "graph", "deps", "policy.p").stdout


def test_schema_export_and_check(tmp_path, empty_kb, cli):
    out = tmp_path / "schemas"
    assert cli(empty_kb.root, "schema", "export", "--out", str(out), "--check").exit_code == 1
    written = cli(empty_kb.root, "schema", "export", "--out", str(out), "--json")
    names = {"page", "experiment", "test", "run", "run-event", "fixture", "matrix"}
    expected = sorted(str(out / f"{name}.schema.json") for name in names)
    assert sorted(json.loads(written.stdout)["written"]) == expected
    assert cli(empty_kb.root, "schema", "export", "--out", str(out), "--check").exit_code == 0
    assert cli(empty_kb.root, "schema", "export").exit_code == 0
    assert (empty_kb.root / "schemas/page.schema.json").is_file()


def test_errors_as_json(empty_kb, cli):
    result = cli(empty_kb.root, "page", "show", "policy.missing", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["type"] == "NotFound"


def test_demo_cleans_up_unless_kept_and_interprets_its_experiment(tmp_path, cli, monkeypatch):
    kept_in, removed_in = tmp_path / "kept", tmp_path / "removed"
    kept_in.mkdir(), removed_in.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(kept_in))
    result = cli(None, "demo", "--keep")
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout and "graph deps policy." in result.stdout
    [target] = kept_in.glob("experimentos-demo-*")
    assert "Seed the starter knowledge base" in git(target, "log", "--oneline")
    readme = (target / "experiments/drizzle-pin-demo/README.md").read_text(encoding="utf-8")
    assert "status: interpreted" in readme and "to: running" in readme
    report = (target / "experiments/brief-vs-none/results/brief-vs-none.md").read_text("utf-8")
    assert "1 fixture × 2 conditions × 1 agent × up to 2 repeats" in report
    assert f"--root {target} mcp serve" in result.stdout

    monkeypatch.setattr(tempfile, "tempdir", str(removed_in))
    shown = cli(None, "demo", "--json")
    data = json.loads(shown.stdout)  # the answer alone; the index build's progress on stderr
    if embeddings_installed():
        assert "indexing: embedding:" in shown.stderr and "done in" in shown.stderr
    assert list(removed_in.iterdir()) == [] and data["kept"] is False
    assert data["experiment_status"] == "interpreted" and data["run_complete"] is True
    assert data["experiment_tree"] == ["experiment.drizzle-pin-demo [agent, interpreted]"]
    assert data["problems"] == 0 and data["pages"] >= 15 and len(data["closure"]) >= 2
    assert data["search_mode"] == ("hybrid" if embeddings_installed() else "fts")
    assert "policy.keep-drizzle-kit-pin-verify-locally" in data["search_results"]
    # The matrix: without the brief the scripted agent takes the trap, with it the oracle passes.
    outcomes = {run.split(".")[3]: outcome for run, outcome in data["matrix_runs"].items()}
    assert len(data["matrix_runs"]) == 4 and outcomes == {"none": "failure", "brief": "success"}
    assert data["report"] == "experiments/brief-vs-none/results/brief-vs-none.md"
    assert any("clean pass: +1.00" in line for line in data["headline"])
    # A script made every decision: the demo's headline says it is a harness check, and no
    # line of it claims significance.
    assert data["headline"][0].startswith("**Harness check**")
    assert not any("significant" in line for line in data["headline"][1:])
    # Beside the brief, one line per page: why it is a rule, or only evidence.
    assert "- policy.keep-drizzle-kit-pin-verify-locally: a rule: accepted policy" in result.stdout
    why = data["why"]["claim.upgrade-drizzle-kit-fixes-migration-default"]
    assert why.startswith("only evidence: a claim is evidence, never a decision rule")


def test_version(cli):
    assert cli(None, "--version").stdout.startswith("experimentos ")


def test_counts_are_pluralised(empty_kb, cli):
    assert cli(empty_kb.root, "page", "list").stderr == "0 pages\n"
    cli(empty_kb.root, "page", "new", "failure", "one", "--title", "One")
    assert cli(empty_kb.root, "page", "list").stderr == "1 page\n"
    assert cli(empty_kb.root, "check").stdout.endswith("1 page, 0 errors, 0 warnings\n")
    (empty_kb.root / "wiki/failures/stray.txt").write_text("x", encoding="utf-8")
    assert "1 page, 0 errors, 1 warning\n" in cli(empty_kb.root, "check").stdout
    assert cli(empty_kb.root, "exp", "list").stderr == "0 experiments\n"
    cli(empty_kb.root, "exp", "new", "solo", "--kind", "ml")
    assert cli(empty_kb.root, "exp", "list").stderr == "1 experiment\n"
    assert cli(empty_kb.root, "test", "list").stderr == "0 tests\n"
    assert cli(empty_kb.root, "run", "list").stderr == "0 runs\n"


def test_init_commit_makes_the_first_commit_with_only_the_layout(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no git identity configured
    for name in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "notes.txt").write_text("mine", encoding="utf-8")
    git(repo, "add", "notes.txt")
    note = cli(None, "init", str(repo / "plain"))  # a subdirectory of a repo without commits
    assert "has no commits yet" in note.stdout and "init --commit" in note.stdout

    result = cli(None, "init", str(repo), "--commit", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["commit"] and data["git"] == "ok"
    committed = git(repo, "show", "--name-only", "--format=%an <%ae>|%s", "HEAD").split("\n")
    assert (
        committed[0]
        == "experimentos <experimentos@localhost>|Start the experimentos knowledge base"
    )
    files = {f for f in committed[1:] if f}
    assert {"experimentos.toml", ".gitignore", "wiki/failures/.gitkeep"} <= files
    assert "notes.txt" not in files and "plain/experimentos.toml" not in files
    assert git(repo, "status", "--porcelain", "notes.txt").startswith("A ")  # still staged
    again = cli(None, "init", str(repo), "--commit")
    assert again.exit_code == 0 and "already committed" in again.stdout


def test_init_commit_outside_git_runs_git_init(tmp_path, cli):
    target = tmp_path / "fresh"
    result = cli(None, "init", str(target), "--commit")
    assert result.exit_code == 0, result.output
    assert git(target, "log", "--format=%s").strip() == "Start the experimentos knowledge base"


def test_page_new_depends_on_makes_an_edge(empty_kb, cli):
    root = empty_kb.root
    cli(root, "page", "new", "failure", "f1", "--title", "F1")
    cli(root, "page", "new", "source", "s1", "--title", "S1")
    made = cli(
        root, "page", "new", "policy", "p1", "--title", "P1",
        "--depends-on", "failure.f1,source.s1", "--depends-on", "failure.f1",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    shown = json.loads(cli(root, "page", "show", "policy.p1", "--json").stdout)
    assert shown["dependsOn"] == ["failure.f1", "source.s1"]
    deps = cli(root, "graph", "deps", "policy.p1").stdout
    assert "failure.f1" in deps and "source.s1" in deps
    missing = cli(root, "page", "new", "policy", "p2", "--title", "P2", "--depends-on", "failure.x")
    assert missing.exit_code == 2 and "dependsOn 'failure.x' does not exist" in missing.stderr
    itself = cli(root, "page", "new", "policy", "p3", "--title", "P3", "--depends-on", "policy.p3")
    assert itself.exit_code == 2 and "cannot depend on itself" in itself.stderr
    bad = cli(root, "page", "new", "policy", "p4", "--title", "P4", "--depends-on", "../x")
    assert bad.exit_code == 2 and "dependsOn" in bad.stderr
    assert not any((root / "policies").glob("p[234].md"))
