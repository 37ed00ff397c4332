import json

import jsonschema
import yaml

from experimentos.schema import render_schemas, stale_schemas
from experimentos.store import split_id

from .conftest import PROJECT


def test_checked_in_schema_is_up_to_date():
    assert stale_schemas(PROJECT / "schemas") == [], "run `experimentos schema export`"


def test_schema_validates_starter_frontmatter_as_an_editor_would(kb):
    """YAML language servers read unquoted dates as strings: load without type resolution."""
    schema = json.loads(render_schemas()["page.schema.json"])
    validator = jsonschema.Draft202012Validator(schema)
    docs = kb.scan().documents
    for doc in docs:
        frontmatter = doc.raw.decode().split("---\n")[1]
        data = yaml.load(frontmatter, Loader=yaml.BaseLoader)  # noqa: S506 - strings only
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], (doc.path, errors)


def test_schema_rejects_what_the_model_rejects():
    validator = jsonschema.Draft202012Validator(json.loads(render_schemas()["page.schema.json"]))
    base = {"id": "policy.p", "type": "policy", "title": "T"}
    assert validator.is_valid(base)
    assert not validator.is_valid({**base, "status": "maybe"})
    assert not validator.is_valid({**base, "dependson": []})
    assert not validator.is_valid({**base, "id": "policy.a..b"})
    assert not validator.is_valid({**base, "dependsOn": ["../etc/passwd"]})
    split_id(base["id"])
