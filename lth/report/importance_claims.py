"""Vandersmissen & Oramas' statements (layerwise importance): the claim records the ``importance``
page measures."""
from __future__ import annotations

from lth.report.ledger.records import Claim

VANDERSMISSEN = "Vandersmissen & Oramas (layerwise importance), abstract"
VANDERSMISSEN_SEED = "Vandersmissen & Oramas, introduction (seed 003)"
CLAIMS = [
    Claim("vo_little_overlap", "importance", "given a repeatable training procedure, different importance metrics "
          "lead to distinct lottery tickets with little overlapping connections", VANDERSMISSEN, 0.5, "",
          "sparsest level: (IoU of two metrics' tickets of one trial - IoU of one metric's tickets of two trials) / "
          "(1 - the latter), mean over metric pairs: 0 = as unrelated as tickets of different seeds, 1 = identical; "
          "holds when not above 0.5 (closer to unrelated than to identical; a chosen threshold) by more than "
          "the t tolerance over trials"),
    Claim("vo_performant", "importance", "... distinct performant lottery tickets", VANDERSMISSEN, 0.0, "pp",
          "test accuracy at early stop, mean over the pruned levels and trials: the worst metric minus global "
          "magnitude (holds when not below 0 by more than the tolerance from the trial spread at every level)"),
    Claim("vo_match_dense", "importance", "when fully trained, [lottery tickets] reach a similar or better "
          "performance than their dense counterpart", VANDERSMISSEN_SEED, 0.0, "pp",
          "global-magnitude tickets: mean test accuracy at early stop over the pruned levels and trials minus "
          "the dense net's (holds when not below 0 beyond the tolerance)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
