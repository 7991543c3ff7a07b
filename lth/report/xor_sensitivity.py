"""The XOR sensitivity in the report: the ticket-vs-random gap at each of the calibration's closest settings (stage
`xor_sensitivity`), a table, one sentence computed from it, and the ledger statement that the effect holds in every
one of them."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from lth.report import papers, xor_claims
from lth.report.common import markdown_table, read_json
from lth.report.ledger.records import FAILS, HOLDS, Verdict
from lth.report.ledger.rules import table_verdict
from lth.report.ledger.statistics import t_quantile
from lth.report.xor_calibration import describe_setting
from lth.report.xor_rates import HEURISTIC_NAMES, MODE_NAMES, difference_verdict


def pruned_width(sensitivity: dict[str, Any]) -> str:
    """The smallest pruned width (the paper's 2 units), as the results' keys name it."""
    return str(min(sensitivity["xor"]["pruning"]["targets"]))


def gap(ticket: dict[str, Any], random: dict[str, Any]) -> tuple[float, float]:
    """(ticket DB rate minus random DB rate, its binomial standard error) in pp."""
    return ticket["db"] - random["db"], math.hypot(ticket["db_se"], random["db_se"])


def best_ticket(pruning: dict[str, Any], width: str) -> tuple[str, str, dict[str, Any]]:
    """(mode, heuristic, rates) of the pruned-and-reset nets of ``width`` units that find the boundary most often."""
    return max(((m, h, pruning[m][h][width]) for m in MODE_NAMES if m in pruning for h in pruning[m]),
               key=lambda entry: entry[2]["db"])


def _ticket(row: dict[str, Any], mode: str, width: str) -> dict[str, Any] | None:
    return row["pruning"].get(mode, {}).get("product", {}).get(width)


def _gap_cell(ticket: dict[str, Any] | None, random: dict[str, Any]) -> str:
    if ticket is None:
        return "–"
    value, se = gap(ticket, random)
    return f"{value:+.1f} ± {se:.1f}"


def sensitivity_table(sensitivity: dict[str, Any]) -> str:
    """One row per setting: its distance to the paper's random-init table, the smallest width's random-init and
    ticket DB rates, and the tickets' gap over random nets ± one binomial SE; the paper's row last."""
    width = pruned_width(sensitivity)
    rows = []
    for row in sensitivity["settings"]:
        random, iterative, one_shot = row["random_init"][width], _ticket(row, "iterative", width), \
            _ticket(row, "one_shot", width)
        mode, heuristic, best = best_ticket(row["pruning"], width)
        rows.append([str(row["rank"]), describe_setting(row), f"{row['largest_gap']:.1f}", f"{random['db']:.1f}",
                     f"{iterative['db']:.1f}" if iterative else "–", f"{one_shot['db']:.1f}" if one_shot else "–",
                     f"{best['db']:.1f} ({MODE_NAMES[mode].lower()} {HEURISTIC_NAMES[heuristic].lower()})",
                     _gap_cell(iterative, random), _gap_cell(one_shot, random)])
    paper_random = papers.XOR_RANDOM_INIT.get(int(width), (math.nan,))[0]
    paper_iterative = papers.XOR_PRUNING[("iterative", "product")].get(int(width), (math.nan,))[0]
    paper_one_shot = papers.XOR_PRUNING[("one_shot", "product")].get(int(width), (math.nan,))[0]
    rows.append(["", "paper", "0 (target)", f"{paper_random:.1f}", f"{paper_iterative:.1f}", f"{paper_one_shot:.1f}",
                 f"{paper_iterative:.1f} (iterative product)", f"{paper_iterative - paper_random:+.1f}",
                 f"{paper_one_shot - paper_random:+.1f}"])
    return markdown_table(["#", "setting", "largest gap to the random-init table (pp)", f"random {width}-unit DB %",
                           "iterative product ticket DB %", "one-shot product ticket DB %", "best ticket DB %",
                           "iterative product - random (pp ± SE)", "one-shot product - random (pp ± SE)"], rows)


def sensitivity_sentence(sensitivity: dict[str, Any]) -> str:
    """One sentence from the numbers: the range of the iterative-product gap over the settings, how often it is
    significant and at least the paper's, and the settings at its ends."""
    width, rows = pruned_width(sensitivity), sensitivity["settings"]
    z = t_quantile(math.inf)
    gaps = [(gap(_ticket(r, "iterative", width), r["random_init"][width]), r) for r in rows
            if _ticket(r, "iterative", width)]
    if not gaps:
        return "No setting ran iterative pruning with the product heuristic: the gap is not measured."
    paper = papers.XOR_PRUNING[("iterative", "product")][int(width)][0] - papers.XOR_RANDOM_INIT[int(width)][0]
    significant = sum(g > z * se for (g, se), _ in gaps)
    reaching = sum(g >= paper for (g, _), _ in gaps)
    (low, _), low_row = min(gaps, key=lambda entry: entry[0][0])
    (high, _), high_row = max(gaps, key=lambda entry: entry[0][0])
    return (f"Across the {len(rows)} settings closest to the paper's random-init table, {width}-unit tickets "
            f"(iterative, product) find the decision boundary between {low:+.1f} and {high:+.1f} pp more often than "
            f"random {width}-unit nets (the paper: {paper:+.1f} pp); the gap exceeds {z:.2f} binomial standard errors "
            f"in {significant} of {len(gaps)} settings and is at least the paper's in {reaching}; it is largest with "
            f"{describe_setting(high_row)} and smallest with {describe_setting(low_row)}."
            f"{_one_shot_clause(rows, width)}")


def _one_shot_clause(rows: list[dict[str, Any]], width: str) -> str:
    """' One-shot product tickets: between A and B pp against random nets, below them in k of n settings.'"""
    gaps = [gap(_ticket(r, "one_shot", width), r["random_init"][width])[0] for r in rows
            if _ticket(r, "one_shot", width)]
    if not gaps:
        return ""
    return (f" One-shot product tickets find it between {min(gaps):+.1f} and {max(gaps):+.1f} pp more often than "
            f"random {width}-unit nets (below them in {sum(g < 0 for g in gaps)} of {len(gaps)} settings; the paper: "
            f"{papers.XOR_PRUNING[('one_shot', 'product')][int(width)][0] - papers.XOR_RANDOM_INIT[int(width)][0]:+.1f}"
            " pp).")


def sensitivity_verdicts(sensitivity: dict[str, Any]) -> list[Verdict]:
    """The statement that tickets beat random nets in every one of the settings (one statement), and each
    setting's difference beneath it (cells, not counted)."""
    width = pruned_width(sensitivity)
    rows = [r for r in sensitivity["settings"] if _ticket(r, "iterative", width)]
    cells = [difference_verdict(xor_claims.sensitivity_cell_claim(r["rank"], describe_setting(r), int(width)),
                                _ticket(r, "iterative", width), r["random_init"][width]) for r in rows]
    if not cells:
        return []
    statement = table_verdict(xor_claims.ACROSS_SETTINGS, cells)
    if statement.verdict == FAILS:
        failing = [str(r["rank"]) for r, c in zip(rows, cells) if c.verdict != HOLDS]
        statement = replace(statement, why=f"{len(failing)} of {len(cells)} settings show a gap within sampling "
                            f"error or reversed (settings {', '.join(failing)})")
    return [statement] + cells


def sensitivity_part(results: Path) -> tuple[str, list[Verdict]]:
    """The sensitivity's Markdown (table and sentence) and its verdicts; a pointer to the stage when it has not
    run."""
    path = results / "xor" / "sensitivity.json"
    if not path.exists():
        return "\n**Sensitivity**: no results (run `dvc repro xor_sensitivity`).\n", []
    sensitivity = read_json(path, require=("settings", "xor"))
    base = sensitivity["xor"]
    text = f"""
**How much the ticket effect depends on the open choices** (stage `xor_sensitivity`, profile
`{sensitivity['profile']}`): the pruning table at each of the {len(sensitivity['settings'])} settings closest to the
paper's random-init table (the calibration's ranking; the pruning table was never a target), {base['trials']} trials
each, everything else as in the `xor` section. Rates are % of trials finding the decision boundary at
{pruned_width(sensitivity)} units; gaps ± one binomial standard error of the difference.

{sensitivity_table(sensitivity)}

{sensitivity_sentence(sensitivity)}
"""
    return text, sensitivity_verdicts(sensitivity)
