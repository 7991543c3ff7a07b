"""End to end: the real `dvc repro` on the smoke profile in a temporary copy of the project (tests/e2e_project.py
builds it and runs the first repro), then what a param change re-runs."""
import json

import yaml

from e2e_project import repro as _repro
from e2e_project import dvc


def test_repro_then_param_change_reruns_only_affected_stages(reproduced_smoke):
    project, env, stages = reproduced_smoke
    cifar = {f"cifar_conv@{net}-{variant}" for net in ("conv2", "conv4", "conv6") for variant in ("plain", "dropout")}
    cifar |= {f"cifar_deep@{net}-{variant}" for net in ("vgg19", "resnet20")
              for variant in ("high_lr", "low_lr", "warmup")}
    assert stages == {"data@mnist", "data@fashion_mnist", "data@cifar10", "xor", "xor_calibration", "xor_sensitivity",
                      "mnist", "mnist_v1", "anatomy", "deconstruct", "importance", "early_bird", "mask_distance",
                      "rewinding@vgg19", "rewinding@resnet20", "double_descent@dense", "double_descent@tickets",
                      "transformer_tickets", "report", *cifar,
                      *(f"sweep@{kind}" for kind in ("init_scale", "pruning_rate", "network_size"))}
    report = (project / "reports" / "report.md").read_text()
    assert "## XOR" in report and "## MNIST" in report and "Profile `smoke`" in report and "test data" in report
    assert "## CIFAR-10" in report and (project / "reports" / "figures" / "cifar_vgg19.png").exists()
    cifar = json.loads((project / "reports" / "metrics.json").read_text())["cifar"]
    ledger = json.loads((project / "reports" / "claims.json").read_text())["cifar"]["claims"]
    statements = [c for c in ledger.values() if c["kind"] != "direction"]   # directions are counted apart
    assert cifar["holds"] + cifar["fails"] + cifar["not_testable"] == len(statements) > 0
    assert len(ledger) - len(statements) == 15                              # five directions per conv net
    assert (project / "reports" / "figures" / "mnist_controls.png").exists()
    assert "## MNIST in the first version's setup" in report and "## Anatomy of winning tickets" in report
    assert (project / "artifacts" / "mnist_v1" / "tickets.pt").exists()
    assert "## The first version's parameter sweeps" in report
    assert "## Deconstructing lottery tickets" in report and "## Layerwise importance" in report
    assert "## Early-bird tickets" in report and "## When unstructured masks settle" in report
    assert "## Late rewinding and linear mode connectivity" in report and "`rewinding/resnet20`" in report
    assert "## Double descent and lottery tickets" in report and "### Where the tickets fall" in report
    assert "## Lottery tickets in a small transformer" in report
    for figure in ("mnist_v1_one_shot", "anatomy_initialisations", "anatomy_connectivity", "sweep_init_scale",
                   "sweep_pruning_rate", "sweep_network_size_iterative", "deconstruct_criteria", "deconstruct_mask1",
                   "deconstruct_mask0", "deconstruct_supermask", "importance_metrics", "importance_overlap",
                   "early_bird_distances", "mask_distance", "rewinding", "deconstruct_conv2_criteria",
                   "importance_conv2_overlap", "double_descent_curve", "double_descent_sparsity",
                   "double_descent_losses", "transformer_tickets"):
        assert (project / "reports" / "figures" / f"{figure}.png").exists()
    claims = json.loads((project / "reports" / "claims.json").read_text())
    assert claims["xor"]["claims"]["xor_random_2_units_db"]["paper"] == 49.1
    assert claims["mnist"]["claims"]["mnist_ticket_gain_at_50k"]["verdict"] == "not testable at this profile"
    words = " ".join(report.split())                  # the report's prose is wrapped at 120 characters
    assert "testable statements hold at profile `smoke`" in words
    assert (project / "reports" / "figures" / "xor_calibration.png").exists()
    assert (project / "reports" / "figures" / "xor_success_rates.png").stat().st_size > 10_000
    first = (project / "results" / "xor" / "results.json").read_text()

    assert _repro(project, env)[0] == set()                         # nothing changed: nothing runs

    params_path = project / "params.yaml"
    original = params_path.read_text()
    params = yaml.safe_load(original)
    params["xor"]["lr"] = 0.02                                       # a training stage's param
    params["anatomy"]["bins"] = 30                                   # reads the kept tickets, trains nothing
    params["mask_distance"]["threshold"] = 0.2                       # one study's param: that study only
    params_path.write_text(yaml.safe_dump(params, sort_keys=False))
    assert _repro(project, env)[0] == {"xor", "anatomy", "mask_distance", "report"}
    assert (project / "results" / "xor" / "results.json").read_text() != first

    params_path.write_text(original)                                 # revert: all three come from the run-cache
    stages, out = _repro(project, env)
    assert stages == {"report"} and "Stage 'xor' is cached" in out and "Stage 'mask_distance' is cached" in out
    assert (project / "results" / "xor" / "results.json").read_text() == first

    shown = json.loads(dvc(project, env, "metrics", "show", "--json"))
    files = {path for revision in shown.values() for path in revision["data"]}
    assert files == {"reports/metrics.json"}                         # only the headline numbers are metrics
    numbers = [v for revision in shown.values() for data in revision["data"].values()
               for section in data["data"].values() for v in section.values()]
    assert 0 < len(numbers) <= 40 and all(isinstance(v, (int, float)) for v in numbers)
    ledger = json.loads(dvc(project, env, "metrics", "show", "--json",
                            "reports/claims.json"))                  # the full ledger: shown and diffed on request
    assert "xor_random_2_units_db" in json.dumps(ledger) and '"verdict"' in json.dumps(ledger)
