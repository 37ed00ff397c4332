"""Matrix specs, cells, shards and knowledge variants: checked up front, named by field."""

from __future__ import annotations

import json

import pytest

from experimentos.errors import InvalidPage, UsageError
from experimentos.matrix.cells import expand, in_shard, parse_shard, run_id_for
from experimentos.matrix.knowledge import build_variant, resolve_knowledge
from experimentos.matrix.plan import plan_matrix
from experimentos.matrix.spec import MatrixSpec, parse_condition, parse_spec
from experimentos.schema import render_schemas

from .conftest import PROJECT, git
from .matrix_helpers import EXP, GOOD, cli_run, make_root, read_spec, write_spec

BASE = {
    "fixtures": ["tiny"],
    "conditions": ["none"],
    "agents": [{"name": "a", "adapter": "shell", "options": {"script": "agents/a.sh"}}],
}


def _problems(data: dict) -> list[tuple[str, str]]:
    text = json.dumps(data).encode()
    with pytest.raises(InvalidPage) as err:
        parse_spec(text, "experiments/m/matrix.yaml")
    return [(p.field, p.message) for p in err.value.problems]


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"conditions": ["none", "brief-whithout:policy.x"]}, "conditions.1", "unknown condition"),
        ({"conditions": ["brief-without:Policy X"]}, "conditions.0", "not a page id"),
        ({"conditions": ["knowledge@-rf"]}, "conditions.0", "not a git revision"),
        ({"conditions": ["none", "none"]}, "conditions", "listed twice"),
        ({"fixtures": []}, "fixtures", "at least 1"),
        ({"fixtures": ["../etc"]}, "fixtures.0", "pattern"),
        ({"agents": [{"name": "A B", "adapter": "shell"}]}, "agents.0.name", "run id"),
        ({"agents": [{"name": "a", "adapter": "shell", "modle": 1}]}, "agents.0.modle", "unknown"),
        ({"repeats": 0}, "repeats", "greater than or equal to 1"),
        ({"timeLimit": -1}, "timeLimit", "greater than 0"),
        ({"jobs": 1000}, "jobs", "less than or equal to 64"),
        ({"secrets": ["NOT A NAME"]}, "secrets.0", "pattern"),
        ({"search": "vector"}, "search", "'hybrid' or 'fts'"),
        ({"tyop": 1}, "tyop", "unknown field"),
    ],
)
def test_bad_specs_name_the_field(change, field, says):
    problems = _problems({**BASE, **change})
    assert any(f == field and says in m for f, m in problems), problems


def test_a_spec_that_is_not_a_mapping_or_not_yaml_is_refused():
    with pytest.raises(InvalidPage, match="mapping"):
        parse_spec(b"- a\n- b\n", "m.yaml")
    with pytest.raises(InvalidPage) as err:
        parse_spec(b"fixtures: [a\n", "m.yaml")
    assert err.value.problems[0].code == "yaml-error"


def test_conditions_parse_and_slug():
    assert parse_condition("none").attaches_server is False
    without = parse_condition("brief-without:policy.keep-pins")
    assert (without.kind, without.arg, without.slug) == (
        "brief-without", "policy.keep-pins", "without-policy.keep-pins"
    )  # fmt: skip
    rev = parse_condition("knowledge@HEAD~3")
    assert (rev.kind, rev.arg, rev.slug) == ("knowledge", "HEAD~3", "knowledge-head-3")


def test_the_spec_hash_ignores_formatting_but_not_content():
    a = parse_spec(b"fixtures: [t]\nconditions: [none]\nagents: [{name: a, adapter: shell}]\n", "m")
    b = parse_spec(
        b"# same\nagents:\n  - name: a\n    adapter: shell\nconditions: [none]\nfixtures:\n  - t\n",
        "m",
    )
    assert a.spec_hash() == b.spec_hash()
    assert a.spec_hash() != a.model_copy(update={"repeats": 2}).spec_hash()


def test_cells_expand_in_a_stable_order_with_stable_run_ids():
    spec = MatrixSpec.model_validate(
        {**BASE, "fixtures": ["f1", "f2"], "conditions": ["none", "brief"], "repeats": 2,
         "agents": [{"name": "a", "adapter": "shell"}, {"name": "b", "adapter": "shell"}]}
    )  # fmt: skip
    cells = expand(spec, "mx")
    assert len(cells) == 16
    assert [c.cell_id for c in cells[:5]] == [
        "f1/none/a/1", "f1/none/a/2", "f1/none/b/1", "f1/none/b/2", "f1/brief/a/1"
    ]  # fmt: skip
    assert cells[0].run_id == "run.mx.f1.none.a.r1"
    assert [c.run_id for c in expand(spec, "mx")] == [c.run_id for c in cells]
    assert len({c.run_id for c in cells}) == 16


@pytest.mark.parametrize("n", [1, 2, 3, 5, 16, 17])
def test_shards_partition_the_cells_exactly(n):
    spec = MatrixSpec.model_validate({**BASE, "fixtures": ["f1", "f2"], "repeats": 8})
    cells = expand(spec, "mx")
    picked = [[c.index for c in cells if in_shard(c, (i, n))] for i in range(1, n + 1)]
    flat = sorted(i for shard in picked for i in shard)
    assert flat == list(range(len(cells)))
    assert max(map(len, picked)) - min(map(len, picked)) <= 1  # balanced


@pytest.mark.parametrize("text", ["0/3", "4/3", "x", "1/0", "2-3", "1/99999"])
def test_bad_shards_are_refused(text):
    with pytest.raises(UsageError) as err:
        parse_shard(text)
    assert err.value.field == "shard"


def test_run_ids_stay_valid_when_the_names_are_long():
    long_page = "brief-without:policy." + "x" * 110
    run_id = run_id_for("m" * 60, "f" * 60, parse_condition(long_page), "a" * 60, 3)
    assert run_id.startswith("run.") and len(run_id) <= 124 and run_id.endswith(".r3")
    other = run_id_for("m" * 60, "f" * 60, parse_condition(long_page + "y"), "a" * 60, 3)
    assert other != run_id


def test_the_matrix_schema_is_exported():
    schemas = render_schemas()
    schema = json.loads(schemas["matrix.schema.json"])
    assert {"fixtures", "conditions", "agents"} <= set(schema["required"])
    on_disk = (PROJECT / "schemas" / "matrix.schema.json").read_text(encoding="utf-8")
    assert on_disk == schemas["matrix.schema.json"]


# --- checked against the root ---------------------------------------------------------------


def _plan_error(tmp_path, change: dict) -> UsageError:
    ws = make_root(tmp_path / "root", {"good": GOOD})
    write_spec(ws.root, {**read_spec(ws.root), **change})
    with pytest.raises(UsageError) as err:
        plan_matrix(ws, EXP)
    return err.value


def test_an_unknown_fixture_is_named_by_its_index(tmp_path):
    err = _plan_error(tmp_path, {"fixtures": ["tiny", "nope"]})
    assert err.field == "fixtures.1" and "nope" in err.message
    assert err.path == "experiments/m/matrix.yaml"


def test_an_unknown_adapter_and_a_bad_option_are_named(tmp_path):
    err = _plan_error(tmp_path, {"agents": [{"name": "x", "adapter": "cursor"}]})
    assert err.field == "agents.0.adapter" and "known:" in err.message
    err = _plan_error(
        tmp_path / "2", {"agents": [{"name": "x", "adapter": "codex", "options": {"polcy": 1}}]}
    )
    assert err.field == "agents.0.options.polcy"


def test_a_missing_page_and_a_bad_revision_are_named(tmp_path):
    err = _plan_error(tmp_path, {"conditions": ["none", "brief-without:policy.nope"]})
    assert err.field == "conditions.1" and "no page 'policy.nope'" in err.message
    err = _plan_error(tmp_path / "2", {"conditions": ["knowledge@v9.9"]})
    assert err.field == "conditions.0" and "not a commit" in err.message


def test_the_cli_reports_a_bad_spec_with_its_field_and_exit_2(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    write_spec(ws.root, {**read_spec(ws.root), "repeats": "many"})
    result = cli_run(ws.root, "matrix", "run", EXP)
    assert result.returncode == 2
    assert "experiments/m/matrix.yaml: repeats" in result.stderr
    assert "Traceback" not in result.stderr
    result = cli_run(ws.root, "matrix", "run", EXP, "--shard", "4/3")
    assert result.returncode == 2 and "shard" in result.stderr
    result = cli_run(ws.root, "matrix", "run", "no-such-experiment")
    assert result.returncode == 2 and "no experiment" in result.stderr


def test_knowledge_at_a_revision_serves_that_commit(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    first = git(ws.root, "rev-parse", "HEAD").strip()
    (ws.root / "policies" / "fix-the-file.md").unlink()
    (ws.root / "wiki" / "failures" / "new.md").write_text(
        "---\nid: failure.new\ntype: failure\ntitle: New\n---\n\nNew.\n"
    )
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", "later")
    found = resolve_knowledge(
        ws.root, [parse_condition("knowledge@HEAD~1"), parse_condition("brief")]
    )
    old, now = found["knowledge@HEAD~1"], found["brief"]
    assert old.commit == first and "policies/fix-the-file.md" in old.files
    assert "wiki/failures/new.md" not in old.files and "wiki/failures/new.md" in now.files
    assert old.content_hash != now.content_hash and old.pages == 2
    directory = build_variant(ws.root, old)
    assert (directory / "policies" / "fix-the-file.md").is_file()
    assert (directory / ".experimentos" / "index").is_dir()  # built once, before any run
    assert build_variant(ws.root, old) == directory  # reused


def test_a_dirty_working_tree_is_said_so(tmp_path):
    ws = make_root(tmp_path / "root", {"good": GOOD})
    (ws.root / "wiki" / "failures" / "broken.md").write_text(
        "---\nid: failure.broken\ntype: failure\ntitle: Changed\n---\n\nChanged.\n"
    )
    source = resolve_knowledge(ws.root, [parse_condition("brief")], search="fts")["brief"]
    assert source.dirty and "uncommitted changes" in source.description
    assert source.description.endswith("search: fts")
    assert b'embedder = "none"' in source.files["experimentos.toml"]
