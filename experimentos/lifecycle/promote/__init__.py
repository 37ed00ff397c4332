"""The promotion gate: measured evidence in, an accepted page (as a proposal) out.

    scope.py       which comparison of a matrix speaks for a page (its ablation, else `brief`
                   vs `none` on the fixtures that name it in guardedBy or match its appliesTo),
                   and whether the page was in the knowledge those runs were served
    gate.py        the gate: an improvement the report calls significant, no significant
                   regression elsewhere (Holm), from experimentos.reports' library API
    proposal.py    `promote`: a proposal that accepts the page with the review the evidence
                   gives, or a named reviewer's explicit override
    candidates.py  `candidates EXP`: what each matrix suggests (promote, demote, retest)

It reads matrix reports, so it sits above experimentos.reports in tests/test_layout.py
(experimentos.lifecycle.promote: 7), while the rest of experimentos.lifecycle stays at 4.
"""

from experimentos.lifecycle.promote.candidates import Candidate, CandidatesResult, candidates
from experimentos.lifecycle.promote.gate import DEFAULT_METRIC, GateResult, compute_gate, gate_for
from experimentos.lifecycle.promote.proposal import PromotionResult, promote

__all__ = [
    "DEFAULT_METRIC",
    "Candidate",
    "CandidatesResult",
    "GateResult",
    "PromotionResult",
    "candidates",
    "compute_gate",
    "gate_for",
    "promote",
]
