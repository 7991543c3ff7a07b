"""Frankle et al.'s rewinding and linear-mode-connectivity statements: the claim records the
``rewinding`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import Claim

FRANKLE_LMC = "Frankle et al. 2020 (rewinding, linear mode connectivity); beyond the seeds"
CLAIMS = [
    *[c for net, title in (("vgg19", "VGG-19"), ("resnet20", "ResNet-20")) for c in (
        Claim(f"{net}_rewind0_no_better_than_reinit", "rewinding", f"{title} at learning rate 0.1: tickets found "
              "with rewinding to iteration 0 do no better than random reinitialisation", FRANKLE_LMC, 0.0, "pp",
              "sparsest level: ticket (k = 0, both copies) minus reinit test accuracy (holds when not above 0 by "
              "more than the t tolerance from the copies' spread)"),
        Claim(f"{net}_late_rewind_recovers", "rewinding", f"{title}: rewinding to an early iteration k > 0 "
              "recovers winning tickets (they beat random reinitialisation)", FRANKLE_LMC, 0.0, "pp",
              "sparsest level: the best k > 0's ticket (both copies) minus reinit test accuracy (holds when "
              "significantly above 0)"),
        Claim(f"{net}_matching_tickets_stable", "rewinding", f"{title}: the tickets that match the dense "
              "accuracy are the stable ones (test error rises by less than 2 points between two copies)",
              FRANKLE_LMC, 0.0, "k values",
              "sparsest level: number of k at which 'matches dense' (ticket accuracy not below the dense copies' "
              "by more than the tolerance) and 'stable' (instability < 2 points) disagree (holds at 0)"))],
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
