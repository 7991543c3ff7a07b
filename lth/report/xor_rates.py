"""What the XOR pages share about success rates: the pruning modes' and heuristics' names, the paper's sampling
error, and the verdict of a difference of two rates (binomial standard errors)."""
from __future__ import annotations

import math
from typing import Any

from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import at_least, exceeds
from lth.report.ledger.statistics import Tolerance, t_quantile

HEURISTIC_NAMES = {"input_magnitude": "Input magnitude", "output_magnitude": "Output magnitude",
                   "product": "Product"}
MODE_NAMES = {"one_shot": "One-shot", "iterative": "Iterative"}


def paper_se(paper: float, trials: int) -> float:
    """Binomial standard error (pp) of a rate ``paper`` % measured on ``trials`` nets (the paper's trial count
    is not stated: we assume it ran as many as we do)."""
    p = paper / 100
    return 100 * math.sqrt(p * (1 - p) / trials)


def difference_verdict(claim: Claim, a: dict[str, Any], b: dict[str, Any],
                       paper_rates: tuple[float, float] | None = None) -> Verdict:
    """DB rate of ``a`` minus ``b``: significantly above 0, or (given the paper's two rates: 'much higher') not
    below the paper's difference beyond the sampling error of ours and the paper's."""
    paper_effect = paper_rates is not None
    z = t_quantile(math.inf)
    ses = [a["db_se"], b["db_se"]]
    if paper_effect:
        ses += [paper_se(p, a["trials"]) for p in paper_rates]
    tol = Tolerance(z * math.sqrt(sum(se ** 2 for se in ses)),
                    f"{z:.2f} SE of the difference of two rates (binomial SEs {a['db_se']:.2f} and {b['db_se']:.2f} pp"
                    + (", and the paper's two at our trial count)" if paper_effect else ")"), math.inf,
                    f"{a['trials']} vs {b['trials']}")
    rule = at_least if paper_effect else exceeds
    return rule(claim, a["db"] - b["db"], tol, "the difference is smaller than the paper's beyond sampling error"
                if paper_effect else "the difference is within sampling error or reversed")
