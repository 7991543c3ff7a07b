"""The claims ledger: every testable statement of the papers as one record, and its verdict at this profile.

Modules by job: ``records`` (the Claim and Verdict records, the verdict names, what is counted), ``statistics``
(t quantiles, trial spreads and the tolerances built from them), ``levels`` (the spreads of a pruning ladder's
roles), ``rules`` (the verdict rules), ``markdown`` (the ledger table and the summary line). The claim records
themselves are data next to each experiment's page (``lth/report/<experiment>_claims.py``).

A record (``Claim``) holds the quote, the paper version and section (or the seed that words it), what it is
computed from and how, and the paper's value. The report's sections measure it (``Verdict``): our value, a
tolerance, the trial counts compared, the margin (distance to the verdict's threshold in tolerances) and one of
four verdicts:

- **holds**: our measurement is consistent with the statement within the tolerance (a value: within it;
  "more than X": not below X by more than it; "A beats B": the excess is larger than it; "no better":
  not above by more than it; a Pm level: within one level of our ladder);
- **does not hold**: it is not (the record says the likely reason where we know it);
- **not testable at this profile**: the runs cannot test it: too few trials (a spread, or either side's spread
  of a difference, with fewer than two degrees of freedom, or a tolerance more than half the effect the
  statement tests), a value within half a tolerance of its threshold (noise-limited), a run censored at its
  iteration cap, a Pm level beyond the end of our ladder, or a reduced-scale run (the record says what would);
- **other setup, not compared**: the statement belongs to another paper version's setup that this
  pipeline has not run; it is listed, never set against a run of another setup.

Tolerances come from measured spread: a Student t quantile at the spread's degrees of freedom times the standard
error, both sides' spreads for a difference (Welch), plus the paper's own sampling error at its trial count when
our value is compared with the paper's (our per-trial spread as its estimate); or from the resolution of the Pm
ladder. The few thresholds that are readings of words ("a fraction" as fewer than half, "little overlap" as
closer to unrelated than identical, "nearly in proportion" as within a factor of 2) and the rules' own bounds
(``rules.MIN_DOF``, ``rules.MARGIN_BAND``, ``rules.EFFECT_TOLERANCES``) are chosen, and each says so where it is
used; they only ever withhold a verdict or read a word, never widen a tolerance. Counted are statements, each
once: a paper's table is one statement (its cells listed beneath it), and a number our setting was calibrated to
is listed as fitted, never counted.
"""
