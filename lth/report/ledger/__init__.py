"""The claims ledger: every testable statement of the papers as one record, and its verdict at this profile.

Modules by job: ``records`` (the Claim and Verdict records, the verdict names), ``statistics`` (trial spreads
and tolerances), ``rules`` (the verdict rules), ``markdown`` (the ledger table and the summary line). The
claim records themselves are data next to each experiment's page (``lth/report/<experiment>_claims.py``).

A record (``Claim``) holds the quote, the paper version and section, what it is computed from and how, and
the paper's value. The report's sections measure it (``Verdict``): our value, a tolerance derived from the
measured trial-to-trial spread (stated with how it was derived), and one of four verdicts:

- **holds**: our measurement is consistent with the statement within the tolerance (a value: within it;
  "more than X": not below X by more than it; "A beats B": the excess is larger than it; "no better":
  not above by more than it; a Pm level: within one level of our ladder);
- **does not hold**: it is not (the record says the likely reason where we know it);
- **not testable at this profile**: the runs at this profile cannot test it (the record says what would);
- **other setup, not compared**: the statement belongs to another paper version's setup that this
  pipeline has not run; it is listed, never set against a run of another setup.

Tolerances are never chosen: they follow from the spread of the trials (or from the resolution of the
pruning ladder, for statements about a Pm level), as each verdict states.
"""
