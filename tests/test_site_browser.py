"""The site in a real browser: headless Chromium (Debian's) driven by Selenium and chromedriver.

Selenium with Debian's chromedriver rather than Playwright: the driver comes from the same
Debian source package as the browser, so their versions always match, whereas Playwright
supports only the browser builds it downloads itself (which cannot be installed here) and
talks a private protocol to any other. Selenium is a small pure-Python wheel; console errors
come from chromedriver's browser log (uncaught exceptions, failed loads, CSP refusals).

Every page is loaded from file:// and from a sub-path over HTTP (as on GitHub Pages): no
console error, every internal link resolves, nothing from a file runs. The search box finds
a page by a word of its body. A screenshot of the report page is kept: its path is printed,
and it is copied into $XOS_ARTIFACTS when that is set (.ci/run sets .ci/artifacts).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import tempfile
import threading
import urllib.parse
from pathlib import Path

import pytest

from experimentos.site import build_site
from experimentos.store import Workspace

from .conftest import PROJECT
from .site_helpers import BODY_WORD, MATRIX, REPORT_WORD, make_site_root
from .test_site import TODAY

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)
REPORT_PAGE = f"experiments/{MATRIX}/results/{MATRIX}.html"
RUN_PAGE = f"experiments/{MATRIX}/runs/run.{MATRIX}.drizzle-pin.brief.codex.r1.html"
LINKS_JS = """
return Array.from(document.querySelectorAll('a[href], link[href], script[src], img[src]'))
  .map(e => e.href || e.src);
"""


def _browser() -> tuple[str, str] | None:
    """(browser, chromedriver) paths: $XOS_CHROMIUM/$XOS_CHROMEDRIVER, else on PATH."""
    browser = os.environ.get("XOS_CHROMIUM") or next(
        filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))),
        None,
    )
    driver = os.environ.get("XOS_CHROMEDRIVER") or shutil.which("chromedriver")
    if not driver and os.environ.get("CHROMEWEBDRIVER"):  # GitHub's runners
        driver = str(Path(os.environ["CHROMEWEBDRIVER"]) / "chromedriver")
    return (browser, driver) if browser and driver and Path(driver).exists() else None


@pytest.fixture(scope="module")
def driver():
    found = _browser()
    if found is None:
        pytest.skip(
            "Chromium or chromedriver is not installed (Debian packages chromium and "
            "chromium-driver; .ci/run installs them)"
        )
    selenium = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="xos-chromium-")
    options = selenium.ChromeOptions()
    options.binary_location = found[0]
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = selenium.Chrome(options=options, service=Service(executable_path=found[1]))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The test root's site and this project's own site."""
    base = tmp_path_factory.mktemp("sites")
    fixture = base / "fixture-site"
    build_site(make_site_root(base / "kb"), fixture, today=TODAY)
    project = base / "project-site"
    build_site(Workspace(PROJECT), project, today=TODAY)
    return {"fixture": fixture, "project": project}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: ANN002 - keep test output clean
        pass


@pytest.fixture(scope="module")
def served(sites, tmp_path_factory):
    """The fixture site under /org/kb/ on a local HTTP server, like a GitHub Pages sub-path."""
    docroot = tmp_path_factory.mktemp("docroot")
    shutil.copytree(sites["fixture"], docroot / "org" / "kb")
    handler = functools.partial(_Quiet, directory=str(docroot))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/org/kb/", docroot / "org" / "kb"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _severe(browser) -> list[str]:  # noqa: ANN001 - a selenium WebDriver
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _check_pages(browser, site: Path, base_url: str) -> int:  # noqa: ANN001
    """Load every page under base_url; return the number of internal links checked."""
    browser.get_log("browser")  # drop what earlier pages left
    ids: dict[Path, set[str]] = {}
    checked = 0
    problems = []
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        browser.get(base_url + rel)
        errors = _severe(browser)
        if errors:
            problems.append(f"{rel}: console errors {errors}")
        if browser.execute_script("return window.__xss === undefined") is not True:
            problems.append(f"{rel}: a script from a file ran")
        for url in browser.execute_script(LINKS_JS):
            if not url.startswith(base_url):
                if url.startswith(("file:", "http://127.0.0.1")):
                    problems.append(f"{rel}: link leaves the site: {url}")
                continue  # external
            target_rel, _, fragment = urllib.parse.unquote(url[len(base_url) :]).partition("#")
            target = site / target_rel.split("?", 1)[0]
            if not target.is_file():
                problems.append(f"{rel}: broken link {url}")
                continue
            if fragment:
                if target not in ids:
                    text = target.read_text(encoding="utf-8")
                    ids[target] = {part.split('"', 1)[0] for part in text.split(' id="')[1:]}
                if fragment not in ids[target]:
                    problems.append(f"{rel}: no #{fragment} in {target_rel}")
            checked += 1
    assert not problems, "\n".join(problems)
    return checked


@pytest.mark.parametrize("name", ["fixture", "project"])
def test_every_page_loads_clean_from_file(driver, sites, name):
    site = sites[name]
    checked = _check_pages(driver, site, site.as_uri() + "/")
    assert checked >= 7 * len(list(site.rglob("*.html")))


def test_every_page_loads_clean_from_a_sub_path(driver, served):
    base_url, site = served
    assert _check_pages(driver, site, base_url) > 0


def _search(browser, word: str):  # noqa: ANN001, ANN202
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    box = browser.find_element(By.ID, "search-input")
    box.clear()
    box.send_keys(word)
    WebDriverWait(browser, 10).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#search-results li a"))
    )
    return browser.find_elements(By.CSS_SELECTOR, "#search-results li a")


@pytest.mark.parametrize(
    ("word", "target"),
    [(BODY_WORD, "knowledge/failure.blind-upgrade.html"), (REPORT_WORD, REPORT_PAGE)],
)
def test_search_box_finds_a_page_by_a_body_word(driver, sites, word, target):
    site = sites["fixture"]
    driver.get((site / RUN_PAGE).as_uri())  # a deep page: the index loads relative to it
    hits = _search(driver, word.upper()[:-1])  # any case, a prefix of the word
    assert [h.get_attribute("href") for h in hits] == [(site / target).as_uri()]
    hits[0].click()
    assert driver.current_url == (site / target).as_uri()
    assert _severe(driver) == []


def test_search_page_lists_results_over_http(driver, served):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base_url, _ = served
    driver.get(f"{base_url}search.html?q={BODY_WORD}")
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-page-results li a")
    )
    links = driver.find_elements(By.CSS_SELECTOR, "#search-page-results li a")
    assert [a.get_attribute("href") for a in links] == [
        f"{base_url}knowledge/failure.blind-upgrade.html"
    ]
    assert driver.find_element(By.ID, "search-input").get_attribute("value") == BODY_WORD


def test_report_page_screenshot(driver, sites, tmp_path_factory):
    from selenium.webdriver.common.by import By

    driver.get((sites["fixture"] / REPORT_PAGE).as_uri())
    chart = driver.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.size["width"] > 100 and chart.size["height"] > 20
    assert driver.find_elements(By.CSS_SELECTOR, "article.report table td")
    shot = tmp_path_factory.mktemp("artifacts") / "site-report.png"
    driver.set_window_size(1280, 1400)
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    kept = os.environ.get("XOS_ARTIFACTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        shot = Path(shutil.copy(shot, Path(kept) / shot.name))
    print(f"report page screenshot: {shot}")


def test_the_checks_can_fail(driver, tmp_path):
    """A console error, a broken link and a script that ran are all caught."""
    site = tmp_path / "broken"
    site.mkdir()
    (site / "index.html").write_text(
        '<!DOCTYPE html><html><head><link rel="icon" href="data:,"></head><body>'
        '<a href="gone.html">x</a><script>window.__xss = 1; missingFunction();</script>'
        "</body></html>",
        encoding="utf-8",
    )
    with pytest.raises(AssertionError) as caught:
        _check_pages(driver, site, site.as_uri() + "/")
    text = str(caught.value)
    assert (
        "missingFunction" in text and "broken link" in text and "a script from a file ran" in text
    )


# --- reading the site (issue 23): layout at two widths, the grid, trust, grouped search -------

M = f"experiments/{MATRIX}"
MAIN_PAGES = (
    "index.html",
    "knowledge/index.html",
    "knowledge/policy.keep-drizzle-kit-pin-verify-locally.html",
    "knowledge/intervention.bound-long-running-commands.html",
    "knowledge/failure.pinned-dependency-upgrade.html",
    "knowledge/knowledge.drizzle-kit-0-31-release-line.html",
    "knowledge/claim.upgrade-drizzle-kit-fixes-migration-default.html",
    "knowledge/source.drizzle-kit-release-notes.html",
    "experiments/index.html",
    f"{M}/index.html",
    f"{M}/runs/run.{MATRIX}.drizzle-pin.brief.codex.r1.html",
    f"{M}/results/{MATRIX}.html",
    f"{M}/matrices/{MATRIX}.html",
    "matrices/index.html",
    "reports/index.html",
    "search.html?q=drizzle",
)
WIDTHS = (1280, 390)
GREEN = (26, 127, 55)  # --ok


def _rgb(css: str) -> tuple[int, ...]:
    """(r, g, b) of a computed colour: rgb(), rgba() or color(srgb …) (what color-mix gives)."""
    values = [float(v) for v in re.findall(r"\d+(?:\.\d+)?", css.partition("(")[2])]
    if css.startswith("color("):
        values = [v * 255 for v in values]
    return tuple(round(v) for v in values[:3])


# Numbers in running text (rates, p-values, intervals, versions, k/n), outside code and links.
BREAKS_JS = r"""
const bad = [];
const lines = (range) => new Set(Array.from(range.getClientRects())
  .filter((r) => r.width > 0).map((r) => Math.round(r.top))).size;
for (const el of document.querySelectorAll('.status, .badge, .tag, .verdict')) {
  const range = document.createRange();
  range.selectNodeContents(el);
  if (lines(range) > 1) bad.push('badge wraps: ' + el.textContent);
}
const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
const number = /[+\-\u2212]?\d+(?:\.\d+)+|\d+\/\d+/g;
while (walker.nextNode()) {
  const node = walker.currentNode;
  if (node.parentElement.closest('code, pre, svg, a')) continue;
  for (const m of node.data.matchAll(number)) {
    const range = document.createRange();
    range.setStart(node, m.index);
    range.setEnd(node, m.index + m[0].length);
    if (lines(range) > 1) bad.push('number breaks: ' + m[0]);
  }
}
return bad;
"""


def _at_width(browser, width: int) -> None:  # noqa: ANN001
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )


@pytest.fixture
def width_reset(driver):
    yield driver
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width", WIDTHS)
def test_main_pages_fit_the_width_and_never_break_a_number(width_reset, sites, width):
    """No horizontal scrolling of the page (wide tables scroll in their own box); badges stay on
    one line ("accept/ed"), numbers too ("0.1/5")."""
    browser = width_reset
    _at_width(browser, width)
    problems = []
    for rel in MAIN_PAGES:
        path, mark, query = rel.partition("?")
        browser.get((sites["project"] / path).as_uri() + mark + query)
        scroll, client = browser.execute_script(
            "const e = document.documentElement; return [e.scrollWidth, e.clientWidth];"
        )
        if scroll > client:
            problems.append(f"{rel}: {scroll} px wide in a {client} px window")
        problems += [f"{rel}: {p}" for p in browser.execute_script(BREAKS_JS)]
    assert not problems, "\n".join(problems)


def test_a_diff_line_is_one_line_high(driver, sites):
    driver.get((sites["project"] / MAIN_PAGES[10]).as_uri())
    inner, lines = driver.execute_script(
        """
        const pre = document.querySelector('pre.diff');
        const style = getComputedStyle(pre);
        const inner = pre.clientHeight - parseFloat(style.paddingTop)
          - parseFloat(style.paddingBottom);
        const spans = Array.from(pre.querySelectorAll('span'));
        return [inner, spans.reduce((sum, s) => sum + s.getBoundingClientRect().height, 0)];
        """
    )
    assert lines > 0 and abs(inner - lines) < 2, (inner, lines)


def test_only_a_decision_rule_is_green_in_the_browser(driver, sites):
    from selenium.webdriver.common.by import By

    site = sites["fixture"]
    colours = {}
    for page in ("policy.reviewed", "claim.unreviewed", "claim.fresh", "policy.keep-pins"):
        driver.get((site / f"knowledge/{page}.html").as_uri())
        badge = driver.find_element(By.CSS_SELECTOR, ".meta .status")
        colours[page] = _rgb(badge.value_of_css_property("color"))
    assert colours.pop("policy.reviewed") == GREEN
    assert GREEN not in colours.values(), colours


def test_search_shows_runs_of_one_task_once(driver, sites):
    """ "drizzle pin" listed 8 runs with the same snippet before any page; now a task's runs are
    one result that says how many more there are and opens them on the matrix grid."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    site = sites["project"]
    driver.get((site / "search.html").as_uri() + "?q=drizzle%20pin")
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#search-page-results li")
    )
    items = driver.find_elements(By.CSS_SELECTOR, "#search-page-results > li")
    kinds = [i.find_element(By.CSS_SELECTOR, ".tag").text for i in items]
    snippets = [
        (k, i.find_element(By.CSS_SELECTOR, "small").text)
        for k, i in zip(kinds, items, strict=True)
        if i.find_elements(By.CSS_SELECTOR, "small")
    ]
    assert len(snippets) == len(set(snippets)), snippets  # no snippet twice
    assert kinds.count("run") <= 2 and kinds[0] != "run", kinds
    more = driver.find_elements(By.CSS_SELECTOR, "#search-page-results a.more")
    assert more and re.fullmatch(r"and \d+ more runs of this task", more[0].text)
    assert more[0].get_attribute("href") == (site / f"{M}/matrices/{MATRIX}.html").as_uri()


def test_matrix_grid_in_the_browser(driver, sites, tmp_path_factory):
    from selenium.webdriver.common.by import By

    site = sites["project"]
    grid = (site / f"{M}/matrices/{MATRIX}.html").as_uri()
    driver.set_window_size(1280, 1000)
    driver.get(grid)

    def background(key: str) -> tuple[int, ...]:
        cell = driver.find_element(By.CSS_SELECTOR, f'td[data-cell="{key}"]')
        return _rgb(cell.value_of_css_property("background-color"))

    good, bad = background("drizzle-pin/brief/codex"), background("drizzle-pin/none/codex")
    assert good[1] > good[0] and bad[0] > bad[1], (good, bad)  # green vs red
    count = driver.find_element(By.CSS_SELECTOR, 'td[data-cell="drizzle-pin/brief/codex"] a.count')
    count.click()
    anchor = driver.current_url.partition("#")[2]
    assert anchor.startswith("cell-")
    assert driver.find_element(By.ID, anchor).is_displayed()
    shot = tmp_path_factory.mktemp("artifacts") / "site-matrix-grid.png"
    driver.find_element(By.CSS_SELECTOR, "table.matrix-grid").screenshot(str(shot))
    kept = os.environ.get("XOS_ARTIFACTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(kept) / shot.name)
    driver.get(grid)
    run = driver.find_element(By.CSS_SELECTOR, 'td[data-cell="drizzle-pin/brief/codex"] a.run')
    run.click()
    assert (
        driver.current_url
        == (site / f"{M}/runs/run.{MATRIX}.drizzle-pin.brief.codex.r1.html").as_uri()
    )
    assert _severe(driver) == []
