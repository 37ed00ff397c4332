from experimentos.index.chunks import chunk_page, heading_at, page_document, window_words
from experimentos.models.knowledge import Page, PageType


def page(body: str, summary: str = "Short summary.") -> Page:
    return Page(
        id="failure.x", type=PageType.failure, title="Title here", summary=summary, body=body
    )


def test_document_is_title_summary_and_plain_body():
    doc = page_document(
        page("## Rule\n\nSee [[policy.keep-pins|the pin policy]] and [[failure.y]].\n")
    )
    assert doc == "Title here\nShort summary.\n## Rule\n\nSee the pin policy and failure.y."


def test_windows_overlap_cover_the_page_and_respect_the_cap():
    words = " ".join(f"w{i}" for i in range(400))
    body = f"## First\n\n{words}\n\n## Second\n\ntail words here\n"
    one = chunk_page(page(body), words_per_window=100, max_windows=1)
    assert len(one) == 1 and one[0].text.startswith("Title here Short summary. First w0")
    many = chunk_page(page(body), words_per_window=100, max_windows=50)
    assert len(many) == 6
    texts = [c.text.split() for c in many]
    assert texts[0][-30:] == texts[1][:30]  # 30 words of overlap
    covered = {w for t in texts for w in t}
    assert {"w0", "w399", "tail", "Second"} <= covered
    assert many[0].heading == "" and many[1].heading == "First"
    assert many[-1].heading == "First"  # the section the window starts in
    assert [c.ord for c in many] == list(range(6))


def test_code_fences_do_not_start_sections():
    body = "## Real\n\n```bash\n# not a heading\necho hi\n```\n"
    chunks = chunk_page(page(body), words_per_window=100, max_windows=5)
    assert all(c.heading in ("", "Real") for c in chunks)


def test_empty_page_still_has_a_window():
    assert chunk_page(Page(id="failure.x", type=PageType.failure, title="T"))[0].text == "T"


def test_window_size_follows_the_model():
    assert window_words(256) == 192 and window_words(128) == 96


def test_heading_at_finds_the_enclosing_section():
    doc = "Title\n## One\ntext one\n## Two\ntext two"
    assert heading_at(doc, doc.index("two")) == "Two"
    assert heading_at(doc, doc.index("one")) == "One"
    assert heading_at(doc, 2) == ""
