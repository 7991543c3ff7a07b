"""The ledger's records: a paper's statement (``Claim``), its measurement at this profile (``Verdict``), the four
verdicts, what is counted, and the papers' version names the claim records cite."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

HOLDS, FAILS = "holds", "does not hold"
UNTESTABLE, OTHER_SETUP = "not testable at this profile", "other setup, not compared"
# the verdicts of a direction record: the sign of a paper's effect in our reduced-scale runs, never "reproduced"
DIRECTION_HOLDS, DIRECTION_FAILS = "direction holds at reduced scale", "direction does not hold at reduced scale"
VERDICT_CODES = {HOLDS: 1, FAILS: 0, UNTESTABLE: None, OTHER_SETUP: None, DIRECTION_HOLDS: None, DIRECTION_FAILS: None}
DIRECTION_CODES = {DIRECTION_HOLDS: 1, DIRECTION_FAILS: 0}

# what a record is: a statement of a paper (counted once), one cell of a table shown beneath the table's one
# statement (not counted), a calibration target our setting was fitted to (listed, never counted), or the
# direction of a paper's effect tested at a reduced scale (counted apart from the statements)
STATEMENT, CELL, FITTED, DIRECTION = "statement", "cell", "fitted", "direction"

FINAL = "Frankle & Carbin, ICLR 2019"
V1 = "Frankle & Carbin 2018 (arXiv v1)"


@dataclass(frozen=True)
class Claim:
    """One statement of a paper: what it says, where, its value, and how we compute ours. ``contrast`` is the
    value the statement is told apart from (no effect: 0 for a difference, 1 for a ratio); a tolerance that
    reaches it cannot tell the statement from its contrary. ``paper_trials``: the paper's trial count behind
    its value, when it says."""
    key: str
    experiment: str           # the report section that measures it
    quote: str
    source: str               # paper version and section, or the seed document quoting it
    paper: float | None       # the paper's value (None: a statement without one number)
    unit: str
    how: str                  # which results it is computed from and how
    kind: str = STATEMENT
    contrast: float | None = None
    paper_trials: int | None = None


@dataclass(frozen=True)
class Verdict:
    """A claim measured at this profile: our value, the tolerance, the trial counts compared and the margin
    (the distance from our value to the verdict's threshold in units of the tolerance: positive on the
    holding side)."""
    claim: Claim
    verdict: str
    measured: float | None = None
    tolerance: float | None = None
    tolerance_how: str = ""
    why: str = ""             # the likely reason it fails, or what would make it testable
    trials: str = ""
    margin: float | None = None

    def metrics(self) -> dict[str, Any]:
        """The entry of reports/claims.json: measured, paper, tolerance, margin, verdict (and 1/0/null; a
        direction record's 1/0/null in ``direction_holds``, its ``holds`` always null)."""
        out = {"measured": _rounded(self.measured), "paper": self.claim.paper,
               "tolerance": _rounded(self.tolerance), "margin": _rounded(self.margin), "trials": self.trials,
               "verdict": self.verdict, "holds": VERDICT_CODES[self.verdict]}
        if self.claim.kind == DIRECTION:
            out["direction_holds"] = DIRECTION_CODES.get(self.verdict)
        return out

    @property
    def counted(self) -> bool:
        """Whether the summary counts it (statements only: never a table's cells or a fitted target)."""
        return self.claim.kind == STATEMENT


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)
