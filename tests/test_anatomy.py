"""The first version's run (masks kept as packed bits, one-shot controls) and the anatomy statistics, checked
on hand-made masks and weights."""
import dataclasses

import numpy as np
import pytest
import torch

import lth.shared.population as population
from lth.config import ConfigError
from lth.experiments.anatomy import AnatomyConfig, anatomy, connectivity, survivor_statistics
from lth.shared.lenet_v1 import MnistV1Config, MnistV1Lottery
from lth.shared.ticket_file import pack_masks, unpack_masks
from lottery_run import TINY, tiny_data


def test_packed_masks_round_trip_and_are_eight_times_smaller():
    generator = torch.Generator().manual_seed(3)
    masks = {"a": torch.rand(2, 7, 13, generator=generator) > 0.4, "b": torch.rand(2, 3, 7, generator=generator) > 0.5}
    packed = pack_masks(masks, ["a", "b"])
    assert packed["a"].dtype == torch.uint8 and packed["a"].shape == (2, (7 * 13 + 7) // 8)
    for name in masks:
        assert torch.equal(unpack_masks(packed[name], tuple(masks[name].shape[1:])), masks[name])


def test_survivor_statistics_on_hand_made_weights():
    # one trial, 1 x 8 weights; the layer's SD is that of all 8 values
    w = np.array([[[-3.0, -2.0, -1.0, -0.2, 0.2, 1.0, 2.0, 3.0]]])
    sd = float(np.std(w))
    mask = np.array([[[True, True, False, False, True, False, True, True]]])
    stats = survivor_statistics(w, mask, bins=8)
    kept = np.array([-3.0, -2.0, 0.2, 2.0, 3.0]) / sd
    assert stats["survivors"] == 5
    assert stats["beyond_1sd"] == pytest.approx(np.mean(np.abs(kept) > 1), abs=1e-6)
    assert stats["within_half_sd"] == pytest.approx(np.mean(np.abs(kept) < 0.5), abs=1e-6)
    assert sum(stats["counts"]) == 5 and stats["beyond_1sd_trials"] == [stats["beyond_1sd"]]
    expected = [sum(lo <= v < hi for v in np.clip(kept, -4, 4)) for lo, hi in zip(range(-4, 4), range(-3, 5))]
    expected[-1] += sum(v == 4 for v in np.clip(kept, -4, 4))        # numpy's last bin is closed
    assert stats["counts"] == expected


def test_connectivity_counts_incoming_and_cut_off_units():
    # layer a: 3 units x 4 inputs; layer b: 2 units x 3 inputs (= a's units); two trials
    a = np.array([[[1, 1, 0, 0], [0, 0, 0, 0], [1, 1, 1, 0]],
                  [[1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]]], dtype=bool)
    b = np.array([[[1, 0, 1], [0, 0, 1]],
                  [[0, 1, 0], [0, 1, 0]]], dtype=bool)
    stats = connectivity({"a": a, "b": b}, ["a", "b"])
    assert stats["a"]["incoming_sorted"] == [3.5, 1.5, 0.0]           # trial 1: 3, 2, 0; trial 2: 4, 1, 0
    assert stats["a"]["no_incoming"] == 1.0 and stats["a"]["no_incoming_trials"] == [1, 1]
    assert stats["a"]["no_outgoing"] == 1.5                           # trial 1: unit 1; trial 2: units 0 and 2
    assert stats["b"]["incoming_sorted"] == [1.5, 1.0] and "no_outgoing" not in stats["b"]


def _v1_tiny():
    return MnistV1Config(**{**dataclasses.asdict(TINY), "init": "normal", "init_std": 0.1, "reinit_per_ticket": 2,
                            "rewire_per_ticket": 1, "one_shot_rounds": [1, 2]})


def test_v1_run_keeps_every_rounds_ticket_masks_and_trains_one_shot_controls(monkeypatch, tmp_path):
    config = _v1_tiny()
    trained_masks = []
    real = population.train_in_processes

    def spy(job, *args, **kwargs):
        trained_masks.append({n: m.clone() for n, m in job.masks.items()})
        return real(job, *args, **kwargs)

    monkeypatch.setattr(population, "train_in_processes", spy)
    run = MnistV1Lottery(config, tiny_data(), torch.device("cpu"), tmp_path / "ck.pt", progress=False)
    results = run.run()
    T, R, W = config.trials, config.reinit_per_ticket, config.rewire_per_ticket
    tickets = run.tickets()
    rounds = len(results["rounds"])
    for name in run.names:
        assert torch.equal(tickets[f"init/{name}"], run.init[name])
        assert tickets[f"masks/{name}"].shape[:2] == (rounds, T)
        shape = tuple(run.init[name].shape[1:])
        for r in range(1, rounds):          # the masks round r's tickets trained under (first T members)
            assert torch.equal(unpack_masks(tickets[f"masks/{name}"][r], shape), trained_masks[r][name][:T].bool())
        assert unpack_masks(tickets[f"masks/{name}"][0], shape).all()
    one_shot = results["one_shot"]
    assert [lv["round"] for lv in one_shot] == [1, 2]
    for level in one_shot:
        assert len(level["ticket"]["pm"]) == T and len(level["reinit"]["pm"]) == T * R
        assert len(level["rewire"]["pm"]) == T * W
        assert level["reinit"]["pm"] == [p for p in level["ticket"]["pm"] for _ in range(R)]
    # one-shot level 1 prunes like IMP round 1 (the same dense weights, the same rates)
    assert one_shot[0]["ticket"]["pm"] == results["rounds"][1]["ticket"]["pm"]

    stats = anatomy(tickets, [100 * r["ticket"]["pm"][0] for r in results["rounds"]],
                    AnatomyConfig(init_rounds=[0, 1], connectivity_rounds=[1], bins=10))
    assert stats["initialisations"][0]["layers"][run.names[0]]["remaining"] == 1.0
    with pytest.raises(ConfigError, match=r"anatomy\.connectivity_rounds contains 9: .* rounds 0-"):
        anatomy(tickets, [0.0] * rounds, AnatomyConfig(init_rounds=[0], connectivity_rounds=[9]))
