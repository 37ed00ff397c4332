"""Runs: records, the append-only event log, metrics and the completion contract.

Public API (each takes a Workspace):
    start_run, finish_run, read_run, list_runs               (records)
    append_event, append_events, read_events                  (events; contract: contract.py)
    compute_metrics                                           (metrics from events)
    validate_completion, next_required_action                 (completion contract)
"""

from experimentos.lab.runs.completion import (
    CompletionReport,
    NextAction,
    completion_report,
    next_required_action,
    validate_completion,
)
from experimentos.lab.runs.events import EventLog, append_event, append_events, read_events
from experimentos.lab.runs.metrics import RunMetrics, compute_metrics
from experimentos.lab.runs.records import finish_run, list_runs, read_run, start_run

__all__ = [
    "CompletionReport",
    "EventLog",
    "NextAction",
    "RunMetrics",
    "append_event",
    "append_events",
    "completion_report",
    "compute_metrics",
    "finish_run",
    "list_runs",
    "next_required_action",
    "read_events",
    "read_run",
    "start_run",
    "validate_completion",
]
