"""Every bad input yields a clear problem (or exit 2) naming the file: no traceback, no hang,
nothing written outside the root."""

import json
import os
from pathlib import Path

import pytest

from .conftest import page_text

ALIAS_BOMB = (
    "---\nid: policy.bomb\ntype: policy\ntitle: T\n"
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9)
    )
    + "---\n"
)

BAD_FILES = {
    "alias bomb": ("policies/bomb.md", ALIAS_BOMB.encode(), "yaml-alias"),
    "python tag": (
        "policies/tag.md",
        b"---\nid: policy.tag\ntype: policy\ntitle: !!python/object:os.system {}\n---\n",
        "yaml-tag",
    ),
    "nul bytes": ("policies/nul.md", b"---\nid: policy.nul\x00\n---\n", "encoding"),
    "invalid utf-8": ("policies/utf.md", b"---\nid: policy.u\ntitle: \xc3\x28\n---\n", "encoding"),
    "5 MB frontmatter": (
        "policies/huge.md",
        b"---\nid: policy.huge\ntype: policy\ntitle: T\nsummary: "
        + b"x" * (5 * 1024 * 1024)
        + b"\n---\n",
        "file-too-large",
    ),
    "large frontmatter": (
        "policies/large.md",
        b"---\nid: policy.large\ntype: policy\ntitle: T\nsummary: "
        + b"x" * (300 * 1024)
        + b"\n---\n",
        "frontmatter-too-large",
    ),
    "list frontmatter": ("policies/list.md", b"---\n- a\n- b\n---\n", "frontmatter-not-mapping"),
    "scalar frontmatter": ("policies/scalar.md", b"---\ntext\n---\n", "frontmatter-not-mapping"),
    "empty frontmatter": ("policies/empty.md", b"---\n---\nbody\n", "frontmatter-not-mapping"),
    "no closing fence": (
        "policies/open.md",
        b"---\nid: policy.open\ntype: policy\ntitle: T\n\nbody\n",
        "frontmatter-unclosed",
    ),
    "no frontmatter": ("policies/plain.md", b"# Just markdown\n", "frontmatter-missing"),
    "duplicate keys": (
        "policies/dup.md",
        b"---\nid: policy.dup\ntype: policy\ntitle: A\ntitle: B\n---\n",
        "yaml-duplicate-key",
    ),
    "broken yaml": ("policies/broken.md", b"---\nid: [unclosed\n---\n", "yaml-error"),
    "deep nesting": ("policies/deep.md", b"---\na: " + b"[" * 5000 + b"\n---\n", "yaml-error"),
    "schema error": (
        "policies/schema.md",
        page_text("policy.schema", "policy", extra="status: maybe\n").encode(),
        "schema",
    ),
    "id/path mismatch": (
        "policies/here.md",
        page_text("policy.elsewhere", "policy").encode(),
        "id-path-mismatch",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_reported_with_its_path(empty_kb, cli, name):
    rel, content, code = BAD_FILES[name]
    (empty_kb.root / rel).write_bytes(content)
    before = snapshot(empty_kb.root.parent)
    result = cli(empty_kb.root, "check", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    problems = [p for p in report["problems"] if p["severity"] == "error"]
    assert problems, report
    assert problems[0]["path"] == rel
    assert problems[0]["code"] == code
    assert problems[0]["message"]
    assert snapshot(empty_kb.root.parent) == before


@pytest.mark.parametrize("name", sorted(n for n in BAD_FILES if n != "id/path mismatch"))
def test_reading_a_bad_page_exits_2_naming_the_file(empty_kb, cli, name):
    rel, content, _ = BAD_FILES[name]
    target = empty_kb.root / "policies/target.md"
    target.write_bytes(content)
    result = cli(empty_kb.root, "page", "show", "policy.target")
    assert result.exit_code == 2
    assert "policies/target.md" in result.stderr
    assert "Traceback" not in result.output


def test_duplicate_key_problem_names_the_line(empty_kb, cli):
    rel, content, _ = BAD_FILES["duplicate keys"]
    (empty_kb.root / rel).write_bytes(content)
    report = json.loads(cli(empty_kb.root, "check", "--json").stdout)
    assert "line 4" in report["problems"][0]["message"]
    assert "'title'" in report["problems"][0]["message"]


@pytest.mark.parametrize("bad", ["policy../../etc", "policy.a/b", "policy.A", "x"])
def test_unsafe_ids_exit_2(empty_kb, cli, bad):
    for args in (["page", "show", bad], ["graph", "deps", bad], ["page", "new", "policy", bad[7:]]):
        if args[1] == "new":
            args += ["--title", "T"]
        result = cli(empty_kb.root, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


def test_symlink_pointing_outside_the_root(empty_kb, cli, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text(page_text("policy.secret", "policy"), encoding="utf-8")
    (empty_kb.root / "policies/secret.md").symlink_to(secret)
    outside_dir = tmp_path / "elsewhere"
    outside_dir.mkdir()
    (empty_kb.root / "wiki/linked").symlink_to(outside_dir, target_is_directory=True)
    report = json.loads(cli(empty_kb.root, "check", "--json").stdout)
    codes = {(p["path"], p["code"]) for p in report["problems"]}
    assert ("policies/secret.md", "symlink-outside-root") in codes
    assert ("wiki/linked", "symlink-outside-root") in codes
    result = cli(empty_kb.root, "page", "show", "policy.secret")
    assert result.exit_code == 2
    assert "outside" in result.stderr
    # writing through the link is refused too, and the outside file is untouched
    before = secret.read_bytes()
    result = cli(
        empty_kb.root, "page", "set-status", "policy.secret", "rejected", "--rationale", "r"
    )
    assert result.exit_code == 2
    assert secret.read_bytes() == before


def test_bad_config_exits_2(empty_kb, cli):
    (empty_kb.root / "experimentos.toml").write_text("[index]\nembedder = 3\n", encoding="utf-8")
    result = cli(empty_kb.root, "check")
    assert result.exit_code == 2
    assert "experimentos.toml" in result.stderr


def snapshot(root: Path) -> dict[str, int]:
    """Every file under root (outside the knowledge root too) with its mtime."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = Path(dirpath) / name
            if ".experimentos" not in path.parts:
                out[str(path)] = path.lstat().st_mtime_ns
    return out
