"""The ``lth`` command: its help lists the registry's experiments, an experiment's help shows its params with the
values params.yaml gives them (and the active profile's overrides), and a mistake is one line with exit status 2."""
from pathlib import Path

import pytest
import yaml

from lth.cli import main
from lth.registry import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1]


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(list(argv))
    out, err = capsys.readouterr()
    return stop.value.code, out, err


def test_run_help_lists_every_experiment_in_registry_order(capsys):
    code, out, _ = _run(capsys, "run", "--help")
    names = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert code == 0 and names == [e.name for e in EXPERIMENTS]


def test_an_unknown_experiment_is_one_error_naming_the_known_ones(capsys):
    code, _, err = _run(capsys, "run", "mnits")
    assert code == 2 and err.startswith("lth run: error: no experiment 'mnits'") and "  mnist " in err


def test_experiment_help_shows_params_yaml_values_and_the_profile_override(capsys, tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "quick"
    params["mnist"]["lr"] = 0.0042                                  # an independent value, not the schema's default
    params["mnist"]["profiles"]["quick"] = {"iterations": 777}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code, out, _ = _run(capsys, "run", "mnist", "--params", str(tmp_path / "params.yaml"), "--help")
    assert code == 0 and "  lr = 0.0042\n" in out and "iterations = 50000   [quick: 777]" in out
    assert "params section `mnist`" in out and "learning rate" in out


def test_items_are_checked_against_their_choices(capsys):
    code, _, err = _run(capsys, "run", "rewinding", "vgg16")
    assert code == 2 and "invalid choice: 'vgg16'" in err


def test_a_run_reads_the_params_tables_only_for_its_help(capsys, monkeypatch):
    """Parsing a run's arguments builds no params table (each reads the params file: ~0.1 s apiece, in every
    stage process); asking for the help builds every section's."""
    import lth.cli as cli
    built = []
    monkeypatch.setattr(cli, "params_table", lambda path, section, schema: built.append(section) or section)
    parser = cli.experiment_parser("cifar", cli.stage_module("cifar"), "params.yaml")
    assert vars(parser.parse_args(["conv2", "plain"]))["net"] == "conv2" and built == []
    assert parser.format_help().rstrip().endswith("numerics")
    assert built == ["conv2", "conv4", "conv6", "vgg19", "resnet20", "numerics"]
