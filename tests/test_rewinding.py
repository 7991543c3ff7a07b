"""Rewinding and linear mode connectivity: the values a ticket is rewound to are those the dense run had at
iteration k (checked against a run stopped at k), the interpolation's ends are the members' own weights and
errors, the rest of the schedule continues from k, and the instability measure on hand-made paths."""
import dataclasses

import pytest
import torch

from lth.config import ConfigError, build
from lth.core.convnets import make_convnet
from lth.core.engine import TrainJob, evaluate
from lth.data import DeviceData, Split
from lth.experiments.rewinding import RewindingConfig, RewindingStudy, schedule_from
from lth.shared.trajectory import interpolate, train_recording
from lth.report.rewinding import instability


def _data():
    """Random 8x8 images (ResNet-20 pools globally; a sixteenth of CIFAR's pixels keeps the study test short)."""
    g = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 8, 8, generator=g), torch.arange(n) % 10)     # noqa: E731
    return DeviceData(train=split(64), validation=split(16), test=split(32))


CONFIG = RewindingConfig(arch="resnet20", width=0.125, batch_size=8, iterations=12, lr_milestones=[8],
                         rewind_iterations=[0, 2, 6], rounds=2, conv_rate=0.5, interpolation_points=3, trials=2)


def test_recorded_weights_at_k_are_those_of_a_run_stopped_at_k():
    data = _data()
    model = make_convnet("resnet20", 0.125)
    init = model.init_params([1, 2], "glorot_normal")
    job = TrainJob(model, init, {}, schedule_from(CONFIG, 0, 2), data.train, [5, 6])
    _, points = train_recording(job, lambda state, rows: dict(state), chunk=1)
    stopped = TrainJob(model, init, {}, dataclasses.replace(schedule_from(CONFIG, 0, 2), iterations=6),
                       data.train, [5, 6])
    result, _ = train_recording(stopped, lambda state, rows: {}, chunk=1)
    for name, value in result.params.items():
        assert torch.equal(points[2][name], value), name           # point 3 = iteration 6


def test_study_rewinds_to_the_recorded_k_and_continues_the_schedule(tmp_path):
    study = RewindingStudy(CONFIG, _data(), torch.device("cpu"), tmp_path / "r.pt", progress=False)
    dense = study._dense()
    assert sorted(dense["at"]) == [0, 2, 6] and CONFIG.record_every == 2
    assert all(torch.equal(dense["at"][0][n], study.init[n]) for n in study.init)
    later = schedule_from(CONFIG, 6)
    assert later.iterations == 6 and later.lr_milestones == (2,)
    assert schedule_from(CONFIG, 10).lr_milestones == ()
    result = study.run()
    assert [r["round"] for r in result["rounds"]] == [1, 2]
    first, second = result["rounds"]
    assert set(first["k"]["2"]) == {"ticket", "dense"} and set(second["k"]["2"]) == {"ticket"}
    assert second["pm"][0] < first["pm"][0]
    path = first["k"]["6"]["ticket"]
    # the path's ends are the copies' own errors (on the same test images)
    assert path["path_error"][0] == [pytest.approx(100 * (1 - a), abs=1e-3) for a in path["accuracy"][0]]
    assert path["path_error"][-1] == [pytest.approx(100 * (1 - a), abs=1e-3) for a in path["accuracy"][1]]


def test_interpolation_ends_are_the_members_own_weights():
    model = make_convnet("vgg19", 0.0625)
    a, b = model.init_params([1], "glorot_normal"), model.init_params([2], "glorot_normal")
    assert all(torch.equal(interpolate(a, b, 0.0)[n], a[n]) and torch.equal(interpolate(a, b, 1.0)[n], b[n]) for n in a)
    half = interpolate(a, b, 0.5)
    assert torch.allclose(half["conv0.weight"], (a["conv0.weight"] + b["conv0.weight"]) / 2)
    x = Split(torch.randn(8, 3, 32, 32), torch.arange(8) % 10)
    assert torch.equal(evaluate(model, interpolate(a, b, 1.0), x)[1], evaluate(model, b, x)[1])


def test_instability_is_the_peak_error_above_the_ends():
    assert instability([[10.0], [25.0], [12.0]]) == 14.0                  # 25 - (10 + 12) / 2
    assert instability([[10.0, 20.0], [9.0, 20.0], [10.0, 20.0]]) == 0.0  # a path below its ends: 0


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"rewinding_vgg19\.rewind_iterations = \[0, 50\]: must increase and stay below"):
        build(RewindingConfig, {"iterations": 40, "rewind_iterations": [0, 50], "lr_milestones": []}, "rewinding_vgg19")
    assert RewindingConfig(rewind_iterations=[0, 100, 500, 2000]).record_every == 100


def test_rewinding_must_start_at_zero():
    with pytest.raises(ConfigError, match=r"rewind_iterations = \[100, 500\]: must start at 0"):
        build(RewindingConfig, {"rewind_iterations": [100, 500]}, "rewinding_vgg19")
