"""Double descent (Belkin et al. as seed 002 summarises them; He et al. 2022 for sparsity): the claim records the
``double_descent`` page measures. Every value is a difference of test errors in percentage points; the
sources give no value, so 0 (no effect) is the threshold."""
from __future__ import annotations

from lth.report.ledger.records import Claim

SEED_BELKIN = "Belkin et al. 2019, as seed 002 summarises them"
SEED_002 = "seed 002 (its Belkin et al. section's open question)"
HE = "He et al., ICML 2022 (Sparse Double Descent: Where Network Pruning Aggravates Overfitting)"

CLAIMS = [
    Claim("dd_peak_noisy", "double_descent", "the double descent risk curve: the validation risk rises to a peak "
          "at the cusp where the training loss reaches 0 (the interpolation threshold), then falls again",
          SEED_BELKIN, 0.0, "pp", "dense nets with label noise: the highest mean test error over the widths minus "
          "the lower of the lowest errors on either side of it (both must be significantly positive), and the peak "
          "within a factor of 4 of the threshold (#params = examples x classes; a chosen band for 'near')"),
    Claim("dd_peak_clean", "double_descent", "the same double descent with clean labels", SEED_BELKIN, 0.0, "pp",
          "as with label noise, on the nets trained on clean labels"),
    Claim("dd_second_descent_noisy", "double_descent", "in the interpolating regime the validation loss reduces to "
          "a minimum equal or lower than at the cusp of under- and over-fitting", SEED_BELKIN, 0.0, "pp",
          "dense nets with label noise: the lowest mean test error of the nets below the threshold (the classical "
          "sweet spot) minus the lowest of the nets above it; holds unless significantly below 0"),
    Claim("dd_second_descent_clean", "double_descent", "the same second descent with clean labels", SEED_BELKIN,
          0.0, "pp", "as with label noise, on the nets trained on clean labels"),
    Claim("dd_tickets_classical", "double_descent", "(question) lottery tickets are sub-networks that operate in "
          "the classical regime, 'equivalent' to their over-parameterised counterparts - read as: a ticket with "
          "fewer parameters than the interpolation threshold errs like a dense net of its parameter count",
          SEED_002, 0.0, "pp", "tickets of the widest net with label noise, at its sparsest level below the "
          "threshold that the dense curve reaches: their test error minus the dense curve's at the same parameter "
          "count (log-linear between widths); holds when within the Welch tolerance. Told apart from the wide "
          "dense net's own error (a ticket that kept the interpolating regime's benefit)"),
    Claim("he_sparse_double_descent", "double_descent", "as sparsity increases under label noise, the test "
          "performance first gets worse, then better, and finally worse again", HE, 0.0, "pp",
          "tickets of the widest net with label noise, levels by falling Pm: the rise from the dense net to the "
          "worst level before the best later level, and the fall from that worst level to the best later one "
          "(the smaller of the two, both significantly positive), then a final level worse than that best one"),
]

# the headline numbers of reports/metrics.json: these claims' measured values
HEADLINE: tuple[str, ...] = ()
