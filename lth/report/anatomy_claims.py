"""The first version's anatomy statements (v1 §5): the claim records the ``anatomy`` page measures."""
from __future__ import annotations

from lth.report.ledger.records import V1, Claim

CLAIMS = [
    Claim("v1_tails_survive", "anatomy", "iterative pruning gradually results in approximately bimodal "
           "distributions of the surviving initial weights: the tails of the original normal distribution "
           "survive", V1 + " §5", 31.7, "%",
           "first hidden layer at the sparsest examined level: % of survivors with |w0| above one SD of the "
           "layer's initial weights (31.7% for an unpruned normal init; holds when significantly above)"),
    Claim("v1_few_units_cut_off", "anatomy", "winning tickets are quite sparse in connections but only a "
           "fraction of the units have been eliminated entirely (read here: fewer than half)", V1 + " §5", 50.0,
           "%", "% of both hidden layers' units with no surviving incoming connection at the sparsest examined "
           "level; 'a fraction' read as fewer than half: a chosen threshold"),
    Claim("v1_connections_proportional", "anatomy", "connections nearly decrease in proportion to the pruning rate",
          V1 + " §5", 1.0, "x", "first hidden layer at the sparsest examined level: the median unit's surviving "
          "share of its fan-in over the layer's surviving share of weights (1 = proportional; holds within a "
          "factor of 2, a chosen band for 'nearly')"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
