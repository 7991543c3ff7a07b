"""The report's JSON files: metrics.json holds headline numbers only (counts of verdicts and a few measured
values, at most 40 numbers) and claims.json the full ledger, every claim by experiment and id."""
import importlib
from pathlib import Path

from lth.report.common import Section
from lth.report.ledger.records import Claim, Verdict
from lth.report.ledger.rules import equals, other_setup, untestable
from lth.report.ledger.statistics import Tolerance
from lth.report.metrics import claims_ledger, headline_metrics

REPORT = Path(__file__).resolve().parents[1] / "lth" / "report"


def _claim(key: str) -> Claim:
    return Claim(key, "x", f"quote of {key}", "source", 1.0, "pp", "how")


def _sections() -> dict[str, Section]:
    tol = Tolerance(0.5, "tol", 10, "5 vs 5")
    holds, fails = equals(_claim("a"), 1.2, tol), equals(_claim("b"), 3.0, tol)
    return {"one": Section("md", [holds, fails, untestable(_claim("c"), "why", 2.0)], "quick", ("a", "c")),
            "two": Section("md", [other_setup(_claim("d"), "why")], "quick", (), {"run": {"dense": 98.1}}),
            "none": Section("md", [], "quick")}


def test_headline_counts_verdicts_and_names_the_headline_values():
    assert headline_metrics(_sections()) == {
        "all": {"holds": 1, "fails": 1, "not_testable": 1, "other_setup": 1},
        "one": {"holds": 1, "fails": 1, "not_testable": 1, "a": 1.2, "c": 2.0},
        "two": {"holds": 0, "fails": 0, "not_testable": 0, "other_setup": 1}}


def test_the_ledger_file_holds_every_claim_by_id_with_its_numbers_and_verdict():
    ledger = claims_ledger(_sections())
    assert sorted(ledger) == ["none", "one", "two"] and ledger["none"] == {"claims": {}}
    assert ledger["one"]["claims"]["b"] == {"quote": "quote of b", "source": "source", "unit": "pp",
                                            "kind": "statement", "paper": 1.0, "measured": 3.0, "tolerance": 0.5,
                                            "margin": -3.0, "trials": "5 vs 5", "verdict": "does not hold",
                                            "holds": 0}
    assert ledger["one"]["claims"]["c"]["holds"] is None and ledger["one"]["claims"]["c"]["measured"] == 2.0
    assert ledger["two"]["runs"] == {"run": {"dense": 98.1}}


def test_metrics_json_stays_within_40_numbers():
    """Every page with claims adds its three counts and its headline values, plus the totals: at most 40
    (the reduced-scale directions' counts are in the report and claims.json, not here)."""
    records = [importlib.import_module(f"lth.report.{p.stem}") for p in REPORT.glob("*_claims.py")]
    numbers = 3 + sum(3 + len(module.HEADLINE) for module in records)
    assert numbers <= 40
    for module in records:
        keys = {c.key for c in module.CLAIMS}
        assert set(module.HEADLINE) <= keys, module.__name__


def test_a_verdict_without_a_finite_value_gives_null():
    v = Verdict(_claim("k"), "does not hold", float("nan"), None)
    assert headline_metrics({"x": Section("md", [v], "", ("k",))})["x"]["k"] is None
