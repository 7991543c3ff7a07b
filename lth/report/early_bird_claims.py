"""You et al.'s early-bird statements: the claim records the ``early_bird`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import Claim

YOU = "You et al. 2019 (Drawing Early-Bird Tickets), follow-ups post"
YOU_PAPER = "You et al. 2019 (Drawing Early-Bird Tickets, arXiv 1909.11957)"
CLAIMS = [
    Claim("eb_early", "early_bird", "early-bird tickets can be found very early in training: they appear within "
          "the first 10-20% of training at a large learning rate", YOU_PAPER, 20.0, "%",
          "latest early-bird epoch over the pruning ratios and trials, as a percent of the search's epochs (holds "
          "when at most 20% plus one epoch, the resolution of drawing once per epoch)"),
    Claim("eb_accuracy", "early_bird", "the early-bird ticket, retrained, performs as well as the ticket pruned "
          "after full training", YOU, 0.0, "pp",
          "retrained test accuracy: early-bird ticket minus after-training ticket, mean over the retrained ratios "
          "and trials (holds when not below 0 by more than the t tolerance of the paired differences)"),
    Claim("eb_savings", "early_bird", "the early-bird training scheme saves energy by x4.7", YOU, 4.7, "x",
          "training FLOPs (search + retraining, counted from the surviving channels of every step) of the "
          "after-training ticket over the early-bird ticket's, mean over the retrained tickets (FLOPs, not energy; "
          "holds when not below 4.7 by more than the t tolerance over them)"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
