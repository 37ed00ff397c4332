import os
from pathlib import Path

import pytest

from experimentos.errors import AlreadyExists, ConcurrentEdit, NotFound, UnsafeId
from experimentos.models.knowledge import Page, PageType, Status
from experimentos.store import id_for_path, page_path, parse_document, render, split_id

from .conftest import page_text


def test_every_starter_page_round_trips(kb):
    scan = kb.scan()
    assert scan.problems == []
    assert len(scan.documents) >= 15
    for doc in scan.documents:
        # dumping an untouched page changes no byte
        assert render(doc.page, doc) == doc.raw
        # parse -> dump -> parse is identical, also through the canonical (no-original) path
        again = parse_document(render(doc.page), doc.path)
        assert again.page == doc.page
        assert render(again.page) == render(doc.page)


def test_changed_page_keeps_key_order_and_long_values(kb):
    doc = kb.scan().documents[0]
    long_title = "A very long title " * 12
    changed = doc.page.model_copy(update={"title": long_title.strip()})
    out = render(changed, doc).decode()
    assert f"title: {long_title.strip()}\n" in out  # not re-wrapped
    keys = [line.split(":")[0] for line in out.split("---")[1].splitlines() if line[:1].isalpha()]
    assert keys == doc.keys
    assert parse_document(out.encode(), doc.path).page == changed


def test_id_path_mapping():
    assert page_path("policy.keep-pins").as_posix() == "policies/keep-pins.md"
    assert page_path("knowledge.v1.2").as_posix() == "wiki/knowledge/v1.2.md"
    assert id_for_path("wiki/failures/x.md") == "failure.x"
    assert id_for_path("wiki/failures/sub/x.md") is None
    assert id_for_path("wiki/notes.txt") is None
    assert split_id("claim.a-b") == (PageType.claim, "a-b")


@pytest.mark.parametrize(
    "bad", ["policy..x", "policy.a/../../etc", "policy./x", "../x", "nope.x", "policy.A", "policy"]
)
def test_unsafe_ids_are_refused(empty_kb, bad):
    with pytest.raises(UnsafeId):
        empty_kb.read(bad)


def test_save_creates_and_refuses_to_overwrite(empty_kb):
    page = Page(id="failure.x", type=PageType.failure, title="X", body="Body\n")
    doc = empty_kb.save(page)
    assert (empty_kb.root / "wiki/failures/x.md").read_bytes() == doc.raw
    with pytest.raises(AlreadyExists):
        empty_kb.save(page)


def test_checksum_guard_refuses_a_concurrent_edit(empty_kb):
    doc = empty_kb.save(Page(id="failure.x", type=PageType.failure, title="X"))
    path = empty_kb.root / doc.path
    # someone else edits the file after we read it
    path.write_text(path.read_text(encoding="utf-8").replace("title: X", "title: Theirs"))
    theirs = path.read_bytes()
    with pytest.raises(ConcurrentEdit, match="changed on disk"):
        empty_kb.save(doc.page.model_copy(update={"status": Status.rejected}), like=doc)
    assert path.read_bytes() == theirs
    # re-reading and applying the change again succeeds
    fresh = empty_kb.read("failure.x")
    empty_kb.save(fresh.page.model_copy(update={"status": Status.rejected}), like=fresh)
    assert empty_kb.read("failure.x").page.title == "Theirs"


def test_checksum_guard_refuses_when_the_file_was_deleted(empty_kb):
    doc = empty_kb.save(Page(id="failure.x", type=PageType.failure, title="X"))
    (empty_kb.root / doc.path).unlink()
    with pytest.raises(ConcurrentEdit, match="deleted"):
        empty_kb.save(doc.page, like=doc)


def test_writes_leave_no_temp_files(empty_kb):
    doc = empty_kb.save(Page(id="failure.x", type=PageType.failure, title="X"))
    for i in range(5):
        doc = empty_kb.save(doc.page.model_copy(update={"title": f"X{i}"}), like=doc)
    assert sorted(os.listdir(empty_kb.root / "wiki/failures")) == [".gitkeep", "x.md"]


def test_write_through_symlinked_dir_outside_root_is_refused(empty_kb, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    failures = empty_kb.root / "wiki/failures"
    for child in failures.iterdir():
        child.unlink()
    failures.rmdir()
    failures.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeId, match="outside"):
        empty_kb.save(Page(id="failure.x", type=PageType.failure, title="X"))
    assert list(outside.iterdir()) == []


def test_read_missing_page(empty_kb):
    with pytest.raises(NotFound):
        empty_kb.read("policy.nope")


def test_scan_keeps_going_past_bad_files(empty_kb):
    root = empty_kb.root
    (root / "policies/good.md").write_text(page_text("policy.good", "policy"), encoding="utf-8")
    (root / "policies/bad.md").write_text("no frontmatter\n", encoding="utf-8")
    (root / "policies/worse.md").write_bytes(b"---\nid: \xff\n---\n")
    scan = empty_kb.scan()
    assert [d.id for d in scan.documents] == ["policy.good"]
    assert {(p.path, p.code) for p in scan.problems} == {
        ("policies/bad.md", "frontmatter-missing"),
        ("policies/worse.md", "encoding"),
    }


def test_crlf_and_bom_files_parse(tmp_path: Path):
    raw = "\ufeff---\r\nid: policy.p\r\ntype: policy\r\ntitle: T\r\n---\r\n\r\nBody\r\n".encode()
    doc = parse_document(raw, "policies/p.md")
    assert doc.page.title == "T"
    assert render(doc.page, doc) == raw


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(empty_kb, umask):
    """A new file gets 0o666 & ~umask (mkstemp alone would make every file 0600); a replaced
    file keeps the mode it had."""
    import stat

    from experimentos.reports.rows import _Cache
    from experimentos.store.files import atomic_write

    old = os.umask(umask)
    try:
        page = Page(id="failure.x", type=PageType.failure, title="X", body="Body\n")
        doc = empty_kb.save(page)
        path = empty_kb.root / "wiki/failures/x.md"
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
        atomic_write(empty_kb.root, "experiments/e/runs/run.x.diff", b"d", expected=None)
        side = empty_kb.root / "experiments/e/runs/run.x.diff"
        assert stat.S_IMODE(side.stat().st_mode) == 0o666 & ~umask
        path.chmod(0o640)
        empty_kb.save(page.model_copy(update={"title": "Y"}), like=doc)
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
        cache = _Cache(empty_kb.root, "e", enabled=True)
        cache.put("k", None)
        cache.save()
        assert stat.S_IMODE(cache.path.stat().st_mode) == 0o666 & ~umask
    finally:
        os.umask(old)
