"""The promotion gate: measured evidence in, an accepted page (as a proposal) out.

    scope.py       which comparison of a matrix speaks for a page (its ablation, else `brief`
                   vs `none` on the fixtures that name it in guardedBy or match its appliesTo),
                   and whether the page was in the knowledge those runs were served
    gate.py        the gate: an improvement the report calls significant, no significant
                   regression elsewhere (Holm), from experimentos.reports' library API
    proposal.py    `promote`: a proposal that accepts the page with the review the evidence
                   gives, or a named reviewer's explicit override
    candidates.py  `candidates EXP`: what each matrix suggests (promote, demote, retest)

It reads matrix reports, so it is a part of its own above experimentos.reports
(tests/test_layout.py).
"""

from experimentos.promote.candidates import Candidate, CandidatesResult, candidates
from experimentos.promote.gate import DEFAULT_METRIC, GateResult, compute_gate, gate_for
from experimentos.promote.proposal import PromotionResult, promote

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
