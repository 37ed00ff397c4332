import json

import jsonschema
import pytest

from experimentos.lab.assertions import create_test, evaluate_test
from experimentos.lab.experiments import new_experiment, set_experiment_status
from experimentos.lab.runs import append_event, finish_run, read_run, start_run
from experimentos.models.lab import Experiment, ExperimentTest, RunRecord
from experimentos.schema import render_schemas
from experimentos.store.records import load_record


def validator(name):
    return jsonschema.Draft202012Validator(json.loads(render_schemas()[name]))


def test_records_written_by_the_library_match_their_schemas(empty_kb):
    exp = new_experiment(empty_kb, "Schema", "sweep", hypothesis="h")
    set_experiment_status(empty_kb, "schema", "running", "go")
    run = start_run(empty_kb, "schema", "t", agent="a").model
    append_event(empty_kb, run.id, "test_run", {"passed": True})
    finish_run(empty_kb, run.id, outcome="success", summary="s")
    test = create_test(empty_kb, "schema", "ok", {"kind": "run_outcome"})
    evaluate_test(empty_kb, test.model.id)
    cases = [
        ("experiment.schema.json", exp.path, Experiment),
        ("test.schema.json", test.path, ExperimentTest),
        ("run.schema.json", read_run(empty_kb, run.id).path, RunRecord),
    ]
    for name, rel, model in cases:
        data = load_record(empty_kb.root, rel, model).model.model_dump(mode="json", by_alias=True)
        errors = [e.message for e in validator(name).iter_errors(data)]
        assert errors == [], (name, errors)
    log = (empty_kb.root / rel).with_name(f"{run.id}.events.jsonl")
    event = json.loads(log.read_text().splitlines()[0])
    assert validator("run-event.schema.json").is_valid(event)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({}, True),
        ({"type": "x-custom", "payload": {"free": 1}}, True),
        ({"payload": {"passed": "yes"}}, False),
        ({"payload": {"passed": True, "extra": 1}}, False),
        ({"type": "unknown"}, False),
        ({"source": "human"}, False),
        ({"step": 0}, False),
    ],
)
def test_event_schema_carries_the_payload_contract(change, valid):
    event = {
        "step": 1,
        "ts": "2026-04-26T10:00:00.000Z",
        "type": "test_run",
        "source": "agent",
        "payload": {"passed": True},
    }
    assert validator("run-event.schema.json").is_valid({**event, **change}) is valid


def test_experiment_schema_rejects_what_the_model_rejects():
    v = validator("experiment.schema.json")
    base = {"id": "experiment.a", "name": "A", "kind": "ml", "created": "2026-04-26T10:00:00Z"}
    assert v.is_valid(base)
    assert not v.is_valid({**base, "kind": "toy"})
    assert not v.is_valid({**base, "status": "done"})
    assert not v.is_valid({**base, "id": "experiment.a.b"})
    assert not v.is_valid({**base, "parent": "../x"})
