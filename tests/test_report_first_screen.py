"""The report's first screen: one row per experiment with its scale, verdict counts (the same as metrics.json)
and a finding computed from the results; the key figure; a table of contents whose links resolve; the closing
list of what is reduced or missing; and no prose line longer than 120 characters. Built from the committed
results (small, quick-profile runs) and checked against values the tests compute themselves."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from lth.registry import EXPERIMENTS
from lth.report import assemble, common
from lth.report.assemble import build_report, write_report
from lth.report.layout import wrap_prose
from lth.report.scale import RunConfig, experiment_scale, scale_cell, scale_note

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
LINK = re.compile(r"\]\(#([^)]+)\)")


def github_anchor(text: str, seen: dict[str, int]) -> str:
    """GitHub's heading anchor, written here independently of the report code: lower case, everything but
    word characters, spaces and hyphens dropped, spaces as hyphens, -1, -2 ... for repeats."""
    base = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    count = seen.get(base, 0)
    seen[base] = count + 1
    return base if count == 0 else f"{base}-{count}"


def heading_anchors(text: str) -> list[str]:
    seen: dict[str, int] = {}
    return [github_anchor(m.group(1), seen) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)]


def first_table(text: str) -> list[list[str]]:
    """The cells of the first Markdown table's body rows."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| experiment |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report of a copy of the committed results, with its JSON files and the results it was built from.
    Its figures are drawn but not written as PNG files (the text does not depend on them; test_report.py and
    the end-to-end test check written figures): that was three quarters of the build's time."""
    if not (ROOT / "results" / "mnist" / "lenet.json").exists():
        pytest.skip("no committed results")
    patch = pytest.MonkeyPatch()
    patch.setattr(common, "write_figure", lambda path, write: None)
    tmp = tmp_path_factory.mktemp("report")
    shutil.copytree(ROOT / "results", tmp / "results")
    built_sections = {}

    def keep(*args):                                   # the sections write_report builds, for the dvc.yaml check
        built_sections.update(original(*args))
        return built_sections
    original, assemble.build_report = assemble.build_report, keep
    try:
        write_report(tmp / "results", tmp / "reports", "abc", ROOT / "params.yaml")
    finally:
        assemble.build_report = original
        patch.undo()
    text = (tmp / "reports" / "report.md").read_text()
    rows = {re.match(r"\[`(\w+)`\]", row[0]).group(1): row for row in first_table(text)}
    return {"text": text, "sections": built_sections, "rows": rows,
            "metrics": json.loads((tmp / "reports" / "metrics.json").read_text()),
            "claims": json.loads((tmp / "reports" / "claims.json").read_text()), "results": tmp / "results"}


def test_one_row_per_section_in_registry_order_with_its_claims_counts(built):
    rows, claims = built["rows"], built["claims"]
    order = [e.page for e in EXPERIMENTS if e.page in claims]
    assert list(rows) == order                       # claims.json has one entry per section with results
    for name, row in rows.items():
        verdicts = [c["verdict"] for c in claims[name]["claims"].values() if c["kind"] == "statement"]
        expected = ([str(verdicts.count("holds")), str(verdicts.count("does not hold")),
                     str(verdicts.count("not testable at this profile"))] if verdicts else ["–"] * 3)
        assert [row[3], row[4], row[5].split(" (")[0]] == expected, name
        directions = [c["verdict"] for c in claims[name]["claims"].values() if c["kind"] == "direction"]
        hold = directions.count("direction holds at reduced scale")
        testable = hold + directions.count("direction does not hold at reduced scale")
        assert row[6] == (f"{hold} of {testable} hold" if testable else "–"), name
        assert row[1] == next(e.source for e in EXPERIMENTS if e.page == name)


def test_metrics_json_holds_the_tables_counts(built):
    for name, row in built["rows"].items():
        if row[3] == "–":
            assert name not in built["metrics"]
            continue
        counts = built["metrics"][name]
        assert [str(counts["holds"]), str(counts["fails"]), str(counts["not_testable"])] == \
            [row[3], row[4], row[5].split(" (")[0]], name


def test_the_mnist_finding_is_computed_from_its_results(built):
    rounds = json.loads((built["results"] / "mnist" / "lenet.json").read_text())["rounds"]
    accuracy = [100 * np.mean(r["ticket"]["early_stop_accuracy"]) for r in rounds]
    best = int(np.argmax(accuracy[1:])) + 1
    finding = built["rows"]["mnist"][7]
    assert f"{accuracy[best] - accuracy[0]:+.2f} pp" in finding
    assert f"Pm {100 * rounds[best]['ticket']['pm'][0]:.1f}%" in finding
    sparsest = min(100 * r["ticket"]["pm"][0] for r, a in zip(rounds[1:], accuracy[1:]) if a >= accuracy[0])
    assert f"sparsest at or above it: Pm {sparsest:.1f}%" in finding


def test_the_scale_column_names_what_a_run_reduces(built):
    config = json.loads((built["results"] / "mnist" / "lenet.json").read_text())["config"]
    paper = PARAMS["mnist"]
    reduced = [key for key in ("trials", "iterations") if config[key] != paper[key]]
    cell = built["rows"]["mnist"][2]
    if reduced:
        assert cell.startswith("reduced: ") and all(key in cell for key in reduced)
    if "trials" in reduced:
        assert f"trials {config['trials']} (paper {paper['trials']})" in built["text"]
    if not reduced:
        assert not cell.startswith("reduced")


def test_a_run_at_the_papers_settings_is_paper_and_the_footer_lists_the_missing(tmp_path):
    """Only the mnist results, against a params file whose mnist section is that run's own config: the row
    says paper, the closing list names every other experiment as not run and the open questions."""
    shutil.copytree(ROOT / "results" / "mnist", tmp_path / "results" / "mnist")
    config = json.loads((tmp_path / "results" / "mnist" / "lenet.json").read_text())["config"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"profile": "paper", "mnist": config}))
    build_report(tmp_path / "results", tmp_path / "reports", "abc", tmp_path / "params.yaml")
    text = (tmp_path / "reports" / "report.md").read_text()
    (row,) = first_table(text)
    assert row[0].startswith("[`mnist`]") and row[2] == "paper"
    footer = " ".join(text[text.index("## Not reproduced yet"):].split())      # wrapped lines joined
    assert "Every experiment with results runs at the paper's scale." in footer
    for e in EXPERIMENTS:
        if e.page not in (None, "mnist"):
            assert f"- {e.page}: no results" in footer and f"`dvc repro {' '.join(e.stages)}`" in footer
    assert "Double descent, the rest" in footer and "without knowing its size" in footer
    assert "Transformers at scale" in footer and "scale to large networks" in footer


def test_the_report_stage_declares_the_params_sections_its_scale_reads(built):
    """The scale column reads the paper's settings from params.yaml: dvc must re-run the report when they change."""
    read = {run.section for section in built["sections"].values() for run in section.scale}
    stage = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]
    assert read and read <= set(stage["params"]) and set(stage["params"]) <= set(PARAMS)
    assert all(section.scale and section.finding for section in built["sections"].values())


def test_scale_of_synthetic_runs():
    params = {"s": {"trials": 5, "iterations": 50000, "width": 1.0, "lr": 0.1,
                    "profiles": {"quick": {"trials": 2}}, "variants": {"long": {"iterations": 90000}}}}
    assert experiment_scale([RunConfig("a", "s", {"trials": 5, "iterations": 50000, "lr": 0.3})], params).kind == \
        "paper"                                                     # lr is no scale setting
    reduced = experiment_scale([RunConfig("a", "s", {"trials": 2, "iterations": 50000, "width": 0.25})], params)
    assert scale_cell(reduced) == "reduced: net, trials"
    assert scale_note(reduced) == "width 0.25 (paper 1); trials 2 (paper 5)"
    short = experiment_scale([RunConfig("a", "s", {"trials": 5, "iterations": 4000}, "long")], params)
    assert scale_cell(short) == "illustration: iterations"         # 4,000 of the variant's 90,000: under 5%
    mixed = experiment_scale([RunConfig("a", "s", {"iterations": 4000}, "long"),
                              RunConfig("b", "s", {"iterations": 25000})], params)
    assert scale_cell(mixed) == "reduced: iterations; 1 of 2 runs illustration"
    assert scale_note(mixed) == "iterations 4,000–25,000 (paper 50,000–90,000); illustration scale: a"
    assert experiment_scale([RunConfig("a", "missing", {})], params).kind == "unknown"


def test_contents_and_table_links_resolve_to_headings(built):
    text = built["text"]
    anchors = set(heading_anchors(text))
    links = LINK.findall(text)
    assert links and set(links) <= anchors
    contents = text[text.index("**Contents**"):text.index("\n## ")]
    sections = [github_anchor(h, {}) for h in re.findall(r"^## (.+)$", text, re.MULTILINE)]
    assert set(sections) <= set(LINK.findall(contents))
    readme = re.findall(r"reports/report\.md#([\w-]+)", (ROOT / "README.md").read_text())
    assert readme and set(readme) <= anchors


def test_first_screen_order(built):
    text = built["text"]
    lines = text.splitlines()
    assert lines[0].startswith("# ") and lines[2].startswith("The hypothesis")
    table = text.index("| experiment |")
    assert text.index("Regenerated by") < table < text.index("](figures/mnist_controls.png)") \
        < text.index("**Contents**") < text.index("\n## ")
    assert "\n\n" not in text[text.index("The hypothesis"):table].strip()    # the table follows the paragraph


def test_no_prose_line_is_longer_than_120_characters(built):
    long = [line for line in built["text"].splitlines() if not line.startswith("|") and len(line) > 120]
    assert long == []
    assert max(len(row) for row in built["text"].splitlines() if row.startswith("| [`")) < 400


def test_wrapping_keeps_words_blocks_and_tables():
    words = " ".join(f"word{i}" for i in range(60))
    for line in (words, "- " + words, "> " + words):
        out = wrap_prose(line, 120).splitlines()
        assert len(out) > 1 and all(len(part) <= 120 for part in out)
        assert " ".join(out).split() == line.split() or line.startswith(">")
        assert all(part.startswith("  word") for part in out[1:]) if line.startswith("- ") else True
        assert all(part.startswith("> word") for part in out) if line.startswith(">") else True
    for whole in ("| " + words + " |", "# " + words, "![" + words + "](figures/x.png)"):
        assert wrap_prose(whole, 120) == whole
    # a line that a naive wrap would start with a list marker, a number, a quote, a pipe or a hash
    for token in ("-", "+", "1.", "2)", ">", "|", "#"):
        risky = "x " * 59 + f"{token} y"
        out = wrap_prose(risky, 120).splitlines()
        assert len(out) == 2 and not out[1].startswith(token + " ") and " ".join(out).split() == risky.split()
