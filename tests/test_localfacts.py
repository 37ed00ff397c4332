from __future__ import annotations

import json

import pytest

from experimentos.errors import NotFound
from experimentos.repofacts import facts as localfacts
from experimentos.repofacts.facts import LocalVersion, ManifestProblem, read_local_facts

from .conftest import write_files

DRIZZLE_PACKAGE_JSON = json.dumps(
    {
        "name": "shop-api",
        "version": "1.0.0",
        "private": True,
        "type": "module",
        "scripts": {"db:generate": "drizzle-kit generate", "build": "tsc -p ."},
        "dependencies": {"drizzle-orm": "^0.38.2", "pg": "^8.13.1", "zod": "3.23.8"},
        "devDependencies": {
            "drizzle-kit": "^0.30.4",
            "typescript": "~5.6.3",
            "@types/pg": "^8.11.10",
        },
        "optionalDependencies": {"fsevents": "2.3.3"},
        "peerDependencies": {"pg": ">=8", "react": ">=18"},
    },
    indent=2,
)


def _lock_entry(name: str, version: str, **extra: object) -> dict:
    return {
        "version": version,
        "resolved": f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-{version}.tgz",
        "integrity": "sha512-" + "A" * 86 + "==",
        **extra,
    }


DRIZZLE_PACKAGE_LOCK = json.dumps(
    {
        "name": "shop-api",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": {
            "": {
                "name": "shop-api",
                "version": "1.0.0",
                "dependencies": {"drizzle-orm": "^0.38.2", "pg": "^8.13.1", "zod": "3.23.8"},
                "devDependencies": {"drizzle-kit": "^0.30.4", "typescript": "~5.6.3"},
            },
            "node_modules/drizzle-kit": _lock_entry("drizzle-kit", "0.30.4", dev=True),
            "node_modules/drizzle-kit/node_modules/esbuild": _lock_entry("esbuild", "0.18.20"),
            "node_modules/drizzle-orm": _lock_entry("drizzle-orm", "0.38.3"),
            "node_modules/esbuild": _lock_entry("esbuild", "0.19.12", dev=True),
            "node_modules/pg": _lock_entry("pg", "8.13.1"),
            "node_modules/@types/pg": _lock_entry("@types/pg", "8.11.10", dev=True),
            "node_modules/typescript": _lock_entry("typescript", "5.6.3", dev=True),
            "node_modules/fsevents": _lock_entry("fsevents", "2.3.3", optional=True),
        },
    },
    indent=2,
)

DRIZZLE_FILES = {
    "package.json": DRIZZLE_PACKAGE_JSON,
    "package-lock.json": DRIZZLE_PACKAGE_LOCK,
    "src/db/schema.ts": "export const users = pgTable('users', {});\n",
    # Not at the root: never read.
    "packages/web/package.json": json.dumps({"dependencies": {"next": "15.1.0"}}),
}

PYTHON_PYPROJECT = """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "weather-cli"
version = "0.3.0"
requires-python = ">=3.11"
dependencies = [
    "httpx>=0.27,<1",
    "pydantic >= 2, < 3",
    "typer[all]==0.12.5",
    "rich",
    "tomli>=1.1.0; python_version < '3.11'",
    "Click (>=8.1)",
]

[project.optional-dependencies]
dev = ["pytest>=8", "ruff==0.6.9"]

[dependency-groups]
docs = ["mkdocs-material>=9.5", {include-group = "lint"}]
lint = ["mypy~=1.13"]

[project.scripts]
weather = "weather_cli.main:app"
"""

PYTHON_UV_LOCK = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "anyio"
version = "4.6.2.post1"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "idna" }, { name = "sniffio" }]
sdist = { url = "https://files.pythonhosted.org/anyio-4.6.2.post1.tar.gz", hash = "sha256:4c8b" }

[[package]]
name = "httpx"
version = "0.27.2"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "anyio" }, { name = "certifi" }]

[[package]]
name = "pydantic"
version = "2.9.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "rich"
version = "13.9.2"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "typer"
version = "0.12.5"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "weather-cli"
version = "0.3.0"
source = { editable = "." }
dependencies = [{ name = "httpx" }, { name = "pydantic" }]
"""

PYTHON_REQUIREMENTS = """\
# Pinned for the deployment image; regenerate with pip-compile.
-r requirements-base.txt
--index-url https://pypi.org/simple
httpx==0.27.2 \\
    --hash=sha256:7bb2708e112d8fdd7829cd4243970f0c223274051cb35ee80c03301ee29a3f0
PyYAML==6.0.2 ; python_version >= "3.8"  # yaml config files
Jinja2[i18n]>=3.1,<4
ruamel.yaml==0.18.6

-e ./vendor/localpkg
git+https://github.com/psf/requests.git@main#egg=requests
requests @ https://example.com/requests-2.32.3.tar.gz
./wheels/private-1.0-py3-none-any.whl
"""

PYTHON_FILES = {
    "pyproject.toml": PYTHON_PYPROJECT,
    "uv.lock": PYTHON_UV_LOCK,
    "requirements.txt": PYTHON_REQUIREMENTS,
    "requirements-dev.txt": "pytest==8.3.3\ncoverage[toml]>=7.6\n",
}


def npm(name, declared, locked, source, direct=None) -> LocalVersion:
    direct = declared is not None if direct is None else direct
    return LocalVersion(
        name=name, ecosystem="npm", declared=declared, locked=locked, source=source, direct=direct
    )


def py(name, declared, locked, source, direct=None) -> LocalVersion:
    direct = declared is not None if direct is None else direct
    return LocalVersion(
        name=name,
        ecosystem="python",
        declared=declared,
        locked=locked,
        source=source,
        direct=direct,
    )


def test_npm_repo_with_package_lock_v3(tmp_path):
    facts = read_local_facts(write_files(tmp_path, DRIZZLE_FILES))
    assert facts.repo == str(tmp_path)
    assert facts.manifests == ["package.json", "package-lock.json"]
    assert facts.problems == []
    lock, manifest = "package-lock.json", "package.json"
    assert facts.versions == {
        "drizzle-orm": npm("drizzle-orm", "^0.38.2", "0.38.3", lock),
        "pg": npm("pg", "^8.13.1", "8.13.1", lock),
        "zod": npm("zod", "3.23.8", None, manifest),
        "drizzle-kit": npm("drizzle-kit", "^0.30.4", "0.30.4", lock),
        "typescript": npm("typescript", "~5.6.3", "5.6.3", lock),
        "@types/pg": npm("@types/pg", "^8.11.10", "8.11.10", lock),
        "fsevents": npm("fsevents", "2.3.3", "2.3.3", lock),
        "react": npm("react", ">=18", None, manifest),
        # hoisted transitive dependency; the nested esbuild 0.18.20 is not the root's
        "esbuild": npm("esbuild", None, "0.19.12", lock),
    }
    assert facts.get("Drizzle-Kit") == facts.versions["drizzle-kit"]
    assert facts.get("next") is None


def test_npm_names_are_lowercased_and_v1_lock_is_read(tmp_path):
    files = {
        "package.json": json.dumps({"dependencies": {"JSONStream": "^1.3.5", "left-pad": "1.x"}}),
        "package-lock.json": json.dumps(
            {
                "name": "old-app",
                "lockfileVersion": 1,
                "requires": True,
                "dependencies": {
                    "JSONStream": {"version": "1.3.5", "requires": {"through": ">=2.2.7 <3"}},
                    "left-pad": {"version": "1.3.0", "integrity": "sha512-x"},
                    "through": {"version": "2.3.8"},
                },
            }
        ),
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.problems == []
    assert facts.versions == {
        "jsonstream": npm("JSONStream", "^1.3.5", "1.3.5", "package-lock.json"),
        "left-pad": npm("left-pad", "1.x", "1.3.0", "package-lock.json"),
        "through": npm("through", None, "2.3.8", "package-lock.json"),
    }


def test_npm_shrinkwrap_is_read_like_a_package_lock(tmp_path):
    lock = {"lockfileVersion": 2, "packages": {"node_modules/ms": {"version": "2.1.3"}}}
    facts = read_local_facts(write_files(tmp_path, {"npm-shrinkwrap.json": json.dumps(lock)}))
    assert facts.versions == {"ms": npm("ms", None, "2.1.3", "npm-shrinkwrap.json")}


PNPM_V9 = """\
lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      next:
        specifier: ^15.1.0
        version: 15.1.0(react-dom@19.0.0(react@19.0.0))(react@19.0.0)
      react:
        specifier: ^19.0.0
        version: 19.0.0
    devDependencies:
      typescript:
        specifier: ^5.7.2
        version: 5.7.2

  packages/ui:
    dependencies:
      clsx:
        specifier: ^2.1.1
        version: 2.1.1

packages:

  next@15.1.0:
    resolution: {integrity: sha512-abc}
    engines: {node: ^18.18.0 || ^19.8.0 || >= 20.0.0}
"""

PNPM_V6_SINGLE = """\
lockfileVersion: '6.0'

dependencies:
  lodash:
    specifier: ^4.17.21
    version: 4.17.21

devDependencies:
  vitest:
    specifier: ^1.0.0
    version: 1.6.0(@types/node@20.11.0)
"""

PNPM_V5 = """\
lockfileVersion: 5.4

specifiers:
  react: ^18.2.0
  styled-components: ^5.3.6
  typescript: ^4.9.4

dependencies:
  react: 18.2.0
  styled-components: 5.3.6_react@18.2.0

devDependencies:
  typescript: 4.9.4
"""


def test_pnpm_lock_v9_reads_the_root_importer_and_drops_peer_suffixes(tmp_path):
    files = {
        "package.json": json.dumps({"dependencies": {"next": "^15.1.0", "react": "^19.0.0"}}),
        "pnpm-lock.yaml": PNPM_V9,
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.manifests == ["package.json", "pnpm-lock.yaml"]
    assert facts.problems == []
    assert facts.versions == {
        "next": npm("next", "^15.1.0", "15.1.0", "pnpm-lock.yaml"),
        "react": npm("react", "^19.0.0", "19.0.0", "pnpm-lock.yaml"),
        "typescript": npm("typescript", None, "5.7.2", "pnpm-lock.yaml"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PNPM_V6_SINGLE, {"lodash": "4.17.21", "vitest": "1.6.0"}),
        (PNPM_V5, {"react": "18.2.0", "styled-components": "5.3.6", "typescript": "4.9.4"}),
    ],
)
def test_pnpm_lock_older_formats_at_top_level(tmp_path, text, expected):
    facts = read_local_facts(write_files(tmp_path, {"pnpm-lock.yaml": text}))
    assert facts.problems == []
    assert {key: v.locked for key, v in facts.versions.items()} == expected


def test_python_repo_with_pyproject_uv_lock_and_requirements(tmp_path):
    facts = read_local_facts(write_files(tmp_path, PYTHON_FILES))
    assert facts.manifests == [
        "pyproject.toml",
        "requirements-dev.txt",
        "requirements.txt",
        "uv.lock",
    ]
    assert facts.problems == []
    pyproject, uv = "pyproject.toml", "uv.lock"
    assert facts.versions == {
        "httpx": py("httpx", ">=0.27,<1", "0.27.2", uv),
        "pydantic": py("pydantic", ">=2,<3", "2.9.2", uv),
        "typer": py("typer", "==0.12.5", "0.12.5", uv),
        "rich": py("rich", None, "13.9.2", uv, direct=True),
        "tomli": py("tomli", ">=1.1.0", None, pyproject),
        "click": py("Click", ">=8.1", None, pyproject),
        "pytest": py("pytest", ">=8", "8.3.3", "requirements-dev.txt"),
        "ruff": py("ruff", "==0.6.9", "0.6.9", pyproject),
        "mkdocs-material": py("mkdocs-material", ">=9.5", None, pyproject),
        "mypy": py("mypy", "~=1.13", None, pyproject),
        "coverage": py("coverage", ">=7.6", None, "requirements-dev.txt"),
        "pyyaml": py("PyYAML", "==6.0.2", "6.0.2", "requirements.txt"),
        "jinja2": py("Jinja2", ">=3.1,<4", None, "requirements.txt"),
        "ruamel-yaml": py("ruamel.yaml", "==0.18.6", "0.18.6", "requirements.txt"),
        "anyio": py("anyio", None, "4.6.2.post1", uv),
    }
    # URL and path requirements are skipped; the project itself is not its own dependency.
    assert facts.get("requests") is None
    assert facts.get("weather_cli") is None
    assert facts.get("Ruamel_YAML") == facts.versions["ruamel-yaml"]


POETRY_PYPROJECT = """\
[tool.poetry]
name = "legacy-app"
version = "1.4.0"
description = ""
authors = ["A <a@example.com>"]

[tool.poetry.dependencies]
python = "^3.10"
Django = "^4.2"
celery = {version = "5.3.6", extras = ["redis"]}
numpy = [
    {version = "<1.25", python = "<3.9"},
    {version = "^1.26", python = ">=3.9"},
]
mylib = {path = "../mylib", develop = true}
requests = "==2.31.0"

[tool.poetry.group.dev.dependencies]
pytest = "^7.4"
black = "23.12.1"

[build-system]
requires = ["poetry-core"]
build-backend = "poetry.core.masonry.api"
"""

POETRY_LOCK = """\
# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "django"
version = "4.2.16"
description = "A high-level Python web framework."
optional = false
python-versions = ">=3.8"
files = [
    {file = "Django-4.2.16-py3-none-any.whl", hash = "sha256:1ddc333a16fc"},
]

[package.dependencies]
asgiref = ">=3.6.0,<4"

[[package]]
name = "pytest"
version = "7.4.4"
description = "pytest: simple powerful testing with Python"
optional = false
python-versions = ">=3.7"
files = []

[metadata]
lock-version = "2.0"
python-versions = "^3.10"
content-hash = "0f3c5a"
"""


def test_poetry_tables_groups_and_poetry_lock(tmp_path):
    files = {"pyproject.toml": POETRY_PYPROJECT, "poetry.lock": POETRY_LOCK}
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.manifests == ["pyproject.toml", "poetry.lock"]
    assert facts.problems == []
    pyproject, lock = "pyproject.toml", "poetry.lock"
    assert facts.versions == {
        "django": py("Django", "^4.2", "4.2.16", lock),
        "celery": py("celery", "5.3.6", "5.3.6", pyproject),
        "numpy": py("numpy", None, None, pyproject, direct=True),
        "mylib": py("mylib", None, None, pyproject, direct=True),
        "requests": py("requests", "==2.31.0", "2.31.0", pyproject),
        "pytest": py("pytest", "^7.4", "7.4.4", lock),
        "black": py("black", "23.12.1", "23.12.1", pyproject),
    }
    assert "python" not in facts.versions


def test_lock_wins_over_a_pin_whatever_the_order(tmp_path):
    files = {
        "requirements.txt": "httpx==0.26.0\n",
        "uv.lock": '[[package]]\nname = "httpx"\nversion = "0.27.2"\n',
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.versions["httpx"] == py("httpx", "==0.26.0", "0.27.2", "uv.lock")


def test_malformed_files_are_reported_and_the_rest_is_read(tmp_path):
    files = {
        "package.json": '{"dependencies": {"left-pad": "1.3.0",}}',
        "package-lock.json": "[]",
        "pnpm-lock.yaml": "importers:\n  .: [unclosed\n",
        "pyproject.toml": '[project]\ndependencies = ["httpx>=0.27"\n',
        "uv.lock": 'package = "not a table"\n',
        "poetry.lock": '[[package]]\nname = "django"\nversion = "4.2.16"\n',
        "requirements.txt": "flask>=3.0\nnot a requirement!!\n\nitsdangerous==2.2.0\n",
        "yarn.lock": "# yarn lockfile v1\n",
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.manifests == ["requirements.txt", "poetry.lock"]
    assert facts.versions == {
        "flask": py("flask", ">=3.0", None, "requirements.txt"),
        "itsdangerous": py("itsdangerous", "==2.2.0", "2.2.0", "requirements.txt"),
        "django": py("django", None, "4.2.16", "poetry.lock"),
    }
    by_path = {p.path: p.message for p in facts.problems}
    assert [p.path for p in facts.problems] == [
        "package.json",
        "pyproject.toml",
        "requirements.txt",
        "package-lock.json",
        "pnpm-lock.yaml",
        "uv.lock",
        "yarn.lock",
    ]
    assert by_path["package.json"].startswith("invalid JSON: ")
    assert "(line 1, column " in by_path["package.json"]
    assert by_path["pyproject.toml"].startswith("invalid TOML: ")
    assert by_path["pnpm-lock.yaml"].startswith("invalid YAML: ")
    assert all("\n" not in p.message for p in facts.problems)
    assert by_path["requirements.txt"].startswith(
        "line 2: invalid requirement 'not a requirement!!': "
    )
    assert by_path["package-lock.json"] == "top level: expected a mapping, got list"
    assert by_path["uv.lock"] == "package: expected an array of tables"
    assert by_path["yarn.lock"] == "unsupported manifest kind; its versions were not read"


def test_wrong_shapes_inside_a_readable_file_are_reported(tmp_path):
    files = {
        "package.json": json.dumps(
            {
                "dependencies": ["left-pad"],
                "devDependencies": {"vitest": 1, "eslint": "^9.0.0"},
            }
        ),
        "pyproject.toml": (
            '[project]\ndependencies = "httpx"\n'
            '[project.optional-dependencies]\ntest = [3, "pytest>=8", "bad spec ==="]\n'
        ),
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.manifests == ["package.json", "pyproject.toml"]
    assert set(facts.versions) == {"eslint", "pytest"}
    messages = [(p.path, p.message.split(":", 2)[0:2]) for p in facts.problems]
    assert messages[:3] == [
        ("package.json", ["dependencies", " expected a mapping, got list"]),
        ("package.json", ["devDependencies.vitest", " expected a string"]),
        ("pyproject.toml", ["project.dependencies", " expected a list, got str"]),
    ]
    assert facts.problems[3] == ManifestProblem(
        path="pyproject.toml",
        message="project.optional-dependencies.test: expected a requirement string, got 3",
    )
    assert facts.problems[4].message.startswith(
        "project.optional-dependencies.test: invalid requirement 'bad spec ===': "
    )
    assert len(facts.problems) == 5


def test_files_over_the_size_limit_and_bad_encodings_are_problems(tmp_path, monkeypatch):
    monkeypatch.setattr(localfacts, "MAX_MANIFEST_BYTES", 64)
    files = {
        "package.json": json.dumps({"dependencies": {f"pkg{i}": "^1.0.0" for i in range(10)}}),
        "requirements.txt": b"flask==3.0.0\n\xff\xfe\n",
        "requirements-ok.txt": "flask==3.0.0\n",
    }
    facts = read_local_facts(write_files(tmp_path, files))
    assert facts.manifests == ["requirements-ok.txt"]
    assert facts.problems == [
        ManifestProblem(path="package.json", message="file is larger than 64 bytes; not read"),
        ManifestProblem(path="requirements.txt", message="file is not valid UTF-8"),
    ]


def test_a_byte_order_mark_is_accepted(tmp_path):
    text = "\ufeff" + json.dumps({"dependencies": {"ms": "2.1.3"}})
    facts = read_local_facts(write_files(tmp_path, {"package.json": text}))
    assert facts.problems == []
    assert facts.versions == {"ms": npm("ms", "2.1.3", None, "package.json")}


def test_an_empty_repo_has_no_facts(tmp_path):
    facts = read_local_facts(tmp_path)
    assert facts.model_dump() == {
        "repo": str(tmp_path),
        "versions": {},
        "manifests": [],
        "problems": [],
    }


def test_a_missing_repo_is_an_error(tmp_path):
    with pytest.raises(NotFound):
        read_local_facts(tmp_path / "nope")


DEEP = 100_000
DEEP_MANIFESTS = {
    "package.json": '{"a":' * DEEP + "1" + "}" * DEEP,
    "pyproject.toml": "a = " + "[" * DEEP + "]" * DEEP + "\n",
    "pnpm-lock.yaml": "a: " + "[" * DEEP + "]" * DEEP + "\n",
}


@pytest.mark.parametrize("name", sorted(DEEP_MANIFESTS))
def test_a_deeply_nested_manifest_is_a_problem_not_a_crash(tmp_path, name):
    write_files(tmp_path, {name: DEEP_MANIFESTS[name], "requirements.txt": "httpx==0.27.0\n"})
    facts = read_local_facts(tmp_path)
    assert [(p.path, "nested too deeply" in p.message) for p in facts.problems] == [(name, True)]
    assert facts.get("httpx").locked == "0.27.0"  # the other files are still read


def test_brief_is_built_over_deeply_nested_manifests(kb, cli, tmp_path):
    import anyio
    import mcp

    from experimentos.mcp.server import build_server
    from experimentos.store import Workspace

    config = kb.root / "experimentos.toml"  # full-text only: this is about manifests
    config.write_text(config.read_text().replace('"minilm"', '"none"'), encoding="utf-8")
    kb = Workspace(kb.root)
    repo = write_files(tmp_path / "target", DEEP_MANIFESTS)
    result = cli(kb.root, "brief", "bump drizzle-kit", "--repo", str(repo), "--json")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    problems = json.loads(result.stdout)["manifest_problems"]
    assert {p["path"] for p in problems} == set(DEEP_MANIFESTS)

    async def main():
        async with mcp.Client(build_server(kb)) as client:
            return await client.call_tool(
                "get_work_brief", {"task": "bump drizzle-kit", "repo": str(repo)}
            )

    answer = anyio.run(main)
    assert not answer.is_error, answer.content
    assert "package.json" in answer.structured_content["markdown"]
