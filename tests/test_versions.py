from __future__ import annotations

import pytest

from experimentos.models.knowledge import AppliesTo
from experimentos.repofacts.facts import LocalFacts, LocalVersion, ManifestProblem, read_local_facts
from experimentos.repofacts.versions import (
    Match,
    MatchContext,
    SemVer,
    applies,
    exact_version,
    matches,
    parse_npm_range,
    parse_semver,
    path_matches,
)

from .conftest import write_files
from .test_localfacts import DRIZZLE_FILES, PYTHON_FILES

# (range, version, satisfies) per node-semver's README and its default options; every row was
# checked against node-semver 7 itself.
NPM_CASES = [
    # caret: the left-most non-zero part may not change
    ("^0.30.4", "0.30.4", True),
    ("^0.30.4", "0.30.9", True),
    ("^0.30.4", "0.31.0", False),
    ("^0.30.4", "0.30.3", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^1.2.3", "1.9.9", True),
    ("^1.2.3", "2.0.0", False),
    ("^1.2.3", "1.2.2", False),
    ("^1.2.x", "1.2.0", True),
    ("^1.2.x", "1.9.9", True),
    ("^1.2.x", "2.0.0", False),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0.x", "0.9.9", True),
    ("^0.x", "1.0.0", False),
    ("^1.x", "1.0.0", True),
    # tilde: patch-level changes (minor-level when only the major is given)
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.2.0", True),
    ("~1.2", "1.3.0", False),
    ("~1", "1.9.9", True),
    ("~1", "2.0.0", False),
    ("~0.2.3", "0.2.9", True),
    ("~0.2.3", "0.3.0", False),
    ("~>1.2", "1.2.7", True),
    ("~ 1.2", "1.2.7", True),
    # x-ranges and partial versions
    ("1.x", "1.9.9", True),
    ("1.x", "2.0.0", False),
    ("1.2.*", "1.2.7", True),
    ("1.2.*", "1.3.0", False),
    ("*", "0.0.0", True),
    ("", "3.0.0", True),
    ("1", "1.2.3", True),
    ("1", "2.0.0", False),
    ("1.2", "1.2.3", True),
    # comparators, with partial versions filled per node-semver
    (">=1.2.0 <2.0.0", "1.9.9", True),
    (">=1.2.0 <2.0.0", "2.0.0", False),
    (">= 1.2.0 < 2.0.0", "1.2.0", True),
    (">1", "1.9.9", False),
    (">1", "2.0.0", True),
    (">1.2", "1.3.0", True),
    (">1.2", "1.2.9", False),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    ("<x", "0.0.0", False),
    ("=1.2.3", "1.2.3", True),
    ("v1.2.3", "v1.2.3", True),
    ("1.2.3", "1.2.3+build.5", True),
    ("1.2.3", "1.2.4", False),
    # hyphen ranges: inclusive; a partial right side becomes an exclusive bound
    ("1.2.3 - 2.3.4", "2.3.4", True),
    ("1.2.3 - 2.3.4", "2.3.5", False),
    ("1.2.3 - 2.3.4", "1.2.2", False),
    ("1.2 - 2.3.4", "1.2.0", True),
    ("1.2.3 - 2.3", "2.3.9", True),
    ("1.2.3 - 2.3", "2.4.0", False),
    ("1.2.3 - 2", "2.9.9", True),
    ("1.2.3 - 2", "3.0.0", False),
    ("* - 2", "0.0.0", True),
    # alternatives
    ("1.2.7 || >=1.2.9 <2.0.0", "1.2.7", True),
    ("1.2.7 || >=1.2.9 <2.0.0", "1.2.8", False),
    ("1.2.7 || >=1.2.9 <2.0.0", "1.4.6", True),
    ("0.x || 2.x", "1.0.0", False),
    ("0.x || 2.x", "2.3.4", True),
    ("1.2.3 ||", "9.9.9", True),
    # pre-releases: only via a comparator naming one on the same major.minor.patch
    (">1.2.3-alpha.3", "1.2.3-alpha.7", True),
    (">1.2.3-alpha.3", "3.4.5-alpha.9", False),
    (">1.2.3-alpha.3", "3.4.5", True),
    ("^1.2.3-beta.2", "1.2.3-beta.3", True),
    ("^1.2.3-beta.2", "1.2.4-beta", False),
    ("^1.2.3", "1.3.0-beta", False),
    ("^1.2.3", "2.0.0-0", False),
    ("~1.2.3-beta.2", "1.2.3-beta.11", True),
    ("*", "1.0.0-beta", False),
    ("1.2.3-alpha - 2.0.0-rc.1", "2.0.0-rc.1", True),
    ("1.2.3-alpha - 2.0.0-rc.1", "2.0.0-0", True),
    ("1.2.3-alpha - 2.0.0-rc.1", "1.3.0-beta", False),
    (">=1.2.3-0 <1.2.4", "1.2.3-beta", True),
    ("<1.2.3-beta", "1.2.3-alpha.7", True),
    ("<1.2.3-beta", "1.2.3-beta", False),
    # pre-release precedence (semver 2.0.0 §11)
    (">=1.2.3-beta.2 <1.2.3-beta.11", "1.2.3-beta.3", True),
    (">=1.2.3-beta.2 <1.2.3-beta.11", "1.2.3-beta.11", False),
    (">=1.0.0-rc.1", "1.0.0-rc.2", True),
    (">=1.0.0-rc.1", "1.0.0", True),
    ("<=1.2.3-beta.2", "1.2.3-beta.2.0", False),
    ("<=1.2.3-beta.2", "1.2.3-beta", True),
    ("1.0.0-rc.1", "1.0.0-rc.1", True),
]


@pytest.mark.parametrize(("spec", "version", "expected"), NPM_CASES)
def test_npm_ranges(spec, version, expected):
    assert matches(spec, version, "npm") is expected


# (specifier, version, contained) per PEP 440 as packaging reads it
PEP440_CASES = [
    (">=1.9", "1.10", True),
    ("<1.10", "1.9", True),
    ("<1.9", "1.10", False),
    ("==1.10.0", "1.10", True),
    (">=2,<3", "2.5.1", True),
    (">=2,<3", "3.0", False),
    (">=0.31,<1.0", "0.30.4", False),
    ("==1.0.*", "1.0.5", True),
    ("==1.0.*", "1.1", False),
    ("~=1.4.2", "1.4.9", True),
    ("~=1.4.2", "1.5.0", False),
    ("~=2.2", "2.9", True),
    ("!=1.5", "1.5.0", False),
    (">=1.0,!=1.3.*", "1.3.2", False),
    (">=1.0.post1", "1.0.post2", True),
    ("", "2.0", True),
    # pre-releases only when the specifier names one
    ("", "2.0rc1", False),
    (">=1.0", "1.1a1", False),
    (">=1.0a1", "1.1a1", True),
    ("<2", "2.0b1", False),
    ("<2.0b2", "2.0b1", True),
    ("==2.0rc1", "2.0rc1", True),
    ("!=2.0rc1", "2.0rc2", False),
]


@pytest.mark.parametrize(("spec", "version", "expected"), PEP440_CASES)
def test_pep440_specifiers(spec, version, expected):
    assert matches(spec, version, "python") is expected


@pytest.mark.parametrize(
    ("spec", "version", "ecosystem", "expected"),
    [
        # a page may write the other ecosystem's syntax; it is read in that syntax
        (">=0.31,<1.0", "0.30.4", "npm", False),
        (">=0.31,<1.0", "0.31.2", "npm", True),
        ("!=1.2.3", "1.2.3", "npm", False),
        ("^1.2", "1.10.0", "python", True),
        ("^1.2", "2.0.0", "python", False),
        (">=1.2.0 <2.0.0", "1.5.0", "python", True),
        ("1.2.*", "1.2.7", "python", True),
    ],
)
def test_either_syntax(spec, version, ecosystem, expected):
    assert matches(spec, version, ecosystem) is expected


@pytest.mark.parametrize(
    ("spec", "version", "ecosystem"),
    [
        ("not a range", "1.2.3", "npm"),
        ("^1.2.3", "1.2", "npm"),
        ("^1.2.3", "banana", "npm"),
        ("1.2.3.4", "1.2.3", "npm"),
        ("^01.2.3", "1.2.3", "npm"),
        ("1.2.3 - 2.3.4 >=2", "2.0.0", "npm"),
        (">=1.2.3 - 2", "2.0.0", "npm"),
        (">=1.0", "not-a-version", "python"),
        ("~~1", "1.0", "python"),
        (">=1.0", "1.0", "cargo"),
        ("^1.2", "2.0.post1", "python"),
    ],
)
def test_unparsable_is_none(spec, version, ecosystem):
    assert matches(spec, version, ecosystem) is None


def test_semver_parsing_and_order():
    assert parse_semver("v1.2.3-beta.11+sha.5") == SemVer(1, 2, 3, ("beta", 11))
    assert parse_semver("=1.0.0") == SemVer(1, 0, 0)
    assert parse_semver("1.2.3-01") is None
    assert parse_semver("01.2.3") is None
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
    ]
    parsed = [parse_semver(v) for v in ordered]
    assert sorted(parsed, key=lambda v: v.key()) == parsed
    assert str(parsed[5]) == "1.0.0-beta.11"


def test_npm_ranges_desugar_like_node_semver():
    def show(spec):
        return [" ".join(f"{op}{v}" for op, v in s) for s in parse_npm_range(spec)]

    assert show("^0.30.4") == [">=0.30.4 <0.31.0-0"]
    assert show("^0.0.3") == [">=0.0.3 <0.0.4-0"]
    assert show("~1.2.3") == [">=1.2.3 <1.3.0-0"]
    assert show("1.2.3 - 2.3") == [">=1.2.3 <2.4.0-0"]
    assert show("1.x || >=2.5.0 || 5.0.0 - 7.2.3") == [
        ">=1.0.0 <2.0.0-0",
        ">=2.5.0",
        ">=5.0.0 <=7.2.3",
    ]
    assert show("*") == [""]


def test_exact_version_prefers_the_lock_then_an_exact_pin():
    def entry(ecosystem, declared, locked=None):
        return LocalVersion(
            name="x", ecosystem=ecosystem, declared=declared, locked=locked, source="f"
        )

    assert exact_version(entry("npm", "^1.0.0", "1.4.2")) == "1.4.2"
    assert exact_version(entry("npm", "v3.23.8")) == "3.23.8"
    assert exact_version(entry("npm", "^3.23.8")) is None
    assert exact_version(entry("python", "==2.31.0")) == "2.31.0"
    assert exact_version(entry("python", "==2.31.*")) is None
    assert exact_version(entry("python", ">=2,<3")) is None
    assert exact_version(entry("python", None)) is None


GLOB_CASES = [
    ("src/db/**", "src/db/schema.ts", True),
    ("src/db/**", "src/db/migrations/0001_init.sql", True),
    ("src/db/**", "src/dbx/schema.ts", False),
    ("src/*.ts", "src/index.ts", True),
    ("src/*.ts", "src/db/index.ts", False),
    ("**/*.py", "main.py", True),
    ("**/*.py", "pkg/sub/main.py", True),
    ("src/**/test_*.py", "src/test_a.py", True),
    ("src/**/test_*.py", "src/x/y/test_a.py", True),
    ("src/**/test_*.py", "tests/test_a.py", False),
    ("*.md", "docs/guide.md", False),
    ("file?.txt", "file1.txt", True),
    ("file?.txt", "file/.txt", False),
    ("[abc].txt", "b.txt", True),
    ("[!abc].txt", "d.txt", True),
    ("[!abc].txt", "a.txt", False),
    ("./src/**", "src\\win\\path.ts", True),
    ("/README.md", "./README.md", True),
    ("a+b(c).txt", "a+b(c).txt", True),
    ("a+b(c).txt", "aab(c).txt", False),
    ("[oops", "[oops", True),
]


@pytest.mark.parametrize(("glob", "path", "expected"), GLOB_CASES)
def test_path_globs(glob, path, expected):
    assert path_matches(glob, path) is expected


# --- applies() -----------------------------------------------------------------------------


def test_no_applies_to_applies_everywhere():
    assert applies(None, MatchContext()) == Match(applies=True, matched=[], reasons=[])


def test_text_keys_match_case_insensitively_and_lists_match_any():
    page = AppliesTo(
        agent="OpenCode", model=["gemma", "qwen"], toolchain="shell", repo_type="python_cli"
    )
    context = MatchContext(
        agent="opencode", model="Qwen", toolchain="SHELL", repo_type="python_cli"
    )
    assert applies(page, context) == Match(
        applies=True, matched=["agent", "model", "toolchain", "repo_type"], reasons=[]
    )


def test_a_contradiction_excludes_and_an_unknown_does_not():
    page = AppliesTo(agent="opencode", model=["gemma", "qwen"], toolchain="shell")
    result = applies(page, MatchContext(agent="claude-code", toolchain="shell"))
    assert result == Match(
        applies=False,
        matched=["toolchain"],
        reasons=[
            "agent: page is for opencode, not claude-code",
            "model: unknown (page is for gemma | qwen; no model given)",
        ],
    )
    assert applies(page, MatchContext(agent="OpenCode")) == Match(
        applies=True,
        matched=["agent"],
        reasons=[
            "model: unknown (page is for gemma | qwen; no model given)",
            "toolchain: unknown (page is for shell; no toolchain given)",
        ],
    )


@pytest.fixture
def drizzle(tmp_path) -> LocalFacts:
    return read_local_facts(write_files(tmp_path / "drizzle", DRIZZLE_FILES))


def test_drizzle_kit_0_30_4_contradicts_a_page_for_0_31(drizzle):
    page = AppliesTo(library="drizzle-kit", versions=">=0.31,<1.0")
    assert applies(page, MatchContext(local=drizzle)) == Match(
        applies=False,
        matched=["library"],
        reasons=["versions: drizzle-kit 0.30.4 does not satisfy >=0.31,<1.0"],
    )


@pytest.mark.parametrize("versions", ["^0.30.0", "0.30.x", ">=0.30.4 <0.31.0", "~=0.30.0"])
def test_drizzle_kit_0_30_4_matches_a_page_for_0_30(drizzle, versions):
    page = AppliesTo(library="Drizzle-Kit", versions=versions)
    assert applies(page, MatchContext(local=drizzle)) == Match(
        applies=True, matched=["library", "versions"], reasons=[]
    )


def test_an_unparsable_versions_value_is_unknown(drizzle):
    page = AppliesTo(library="drizzle-kit", versions="the new one")
    assert applies(page, MatchContext(local=drizzle)) == Match(
        applies=True,
        matched=["library"],
        reasons=["versions: unknown (cannot compare drizzle-kit 0.30.4 with the new one)"],
    )


def test_a_library_list_matches_any_library_present(drizzle):
    page = AppliesTo(library=["prisma", "drizzle-kit"], versions="^0.30")
    assert applies(page, MatchContext(local=drizzle)) == Match(
        applies=True, matched=["library", "versions"], reasons=[]
    )


def test_a_library_the_repo_does_not_use_excludes(drizzle):
    page = AppliesTo(library="prisma", versions=">=5")
    assert applies(page, MatchContext(local=drizzle)) == Match(
        applies=False,
        matched=[],
        reasons=[
            "library: prisma is not used by this repository",
            "versions: unknown (no local version of prisma)",
        ],
    )


def test_library_from_the_context_without_local_facts():
    page = AppliesTo(library="react", versions=">=18")
    assert applies(page, MatchContext(libraries=["React"])) == Match(
        applies=True,
        matched=["library"],
        reasons=["versions: unknown (no local version of react)"],
    )
    assert applies(page, MatchContext(libraries=["vue"])).applies is False
    assert applies(page, MatchContext()) == Match(
        applies=True,
        matched=[],
        reasons=[
            "library: unknown (page is for react; no libraries or manifests given)",
            "versions: unknown (no local version of react)",
        ],
    )


def test_a_missing_library_is_unknown_when_manifests_could_not_be_read():
    local = LocalFacts(
        repo="/r",
        manifests=["package.json"],
        problems=[ManifestProblem(path="yarn.lock", message="unsupported manifest kind")],
    )
    result = applies(AppliesTo(library="prisma"), MatchContext(local=local))
    assert result == Match(
        applies=True,
        matched=[],
        reasons=["library: unknown (prisma not found, but some manifests could not be read)"],
    )


def test_versions_use_an_exact_declared_pin_when_nothing_is_locked():
    local = LocalFacts(
        repo="/r",
        manifests=["package.json"],
        versions={
            "zod": LocalVersion(name="zod", ecosystem="npm", declared="3.23.8", source="p"),
            "pg": LocalVersion(name="pg", ecosystem="npm", declared="^8.13.1", source="p"),
        },
    )
    context = MatchContext(local=local)
    assert applies(AppliesTo(library="zod", versions=">=3.22 <4"), context).matched == [
        "library",
        "versions",
    ]
    assert applies(AppliesTo(library="zod", versions="^3.24"), context).reasons == [
        "versions: zod 3.23.8 does not satisfy ^3.24"
    ]
    assert applies(AppliesTo(library="pg", versions=">=8"), context) == Match(
        applies=True,
        matched=["library"],
        reasons=["versions: unknown (pg has no locked or pinned version)"],
    )


def test_versions_without_a_library_are_unknown(drizzle):
    assert applies(AppliesTo(versions=">=1"), MatchContext(local=drizzle)) == Match(
        applies=True,
        matched=[],
        reasons=["versions: unknown (the page names no library to check >=1 against)"],
    )


def test_python_versions_come_from_the_lock(tmp_path):
    local = read_local_facts(write_files(tmp_path / "py", PYTHON_FILES))
    context = MatchContext(local=local)
    assert applies(AppliesTo(library="httpx", versions=">=0.28"), context).reasons == [
        "versions: httpx 0.27.2 does not satisfy >=0.28"
    ]
    assert applies(AppliesTo(library="HTTPX", versions="<1"), context).applies is True
    assert applies(AppliesTo(library="pyyaml", versions="~=6.0"), context).matched == [
        "library",
        "versions",
    ]


def test_paths_match_touched_files():
    page = AppliesTo(paths=["src/db/**", "drizzle.config.ts"])
    touched = MatchContext(files=["README.md", "src/db/schema.ts"])
    assert applies(page, touched) == Match(applies=True, matched=["paths"], reasons=[])
    assert applies(page, MatchContext(files=["README.md"])) == Match(
        applies=False,
        matched=[],
        reasons=["paths: no touched file matches src/db/**, drizzle.config.ts"],
    )
    assert applies(page, MatchContext()) == Match(
        applies=True,
        matched=[],
        reasons=[
            "paths: unknown (page is for src/db/**, drizzle.config.ts; no touched files given)"
        ],
    )


def test_every_key_together(drizzle):
    page = AppliesTo.model_validate(
        {
            "agent": "opencode",
            "library": "drizzle-kit",
            "versions": "^0.30.4",
            "paths": ["src/db/**"],
        }
    )
    context = MatchContext(agent="opencode", files=["src/db/schema.ts"], local=drizzle)
    assert applies(page, context) == Match(
        applies=True, matched=["agent", "library", "versions", "paths"], reasons=[]
    )
