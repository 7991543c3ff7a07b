import dataclasses

import torch

from lth.experiments.xor import XorConfig, XorPruningConfig, pruning_table, random_init_table
from lth.shared.xor_net import success_rates


def test_success_rates_and_standard_error():
    loss = torch.tensor([0.001, 0.5, 0.002, 0.0])
    accuracy = torch.tensor([1.0, 1.0, 0.75, 1.0])
    rates = success_rates(loss, accuracy, threshold=0.01)
    assert rates["db"] == 75.0 and rates["zl"] == 75.0 and rates["trials"] == 4
    assert abs(rates["db_se"] - 100 * (0.75 * 0.25 / 4) ** 0.5) < 1e-3


def test_xor_tables_small_run():
    config = dataclasses.replace(XorConfig(), trials=200, hidden_units=[10, 2], iterations=300,
                                 pruning=XorPruningConfig(targets=[4, 2]))
    table = random_init_table(config, torch.device("cpu"), progress=False)
    assert set(table) == {"10", "2"}
    assert table["10"]["db"] > table["2"]["db"] + 30          # wide nets train far more reliably
    pruned = pruning_table(config, torch.device("cpu"), progress=False)
    assert set(pruned["one_shot"]) == {"input_magnitude", "output_magnitude", "product"}
    assert set(pruned["iterative"]["product"]) == {"4", "2"}
    # winning tickets at 2 units beat random 2-unit nets (the paper's XOR finding)
    assert pruned["iterative"]["product"]["2"]["db"] > table["2"]["db"] + 20
