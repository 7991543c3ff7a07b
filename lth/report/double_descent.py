"""Double descent and lottery tickets (seed 002's open question): the dense nets' test error against their
parameter count with and without label noise, the IMP tickets of a wide net and of a net near the threshold
placed on the same axes, the sparsity-wise curve, and the loss curves, from the ``double_descent`` stages."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from lth.report import double_descent_claims
from lth.report.common import Section, errorbars, markdown_table, plt, read_json, run_facts, save_figure
from lth.report.figures import figure_title, legend_below
from lth.report.ledger.markdown import ledger_table
from lth.report.ledger.records import FAILS, Claim, Verdict
from lth.report.ledger.rules import at_least, equals, exceeds, untestable
from lth.report.ledger.statistics import Spread, Tolerance, difference
from lth.report.scale import RunConfig

NEAR = 4.0   # chosen: a peak "near" the interpolation threshold lies within this factor of it
NOISE_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple")


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values))


def _gap(high: Sequence[float], low: Sequence[float], what: str) -> tuple[float, Tolerance]:
    """Mean of ``high`` minus mean of ``low`` (test errors in pp) with the Welch tolerance of both sides' trials."""
    tol = difference(Spread.of([high], f"{what}: higher side's trials"), len(high),
                     Spread.of([low], f"{what}: lower side's trials"), len(low))
    return _mean(high) - _mean(low), tol


def _binding(gaps: list[tuple[float, Tolerance]]) -> tuple[float, Tolerance]:
    """Of several effects that must all be significantly positive, the one closest to failing."""
    return min(gaps, key=lambda gap: gap[0] - gap[1].value)


def _peak_at(points: list[dict[str, Any]], i: int) -> tuple[float, Tolerance]:
    """Width ``i``'s rise over the best net on each side of it: the smaller of the two (the binding one)."""
    errors = [_mean(p["test_error"]) for p in points]
    left = min(range(i), key=lambda j: errors[j])
    right = min(range(i + 1, len(points)), key=lambda j: errors[j])
    return _binding([_gap(points[i]["test_error"], points[j]["test_error"],
                          f"width {points[i]['width']} vs {points[j]['width']}") for j in (left, right)])


def peak_verdict(claim: Claim, points: list[dict[str, Any]], threshold: int) -> Verdict:
    """Double descent's peak: an inner width's net significantly worse than the best net on each side of it
    (the smaller rise is the measured value; the inner width closest to holding is taken, a selection said in
    the tolerance text), lying within a factor ``NEAR`` of the threshold."""
    if len(points) < 3:
        return untestable(claim, "needs at least three widths")
    rises = {i: _peak_at(points, i) for i in range(1, len(points) - 1)}
    peak = max(rises, key=lambda i: rises[i][0] - rises[i][1].value)
    value, tol = rises[peak]
    tol = replace(tol, how=f"{tol.how}; the most peaked of {len(rises)} inner widths")
    ratio = points[peak]["parameters"] / threshold
    verdict = exceeds(claim, value, tol, f"no inner width is significantly above the nets on both sides (the most "
                      f"peaked: width {points[peak]['width']}, {value:+.2f} pp)")
    if verdict.verdict == "holds" and not 1 / NEAR <= ratio <= NEAR:
        return replace(verdict, verdict=FAILS, why=f"the peak (width {points[peak]['width']}) lies at {ratio:.2g}x "
                       f"the threshold, beyond the factor {NEAR:g} read as 'near'")
    return verdict


def second_descent_verdict(claim: Claim, points: list[dict[str, Any]], threshold: int) -> Verdict:
    """The interpolating regime's minimum is equal or lower than the classical one: best error below the
    threshold minus best error above it, holding unless significantly negative."""
    below = [p for p in points if p["parameters"] < threshold]
    above = [p for p in points if p["parameters"] > threshold]
    if not below or not above:
        return untestable(claim, "needs widths on both sides of the interpolation threshold")
    classical = min(below, key=lambda p: _mean(p["test_error"]))
    modern = min(above, key=lambda p: _mean(p["test_error"]))
    value, tol = _gap(classical["test_error"], modern["test_error"],
                      f"width {classical['width']} vs {modern['width']}")
    return at_least(claim, value, tol, f"the best net above the threshold (width {modern['width']}) is "
                    f"significantly worse than the classical sweet spot (width {classical['width']})")


def sparse_verdict(claim: Claim, levels: list[dict[str, Any]]) -> Verdict:
    """He et al.'s sparse double descent on one ticket ladder (levels by falling Pm): worse, better, worse again.
    A level p against the dense net (rise) and against a sparser level m (dip), and the last level against m
    (collapse); all three must be significantly positive. The (p, m) closest to holding is taken (a selection
    said in the tolerance text); the binding step is the measured value."""
    errors = [lv["ticket"]["test_error"] for lv in levels]
    if len(errors) < 4:
        return untestable(claim, "needs at least three pruned levels")
    pm = [100 * lv["ticket"]["pm"][0] for lv in levels]

    def steps(worse: int, better: int) -> tuple[float, Tolerance]:
        return _binding([_gap(errors[worse], errors[0], f"Pm {pm[worse]:.2g}% vs dense"),
                         _gap(errors[worse], errors[better], f"Pm {pm[worse]:.2g}% vs {pm[better]:.2g}%"),
                         _gap(errors[-1], errors[better], f"Pm {pm[-1]:.2g}% vs {pm[better]:.2g}%")])
    pairs = {(w, b): steps(w, b) for w in range(1, len(errors) - 2) for b in range(w + 1, len(errors) - 1)}
    (worse, better), (value, tol) = max(pairs.items(), key=lambda item: item[1][0] - item[1][1].value)
    tol = replace(tol, how=f"{tol.how}; the best of {len(pairs)} (worse, better) level pairs")
    return exceeds(claim, value, tol, f"worse at Pm {pm[worse]:.2g}%, better at {pm[better]:.2g}%, worse at "
                   f"{pm[-1]:.2g}%: not every step significantly so")


def dense_at(points: list[dict[str, Any]], parameters: float) -> tuple[float, Spread] | None:
    """The dense curve's mean test error at ``parameters`` (linear in log parameters between the two nearest
    widths) with their pooled trial spread; None outside the curve."""
    sizes = [p["parameters"] for p in points]
    if not sizes[0] <= parameters <= sizes[-1]:
        return None
    i = max(0, min(int(np.searchsorted(sizes, parameters)) - 1, len(points) - 2))
    low, high = points[i], points[i + 1]
    share = float(np.log(parameters / low["parameters"]) / np.log(high["parameters"] / low["parameters"]))
    error = (1 - share) * _mean(low["test_error"]) + share * _mean(high["test_error"])
    return error, Spread.of([low["test_error"], high["test_error"]], f"dense widths {low['width']} and "
                            f"{high['width']}")


def ticket_comparisons(run: dict[str, Any], points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every pruned level of one ticket run against the dense curve at its parameter count: the tickets' mean
    test error minus the dense nets' there, with its Welch tolerance, and the random reinits' likewise."""
    rows = []
    for level in run["levels"][1:]:
        tickets = level["ticket"]
        dense = dense_at(points, _mean(tickets["parameters"]))
        row = {"width": run["width"], "pm": 100 * tickets["pm"][0], "parameters": _mean(tickets["parameters"]),
               "ticket": _mean(tickets["test_error"]), "dense": None if dense is None else dense[0]}
        for role in ("ticket", "reinit"):
            if dense is not None and role in level:
                errors = level[role]["test_error"]
                tol = difference(Spread.of([errors], f"{role}s' trials"), len(errors), dense[1], len(errors))
                row[f"{role}_gap"] = (_mean(errors) - dense[0], tol)
        if "reinit" in level:
            row["reinit"] = _mean(level["reinit"]["test_error"])
        rows.append(row)
    return rows


def reading(gap: tuple[float, Tolerance] | None) -> str:
    """How a ticket level compares with dense nets of its parameter count."""
    if gap is None:
        return "outside the dense curve"
    value, tol = gap
    if value < -tol.value:
        return "better than dense nets of its size"
    return "worse than dense nets of its size" if value > tol.value else "as dense nets of its size (within noise)"


def early_loss(points: list[dict[str, Any]]) -> list[tuple[int, int, float, float]]:
    """Per width: (width, parameters, mean training loss after the first evaluation interval, mean final
    training loss): the change in loss that seed 002 asks about."""
    out = []
    for p in points:
        losses = np.asarray(p["curves"]["train_loss"], dtype=float)
        out.append((p["width"], p["parameters"], float(losses[:, 1].mean()), _mean(p["train_loss"])))
    return out


def _spread(values: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over trials of each point."""
    arrays = [np.asarray(v, dtype=float) for v in values]
    return (np.array([a.mean() for a in arrays]), np.array([a.min() for a in arrays]),
            np.array([a.max() for a in arrays]))


def curve_figure(path: Path, dense: dict[str, Any], tickets: dict[str, Any] | None) -> None:
    """Test and training error against parameters: a dense curve per label noise, the interpolation threshold,
    and the ticket runs' levels (tickets and reinits) at their remaining parameters."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    threshold = dense["threshold_parameters"]
    for colour, curve in zip(NOISE_COLOURS, dense["curves"]):
        sizes = [p["parameters"] for p in curve["points"]]
        for ax, key in zip(axes, ("test_error", "train_error")):
            errorbars(ax, sizes, *_spread([p[key] for p in curve["points"]]), color=colour, linestyle="-",
                      marker="o", markersize=3, label=f"dense nets, {100 * curve['noise']:g}% label noise")
    for run, marker in zip(tickets["runs"] if tickets else [], ("s", "D", "^", "v")):
        for role, face in (("ticket", "k"), ("reinit", "none")):
            levels = [lv[role] for lv in run["levels"] if role in lv]
            x = [_mean(lv["parameters"]) for lv in levels]
            axes[0].plot(x, [_mean(lv["test_error"]) for lv in levels], marker=marker, color="k", markerfacecolor=face,
                         linestyle=":" if role == "reinit" else "--", markersize=4,
                         label=f"{role}s of width {run['width']} ({100 * tickets['noise']:g}% noise)")
    for ax, label in zip(axes, ("test error (%)", "training error on its labels (%)")):
        ax.axvline(threshold, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("parameters (remaining, for tickets)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].text(threshold, axes[0].get_ylim()[1], " examples x classes", fontsize=7, va="top", color="grey")
    legend_below(fig, axes)
    figure_title(fig, "One-hidden-layer nets on an MNIST subset trained without early stopping, and IMP tickets on "
                 "the same axes (measured here; no paper figure at this scale)")
    save_figure(fig, path)


def sparse_figure(path: Path, tickets: dict[str, Any]) -> None:
    """Test error against Pm of every ticket run's tickets and reinits (He et al.'s sparsity-wise curve)."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for run, colour in zip(tickets["runs"], NOISE_COLOURS[2:] + NOISE_COLOURS[:2]):
        for role, style in (("ticket", "-"), ("reinit", ":")):
            levels = [lv[role] for lv in run["levels"] if role in lv]
            pm = [100 * lv["pm"][0] for lv in levels]
            errorbars(ax, pm, *_spread([lv["test_error"] for lv in levels]), color=colour, linestyle=style,
                      marker="o", markersize=3, label=f"{role}s, width {run['width']}")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("percent of weights remaining (Pm)")
    ax.set_ylabel("test error at the end of training (%)")
    ax.grid(alpha=0.3)
    legend_below(fig, [ax])
    figure_title(fig, f"Test error against sparsity with {100 * tickets['noise']:g}% label noise (IMP, rewound to "
                 "init; measured here)", fontsize=10)
    save_figure(fig, path)


def loss_figure(path: Path, curve: dict[str, Any], threshold: int) -> None:
    """Training and test loss along training at one label noise, for the narrowest net, the one nearest the
    threshold and the widest (seed 002: does the change in loss tell the regime?)."""
    points = curve["points"]
    nearest = min(points, key=lambda p: abs(np.log(p["parameters"] / threshold)))
    chosen = list({id(p): p for p in (points[0], nearest, points[-1])}.values())
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for p, colour in zip(chosen, ("tab:blue", "tab:orange", "tab:green")):
        iterations = p["curves"]["iterations"]
        for ax, key in zip(axes, ("train_loss", "test_loss")):
            mean = np.asarray(p["curves"][key], dtype=float).mean(axis=0)
            ax.plot(iterations, mean, color=colour, label=f"width {p['width']} ({p['parameters']:,} parameters)")
    for ax, label in zip(axes, ("training loss (its noisy labels)", "test loss")):
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    legend_below(fig, axes)
    figure_title(fig, f"Loss along training, {100 * curve['noise']:g}% label noise (mean of the trials; measured "
                 "here)", fontsize=10)
    save_figure(fig, path)


def classical_verdict(claim: Claim, dense: dict[str, Any], tickets: dict[str, Any]) -> Verdict:
    """Seed 002's question as a statement: the widest net's tickets at their sparsest level below the threshold
    against dense nets of their size (equals 0), told apart from the wide dense net's error (the contrast)."""
    curve = next((c for c in dense["curves"] if c["noise"] == tickets["noise"]), None)
    if curve is None:
        return untestable(claim, "no dense curve at the tickets' label noise")
    widest = max(tickets["runs"], key=lambda r: r["width"])
    rows = [r for r in ticket_comparisons(widest, curve["points"])
            if "ticket_gap" in r and r["parameters"] < dense["threshold_parameters"]]
    wide = next((p for p in curve["points"] if p["width"] == widest["width"]), None)
    if not rows or wide is None:
        return untestable(claim, "no ticket level below the threshold within the dense curve")
    row = min(rows, key=lambda r: r["parameters"])
    value, tol = row["ticket_gap"]
    contrast = _mean(wide["test_error"]) - row["dense"]
    return equals(replace(claim, contrast=contrast), value, tol,
                  f"at {row['parameters']:,.0f} parameters (Pm {row['pm']:.2g}%) the width-{widest['width']} tickets "
                  f"are {reading(row['ticket_gap'])}")


def double_descent_verdicts(dense: dict[str, Any], tickets: dict[str, Any] | None) -> list[Verdict]:
    """The peak and the second descent at the noisiest and the clean labels; sparse double descent on the widest
    ticket run."""
    claims = {c.key: c for c in double_descent_claims.CLAIMS}
    threshold, curves = dense["threshold_parameters"], dense["curves"]
    out = []
    for suffix, curve in (("noisy", max(curves, key=lambda c: c["noise"])),
                          ("clean", min(curves, key=lambda c: c["noise"]))):
        if suffix == "clean" and curve["noise"] > 0:
            out += [untestable(claims[f"dd_{k}_clean"], "no clean-label curve in this run") for k in
                    ("peak", "second_descent")]
            continue
        out.append(peak_verdict(claims[f"dd_peak_{suffix}"], curve["points"], threshold))
        out.append(second_descent_verdict(claims[f"dd_second_descent_{suffix}"], curve["points"], threshold))
    claim, classical = claims["he_sparse_double_descent"], claims["dd_tickets_classical"]
    if not tickets or not tickets["runs"] or tickets["noise"] == 0:
        return out + [untestable(c, "needs ticket runs with label noise") for c in (classical, claim)]
    widest = max(tickets["runs"], key=lambda r: r["width"])
    return out + [classical_verdict(classical, dense, tickets), sparse_verdict(claim, widest["levels"])]


def dense_table(dense: dict[str, Any]) -> str:
    """Every dense net: label noise, width, parameters, training and test error (mean ± SD over trials)."""
    def cell(values: list[float]) -> str:
        return f"{np.mean(values):.2f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.2f}"
    rows = [[f"{100 * curve['noise']:g}%", str(p["width"]), f"{p['parameters']:,}",
             f"{p['parameters'] / dense['threshold_parameters']:.2g}", cell(p["train_error"]), cell(p["test_error"]),
             f"{np.mean(p['train_loss']):.3g}"]
            for curve in dense["curves"] for p in curve["points"]]
    return markdown_table(["label noise", "width", "parameters", "x threshold", "training error %",
                           "test error %", "final training loss"], rows)


def ticket_table(tickets: dict[str, Any], points: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Every pruned ticket level against dense nets of its parameter count; the table and its rows."""
    rows = [row for run in tickets["runs"] for row in ticket_comparisons(run, points)]

    def gap(row: dict[str, Any], role: str) -> str:
        value = row.get(f"{role}_gap")
        return "–" if value is None else f"{value[0]:+.2f} ± {value[1].value:.2f}"
    cells = [[str(r["width"]), f"{r['pm']:.2g}%", f"{r['parameters']:,.0f}", f"{r['ticket']:.2f}",
              "–" if r["dense"] is None else f"{r['dense']:.2f}", gap(r, "ticket"), gap(r, "reinit"),
              reading(r.get("ticket_gap"))] for r in rows]
    return markdown_table(["width", "Pm", "parameters", "ticket test error %", "dense nets of that size %",
                           "ticket - dense (pp)", "reinit - dense (pp)", "tickets are"], cells), rows


def ticket_answer(rows: list[dict[str, Any]], width: int) -> str:
    """The open question's answer for one ticket run, counted from its levels."""
    mine = [r for r in rows if r["width"] == width]
    counts = {kind: sum(reading(r.get("ticket_gap")).startswith(kind) for r in mine)
              for kind in ("better", "worse", "as dense")}
    return (f"width {width}: of its {len(mine)} pruned levels, {counts['better']} are significantly better than "
            f"dense nets of the same parameter count, {counts['worse']} worse, {counts['as dense']} within noise")


def loss_answer(points: list[dict[str, Any]], threshold: int) -> str:
    """What the early change in training loss says of the regime: is it ordered by width, and does it put every
    net below the threshold on one side of every net above it?"""
    rows = early_loss(points)
    below = [loss for _, size, loss, _ in rows if size < threshold]
    above = [loss for _, size, loss, _ in rows if size > threshold]
    ordered = all(a[2] >= b[2] for a, b in zip(rows, rows[1:]))
    separated = bool(below and above and min(below) > max(above))
    return (f"after the first evaluation interval the mean training loss {'falls' if ordered else 'does not fall'} "
            f"monotonically with width ({rows[0][2]:.3g} at width {rows[0][0]} to {rows[-1][2]:.3g} at width "
            f"{rows[-1][0]}), and it {'separates' if separated else 'does not separate'} every net below the "
            "threshold from every net above it")


def _facts(c: dict[str, Any]) -> str:
    return (f"; {c['trials']} trials; label noise "
            f"{', '.join(f'{100 * n:g}%' for n in c['label_noise'])}; Adam {c['lr']:g}, batch {c['batch_size']}, "
            f"{c['iterations']:,} iterations, no early stopping")


def _ticket_part(tickets: dict[str, Any] | None, dense: dict[str, Any], figures: Path) -> str:
    """The tickets' figure, table and the answer to the seed's first question (or why there is none)."""
    if not tickets:
        return "The ticket stage (`double_descent@tickets`) has not run: no tickets on these axes.\n"
    points = next(c for c in dense["curves"] if c["noise"] == tickets["noise"])["points"]
    sparse_figure(figures / "double_descent_sparsity.png", tickets)
    table, rows = ticket_table(tickets, points)
    answers = "; ".join(ticket_answer(rows, run["width"]) for run in tickets["runs"])
    c = tickets["config"]
    return f"""### Where the tickets fall

IMP on the nets of widths {', '.join(str(r['width']) for r in tickets['runs'])} with
{100 * tickets['noise']:g}% label noise: {100 * c['hidden_rate']:g}% of the hidden weights and
{100 * c['output_rate']:g}% of the output weights pruned per round, rewound to their initial weights, every level
trained as long as the dense nets (no early stopping), with {c['reinit_per_ticket']} random reinit per ticket.
A ticket's parameters are its surviving weights plus its (unpruned) biases. "Dense nets of that size" reads the
dense curve at the same parameter count (linear in log parameters between the two nearest widths); the
tolerance is the Welch t interval of the tickets' trials and those two widths' trials.

![test error against sparsity](figures/double_descent_sparsity.png)

*Test error at the end of training against Pm for the tickets and their random reinits; measured here (He et al.
draw this curve for larger nets; no paper figure at this scale).*

{table}

**The seed's question, "are lottery tickets sub-networks that operate in the traditional regime, 'equivalent'
to their over-parameterised counterparts?"**, counted on this run: {answers}. A ticket "better than dense nets of
its size" keeps part of the wide net's interpolating-regime benefit in its mask and initial values; "as dense
nets of its size" is what the classical reading predicts.
"""


def interpolation_note(dense: dict[str, Any]) -> str:
    """Where each curve's nets first fit their training labels (mean training error below 1%), against the
    threshold the section assumes: where the classical regime ends on this run."""
    parts = []
    for curve in dense["curves"]:
        fitted = next((p for p in curve["points"] if _mean(p["train_error"]) < 1.0), None)
        parts.append(f"{100 * curve['noise']:g}% noise: " + (
            "no width fits its training labels" if fitted is None else
            f"from width {fitted['width']} ({fitted['parameters']:,} parameters, "
            f"{fitted['parameters'] / dense['threshold_parameters']:.2g}x the threshold)"))
    return ("The nets fit their training labels (training error below 1%) " + "; ".join(parts) + ". With the "
            "cross-entropy loss this point, not examples x classes, is where interpolation starts.")


def double_descent_finding(dense: dict[str, Any]) -> str:
    """The noisiest curve's peak (or its absence) and the widest net's error, for the first screen."""
    curve = max(dense["curves"], key=lambda c: c["noise"])
    errors, points = [_mean(p["test_error"]) for p in curve["points"]], curve["points"]
    peak = int(np.argmax(errors))
    noise = f"with {100 * curve['noise']:g}% label noise the test error"
    if peak == 0:
        return (f"{noise} is highest at the narrowest net ({errors[0]:.1f}%, width {points[0]['width']}) and falls "
                f"to {errors[-1]:.1f}% at width {points[-1]['width']}: no peak between two descents")
    return (f"{noise} peaks at width {points[peak]['width']} ({errors[peak]:.1f}%, "
            f"{points[peak]['parameters'] / dense['threshold_parameters']:.2g}x the threshold) and falls "
            f"to {errors[-1]:.1f}% at width {points[-1]['width']}")


def double_descent_section(results: Path, figures: Path) -> Section | None:
    """The double-descent section (None when the dense stage has not run)."""
    path = results / "double_descent" / "dense.json"
    if not path.exists():
        return None
    dense = read_json(path, ("curves", "threshold_parameters"))
    ticket_path = results / "double_descent" / "tickets.json"
    tickets = read_json(ticket_path, ("runs", "noise")) if ticket_path.exists() else None
    threshold, c = dense["threshold_parameters"], dense["config"]
    curve_figure(figures / "double_descent_curve.png", dense, tickets)
    noisy = max(dense["curves"], key=lambda k: k["noise"])
    loss_figure(figures / "double_descent_losses.png", noisy, threshold)
    verdicts = double_descent_verdicts(dense, tickets)
    losses = "; ".join(f"{100 * k['noise']:g}% noise: {loss_answer(k['points'], threshold)}" for k in dense["curves"])
    text = f"""{_intro(dense)}

![double descent and tickets](figures/double_descent_curve.png)

*Left: test error against parameters (dense nets: mean with min-max over trials; tickets and reinits: means at
their remaining parameters); right: training error on the (noisy) labels each net trains on. The dashed line is
the interpolation threshold. Measured here; Belkin et al.'s and Nakkiran et al.'s curves are for other nets and
data sizes.*

{dense_table(dense)}

{interpolation_note(dense)}

{_ticket_part(tickets, dense, figures)}
### Does the change in loss tell the regime?

![loss curves](figures/double_descent_losses.png)

*Training and test loss along training for the narrowest net, the one nearest the threshold and the widest,
{100 * noisy['noise']:g}% label noise (means of the trials).*

On this run, {losses}. Early training loss orders nets by size, which is known before training; a criterion for
the regime would have to place a net of unknown size on the right side of the threshold, which this run cannot
test.

**Statements on this run** (tolerances: Welch t intervals of the trials on both sides; "near" the threshold
is within a factor of {NEAR:g}, a chosen band; the peak and the sparse curve's turning points are picked as the
highest / lowest means, which favours finding them):

{ledger_table(verdicts)}
"""
    scale = [RunConfig("dense curves", "double_descent", c)]
    return Section(text, verdicts, dense["profile"], double_descent_claims.HEADLINE, scale=scale,
                   finding=double_descent_finding(dense))


def _intro(dense: dict[str, Any]) -> str:
    """The section's heading, run facts and what it measures."""
    c, threshold = dense["config"], dense["threshold_parameters"]
    return f"""## Double descent and lottery tickets (seed 002's open question)

{run_facts(dense, _facts(c))}

Belkin et al. (as seed 002 summarises them) find that past the *interpolation threshold*, where a net has about
as many parameters as its training set has constraints, the test risk falls again: the "interpolating regime".
The seed asks whether lottery tickets work in the classical regime, "equivalent" to their over-parameterised
counterparts, and whether the change in loss tells the regime. Here: one-hidden-layer ReLU nets (784-w-10) on the
first {threshold // 10:,} MNIST training images, the threshold at {threshold:,} parameters (examples x
classes), a fraction of the training labels moved to a random other class (one draw per noise level, the same
for every width and trial), every net trained to the end with no early stopping, errors on the whole test set.
"""
