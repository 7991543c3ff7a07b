"""The ledger's records: a paper's statement (``Claim``), its measurement at this profile (``Verdict``), the four
verdicts and the papers' version names the claim records cite."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

HOLDS, FAILS = "holds", "does not hold"
UNTESTABLE, OTHER_SETUP = "not testable at this profile", "other setup, not compared"
VERDICT_CODES = {HOLDS: 1, FAILS: 0, UNTESTABLE: None, OTHER_SETUP: None}

FINAL = "Frankle & Carbin, ICLR 2019"
V1 = "Frankle & Carbin 2018 (arXiv v1)"


@dataclass(frozen=True)
class Claim:
    """One statement of a paper: what it says, where, its value, and how we compute ours."""
    key: str
    experiment: str           # the report section that measures it: xor | mnist | cifar
    quote: str
    source: str               # paper version and section
    paper: float | None       # the paper's value (None: a statement without one number)
    unit: str
    how: str                  # which results it is computed from and how


@dataclass(frozen=True)
class Verdict:
    """A claim measured at this profile."""
    claim: Claim
    verdict: str
    measured: float | None = None
    tolerance: float | None = None
    tolerance_how: str = ""
    why: str = ""             # the likely reason it fails, or what would make it testable

    def metrics(self) -> dict[str, Any]:
        """The entry of reports/metrics.json: measured, paper, tolerance, verdict (and 1/0/null)."""
        return {"measured": _rounded(self.measured), "paper": self.claim.paper,
                "tolerance": _rounded(self.tolerance), "verdict": self.verdict,
                "holds": VERDICT_CODES[self.verdict]}


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)

