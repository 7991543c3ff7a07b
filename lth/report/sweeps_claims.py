"""The first version's parameter-sweep statements (v1 §6): the claim records the ``sweeps`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import V1, Claim

V1_SWEEPS = V1 + " §6"
CLAIMS = [
    Claim("v1_larger_init_slower", "sweeps", "with standard deviations >= 0.1, convergence times become "
                 "slower with larger standard deviations", V1_SWEEPS, 1.0, "x",
                 "largest sigma / sigma 0.1: mean over trials of each trial's mean early-stop iteration over the "
                 "pruned levels (holds when significantly above 1)", contrast=None),
    Claim("v1_larger_init_less_accurate", "sweeps", "... and accuracy decreases with larger standard "
                 "deviations", V1_SWEEPS, 0.0, "pp",
                 "sigma 0.1 minus the largest sigma: test accuracy at early stop, per-trial means over the pruned "
                 "levels (holds when significantly above 0)"),
    Claim("v1_smaller_init_more_accurate", "sweeps", "with standard deviations <= 0.1, accuracy increases "
                 "as standard deviations decrease", V1_SWEEPS, 0.0, "pp",
                 "smallest sigma minus sigma 0.1: test accuracy at early stop, per-trial means over the pruned "
                 "levels (holds when significantly above 0)"),
    Claim("v1_smaller_init_slower", "sweeps", "... while convergence times become slower", V1_SWEEPS, 1.0,
                 "x", "smallest sigma / sigma 0.1: per-trial mean early-stop iteration over the pruned levels "
                 "(holds when significantly above 1)"),
    Claim("v1_aggressive_rate_less_accurate", "sweeps", "winning tickets extracted by aggressive pruning "
                 "(e.g. 70% or 50% per round) have poorer accuracy than tickets pruned more slowly", V1_SWEEPS,
                 0.0, "pp", "rate 0.2 minus the largest rate: test accuracy at early stop at the pair of their levels "
                 "with the closest Pm (holds when significantly above 0)"),
    Claim("v1_aggressive_rate_slower", "sweeps", "... and poorer convergence times", V1_SWEEPS, 1.0, "x",
                 "largest rate / rate 0.2: early-stop iteration at those levels (holds when significantly above 1)"),
    Claim("v1_ticket_size_grows", "sweeps", "the winning ticket size (smallest network that minimises "
                 "convergence time) gradually increases with the size of the original network (one-shot)",
                 V1_SWEEPS, 0.0, "rho", "Spearman rank correlation of original size and one-shot ticket size "
                 "(weights at the level of minimum mean early-stop iteration) over the sizes (holds when above the "
                 "one-sided 5% critical value)"),
    Claim("v1_ticket_size_grows_accuracy", "sweeps", "the accuracy based definition (the smallest network "
          "that maximises accuracy) found similar results although the differences were smaller", V1_SWEEPS, 0.0,
          "rho", "as above, with the one-shot level of maximum mean test accuracy at early stop"),
    Claim("v1_iterative_tickets_smaller", "sweeps", "with iterative pruning the minimum convergence times "
                 "occur at much smaller sizes than with one-shot pruning", V1_SWEEPS, 100.0, "% of sizes",
                 "share of the network sizes whose iterative ticket (level of minimum mean early-stop iteration) is "
                 "smaller than its one-shot ticket (read as written: every size); the median size factor shown"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
