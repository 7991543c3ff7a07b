"""The XOR calibration in the report: the settings closest to the paper's random-init table (ranked by
``lth.xor_target``), a heat map of the whole grid, and whether the `xor` section uses the closest one."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lth.report import papers
from lth.report.common import markdown_table, plt, read_json, save_figure
from lth.xor_target import CHOICE_KEYS, calibration_distance, ranked, same_choices

LOSS_NAMES = {"bce": "BCE", "mse": "MSE"}


def describe_setting(setting: dict[str, Any]) -> str:
    """A setting of the calibration grid in words."""
    init = f"N(0, {setting['init_std']:g})" if setting["init"] == "normal" else setting["init"]
    biases = "like the weights" if setting.get("bias_init") == "like_weights" else "0"
    return (f"{setting['activation']}, {LOSS_NAMES[setting.get('loss', 'bce')]}, {setting['optimizer']} lr "
            f"{setting['lr']:g}, weights {init}, biases {biases}")


def figure_distance(setting: dict[str, Any]) -> float:
    """The largest gap a setting shows in the heat map: its screen's where the grid was screened."""
    return calibration_distance(setting.get("screen", setting.get("rates")))[0]


def _column_label(init: str, std: float, bias: str, loss: str) -> str:
    weights = f"N(0,{std:g})" if init == "normal" else init.replace("glorot_", "glorot\n")
    return f"{LOSS_NAMES[loss]}\n{weights}\n" + ("bias~w" if bias == "like_weights" else "bias 0")


def calibration_figure(settings: list[dict[str, Any]], path: Path) -> None:
    """Heat map of every setting's largest distance to the paper's random-init table (the screen's, where there
    was one); the finalists, re-run at the full trial count, are outlined."""
    rows = sorted({(s["activation"], s["optimizer"], s["lr"]) for s in settings})
    columns = sorted({(s.get("loss", "bce"), s["init"], s["init_std"], s["bias_init"]) for s in settings})
    grid = [[math.nan] * len(columns) for _ in rows]
    fig, ax = plt.subplots(figsize=(0.62 * len(columns) + 3, 0.36 * len(rows) + 2.4))
    for s in settings:
        i = rows.index((s["activation"], s["optimizer"], s["lr"]))
        j = columns.index((s.get("loss", "bce"), s["init"], s["init_std"], s["bias_init"]))
        grid[i][j] = figure_distance(s)
        if "screen" in s and "rates" in s:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5))
    image = ax.imshow(grid, cmap="viridis_r", vmin=0, vmax=100, aspect="auto")
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if not math.isnan(value):
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if value > 50 else "black")
    ax.set_yticks(range(len(rows)), [f"{a}, {o} {lr:g}" for a, o, lr in rows], fontsize=7)
    ax.set_xticks(range(len(columns)), [_column_label(init, std, bias, loss) for loss, init, std, bias in columns],
                  fontsize=6)
    fig.colorbar(image, ax=ax, label="largest |ours - paper| (pp)")
    screened = any("screen" in s for s in settings)
    ax.set_title("XOR calibration: distance of each setting to the paper's random-init table"
                 + (" (screen; outlined: re-run at the full trial count)" if screened else ""), fontsize=9)
    save_figure(fig, path)


def screen_ranks(settings: list[dict[str, Any]]) -> dict[int, int]:
    """id(setting) -> its rank (from 1) by the screen's distance, for every screened setting."""
    return {id(s): rank for rank, s in enumerate(ranked(settings, "screen"), 1)}


def _top_table(final: list[dict[str, Any]], screen: dict[int, int], count: int) -> str:
    widths = [w for w in papers.XOR_RANDOM_INIT if str(w) in final[0]["rates"]]
    rows = []
    for rank, s in enumerate(final[:count], 1):
        worst, mean = calibration_distance(s["rates"])
        rows.append([str(rank), describe_setting(s), f"{worst:.1f}", f"{mean:.1f}", str(screen.get(id(s), "–"))] +
                    [f"{s['rates'][str(w)]['db']:.1f} / {s['rates'][str(w)]['zl']:.1f}" for w in widths])
    rows.append(["", "paper", "", "", ""] + ["{:.1f} / {:.1f}".format(*papers.XOR_RANDOM_INIT[w]) for w in widths])
    return markdown_table(["#", "setting", "largest gap (pp)", "mean gap (pp)", "screen rank"] +
                          [f"{w} units DB / ZL" for w in widths], rows)


def _status(best: dict[str, Any], config: dict[str, Any]) -> str:
    ours = {key: config[key] for key in CHOICE_KEYS if key in config}
    if same_choices(ours, best):
        return f"The `xor` section uses the closest setting ({describe_setting(best)})."
    return (f"**The `xor` section does not use the closest setting** ({describe_setting(best)}); it uses "
            f"{describe_setting(ours)}.")


def _screen_text(grid: dict[str, Any], settings: list[dict[str, Any]], final: list[dict[str, Any]],
                 screen: dict[int, int], shown: int) -> str:
    """How the grid was measured, and where the closest settings ranked in the screen."""
    if not grid.get("screen_trials"):
        return f"every setting at {grid['trials']} trials per width"
    ranks = [screen[id(s)] for s in final[:shown]]
    text = (f"a screen of every setting at {grid['screen_trials']} trials per width (seeds disjoint from the final "
            f"ones), then the {len(final)} closest by the screen re-run at {grid['trials']} trials per width and "
            f"ranked on those; the {shown} closest after the re-run had screen ranks {ranks} (the re-run took "
            f"screen ranks 1-{len(final)})")
    left_out = [s for s in ranked(settings, "screen") if "rates" not in s]
    if left_out:
        needed = figure_distance(left_out[0]) - calibration_distance(final[shown - 1]["rates"])[0]
        gained = max(figure_distance(s) - calibration_distance(s["rates"])[0] for s in final)
        text += (f". The closest setting the screen left out ({describe_setting(left_out[0])}) had a largest gap of "
                 f"{figure_distance(left_out[0]):.1f} pp there: to enter the {shown} closest it would have had to "
                 f"come {needed:.1f} pp closer in the re-run; the most any of the {len(final)} re-run settings came "
                 f"closer was {gained:.1f} pp")
    return text


def calibration_part(results: Path, figures: Path, config: dict[str, Any]) -> str:
    """The calibration sweep: its best settings, the heat map, and whether the xor setting is the closest."""
    path = results / "xor" / "calibration.json"
    if not path.exists():
        return "\n**Calibration**: no results (run `dvc repro xor_calibration`).\n"
    calibration = read_json(path)
    settings, grid = calibration["settings"], calibration["config"]
    final, screen = ranked(settings), screen_ranks(settings)
    figure = figures / "xor_calibration.png"
    calibration_figure(settings, figure)
    best, worst = final[0], calibration_distance(final[0]["rates"])[0]
    goal = ("every random-init rate of it is within 3 pp of the paper's" if worst <= 3 else
            f"its largest gap is {worst:.1f} pp: the goal of every rate within 3 pp of the paper's is not met by "
            "any setting of this grid")
    return f"""
**Calibration of what the paper leaves open** (stage `xor_calibration`, random-init table only, profile
`{calibration['profile']}`): {len(settings)} settings = activations {grid['activations']} x training losses
{[LOSS_NAMES[x] for x in grid.get('losses', ['bce'])]} (sigmoid output) x optimizers (plain SGD at {grid['sgd_lrs']},
Adam at {grid['adam_lrs']}) x weight inits ({', '.join(grid['inits'])}; `normal` at std {grid['normal_stds']}) x bias
inits {grid['bias_inits']}, {grid['iterations']} full-batch iterations; the zero-loss criterion (mean binary
cross-entropy below {grid['zero_loss_threshold']}, under either loss) is held fixed. Measured by
{_screen_text(grid, settings, final, screen, min(5, len(final)))}. Ranked by the largest |ours - paper| over the
ten numbers (then the mean). {_status(best, config)} Of the closest, {goal}. The pruning table above is run with the `xor` setting and
was never tuned on.

{_top_table(final, screen, 10)}

![XOR calibration](figures/{figure.name})

*Figure: every setting's largest distance (pp) to the paper's random-init table
{'in the screen (outlined: the finalists re-run at the full trial count)' if grid.get('screen_trials') else ''};
rows: hidden activation and optimizer, columns: loss, weight and bias init.*
"""
