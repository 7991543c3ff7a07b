"""The report's first screen and its closing list, from the sections the pages return: per experiment what it
reproduces (the registry's source), at what scale its runs are (against the paper's settings), its claims'
verdict counts (the same as reports/metrics.json) and a one-line finding; the key figures; the table of
contents; and what is not reproduced yet (reduced runs, experiments without results, open questions)."""
from __future__ import annotations

from typing import Sequence

from lth.registry import EXPERIMENTS
from lth.report.common import Section, markdown_table
from lth.report.layout import Heading
from lth.report.ledger.markdown import HOW_COUNTED
from lth.report.metrics import verdict_counts
from lth.report.scale import ILLUSTRATION_BELOW, Scale, scale_cell, scale_note

SOURCES = {e.page: e.source for e in EXPERIMENTS if e.page is not None}
COLUMNS = ["experiment", "paper figure / section", "scale run", "holds", "fails", "not testable",
           "directions at reduced scale", "finding (from our results)"]

# Parts of the sources that no stage runs at any profile (a page names them beside its figures too).
NOT_YET = ["Zhou et al.'s iterative-pruning runs and their Bernoulli-sampled learned supermask (`deconstruct` prunes "
           "one-shot and thresholds the learned scores)",
           "layerwise importance on ResNet-20 (the seed's \"if the budget allows\"; `importance` has LeNet and "
           "Conv-2/4/6)",
           "early-bird tickets on PreResNet-101 and with a low-precision search (`early_bird` has VGG-16 at full "
           "precision)",
           "the stopping rule on the conv nets' saved IMP masks (`mask_distance` reads LeNet's)"]

# The sources' open questions that no experiment here answers yet (worded after the seed files).
OPEN_QUESTIONS = [
    "**Double descent, the rest** (`../shared/seeds/002_*.txt`): `double_descent` places tickets on a dense curve "
    "and reads the early change of the loss against width, but whether the loss tells a freshly initialised "
    "network's regime *without knowing its size*, and (a) how good an initialisation is without the ticket or (b) a "
    "gradient path to the ticket, is not tested; nor are other data sizes (sample-wise double descent).",
    "**Transformers at scale** (the reading group's slides, `../shared/seeds/004_*.txt`): `transformer_tickets` "
    "prunes a small character-level transformer (tens of thousands of parameters); whether lottery tickets "
    "*scale to large networks* (BERT, GPT-sized models) is beyond a 2-core CPU.",
]


def _counts(section: Section) -> list[str]:
    """The holds / fails / not-testable cells ('–' for a section without claims), as in metrics.json."""
    if not section.verdicts:
        return ["–", "–", "–", "–"]
    counts = verdict_counts(section.verdicts)
    other = f" (+{counts['other_setup']} other setup)" if counts.get("other_setup") else ""
    testable = counts.get("directions_hold", 0) + counts.get("directions_fail", 0)
    directions = f"{counts['directions_hold']} of {testable} hold" if testable else "–"
    return [str(counts["holds"]), str(counts["fails"]), f"{counts['not_testable']}{other}", directions]


def experiments_table(sections: dict[str, Section], scales: dict[str, Scale], anchors: dict[str, str]) -> str:
    """One row per section: its link, the paper's figure or section, the scale, the verdict counts, the finding."""
    rows = [[f"[`{name}`](#{anchors[name]})", SOURCES.get(name, "–"), scale_cell(scales[name]), *_counts(section),
             section.finding.replace("|", "\\|") or "–"] for name, section in sections.items()]
    return markdown_table(COLUMNS, rows)


def key_figures(sections: dict[str, Section], anchors: dict[str, str]) -> str:
    """The figures the pages mark as their key one, each with its caption and a link to its section."""
    return "".join(f"![{alt}](figures/{name})\n\n*{caption} ([section](#{anchors[page]})).*\n\n"
                   for page, section in sections.items() if section.key_figure
                   for name, alt, caption in [section.key_figure])


def first_screen(sections: dict[str, Section], scales: dict[str, Scale], anchors: dict[str, str],
                 contents: Sequence[Heading], footer: str) -> str:
    """The table of experiments, how to read it, the key figures and the table of contents."""
    legend = (f"*Scale: `paper` when a run uses the paper's net, data, trials, levels and training length (its "
              f"`params.yaml` section as written, what `profile: paper` runs); `reduced:` names what the runs "
              f"change (in full under [Not reproduced yet](#{footer})); `illustration` when they train for less "
              f"than {100 * ILLUSTRATION_BELOW:g}% of the paper's length: they show the procedure, not the paper's "
              "numbers. Sources: final paper = Frankle & Carbin, ICLR 2019; v1 = its first arXiv version (2018). "
              "Pm = percent of weights remaining. Counts: the statements of each section's ledger (quote, source, "
              "the paper's value and ours, a tolerance from the measured trial spread with its trial counts, or the "
              "Pm ladder's resolution, the margin, the verdict). " + HOW_COUNTED + " `reports/metrics.json` (`dvc "
              "metrics show`) holds the same counts.*")
    toc = "\n".join(f"{'  ' * (h.level - 2)}- [{h.text}](#{h.anchor})" for h in contents if h.level in (2, 3))
    return (f"{experiments_table(sections, scales, anchors)}\n\n{legend}\n\n{key_figures(sections, anchors)}"
            f"**Contents**\n\n{toc}\n\n")


def not_reproduced(scales: dict[str, Scale], missing: list[str]) -> str:
    """The closing list: what each reduced experiment changes, what has no results or is not in the pipeline,
    and the sources' open questions."""
    reduced = [f"- `{name}` ({scale.kind}): {scale_note(scale)}" for name, scale in scales.items()
               if scale_note(scale)]
    reduced_part = ("**At reduced scale**, against the paper's settings (`profile: paper` runs them as "
                    "written):\n\n" + "\n".join(reduced) if reduced else
                    "Every experiment with results runs at the paper's scale.")
    pending = "\n".join(f"- {item}" for item in missing + NOT_YET)
    questions = "\n".join(f"- {item}" for item in OPEN_QUESTIONS)
    return f"""## Not reproduced yet

{reduced_part}

**Not run, or not in the pipeline yet** (nothing is shown for them):

{pending}

**Open questions of the sources** that no experiment here answers yet:

{questions}
"""
