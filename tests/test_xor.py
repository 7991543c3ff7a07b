import dataclasses

import pytest
import torch
from torch import nn

from lth.core.engine import TrainJob, TrainSettings, train_population
from lth.core.models import PopulationMLP
from lth.shared.xor_net import MSE_FLAG, success_rates, xor_init, xor_net, xor_split
from lth.shared.xor_tables import XorConfig, XorPruningConfig, pruning_table, random_init_table


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


# ------------------------------------------------------------------------------ the loss of an XOR net
HAND_MADE = {"fc0.weight": [[0.5, -1.0], [1.5, 0.25], [-0.75, 1.0]], "fc0.bias": [0.1, -0.2, 0.3],
             "fc1.weight": [[1.0, -2.0, 0.5]], "fc1.bias": [-0.1]}


class Reference(nn.Module):
    """A plain 2-3-1 net: the textbook formulation the population net must agree with."""

    def __init__(self, activation):
        super().__init__()
        self.hidden, self.out, self.activation = nn.Linear(2, 3), nn.Linear(3, 1), activation
        with torch.no_grad():
            for layer, name in ((self.hidden, "fc0"), (self.out, "fc1")):
                layer.weight.copy_(torch.tensor(HAND_MADE[f"{name}.weight"]))
                layer.bias.copy_(torch.tensor(HAND_MADE[f"{name}.bias"]))

    def forward(self, x):
        return torch.sigmoid(self.out(getattr(torch, self.activation)(self.hidden(x)))).squeeze(-1)


def _reference_sgd(activation, loss, steps, lr):
    net = Reference(activation)
    data = xor_split()
    criterion = nn.MSELoss() if loss == "mse" else nn.BCELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        criterion(net(data.x), data.y.float()).backward()
        optimizer.step()
    return {"fc0.weight": net.hidden.weight, "fc0.bias": net.hidden.bias, "fc1.weight": net.out.weight,
            "fc1.bias": net.out.bias}


def _population(losses):
    params = {name: torch.tensor(value).unsqueeze(0).repeat(len(losses), *[1] * torch.tensor(value).dim())
              for name, value in HAND_MADE.items()}
    params[MSE_FLAG] = torch.tensor([float(loss == "mse") for loss in losses])
    return params


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_mse_and_bce_members_train_as_a_plain_module_does(activation):
    """Hand-made weights, plain SGD: an MSE member follows nn.MSELoss on a sigmoid output and a BCE member
    nn.BCELoss, step for step, inside one population (each member's loss its own)."""
    steps, lr = 25, 0.5
    data = xor_split()
    job = TrainJob(xor_net(3, activation), _population(["mse", "bce"]), {},
                   TrainSettings(steps, optimizer="sgd", lr=lr), data, [0, 1], evaluations={"train": data})
    trained = train_population(job).params
    for member, loss in enumerate(["mse", "bce"]):
        expected = _reference_sgd(activation, loss, steps, lr)
        for name, value in expected.items():
            torch.testing.assert_close(trained[name][member], value.detach(), rtol=1e-5, atol=1e-6)
    assert not torch.equal(trained["fc1.weight"][0], trained["fc1.weight"][1])       # the losses differ


def test_a_bce_member_is_the_plain_population_net_bit_for_bit():
    """The loss flag changes nothing for a cross-entropy member: the same bits as the net without the wrapper
    (the xor stage's results before MSE existed), and an MSE member beside it changes none of them."""
    data, seeds = xor_split(), list(range(6))
    settings = TrainSettings(200, optimizer="adam", lr=0.05)
    model = xor_net(4, "tanh")
    init = xor_init(model, seeds, "normal", 1.0, "like_weights", "bce")
    plain = {n: p for n, p in init.items() if n != MSE_FLAG}
    before = train_population(TrainJob(PopulationMLP((2, 4, 1), "tanh"), plain, {}, settings, data, seeds,
                                       evaluations={"train": data}))
    mixed = dict(init)
    mixed[MSE_FLAG] = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    after = train_population(TrainJob(model, mixed, {}, settings, data, seeds, evaluations={"train": data}))
    for name in plain:
        assert torch.equal(after.params[name][0::2], before.params[name][0::2]), name
    assert torch.equal(after.curves["train"]["loss"][0::2], before.curves["train"]["loss"][0::2])
    assert not torch.equal(after.params["fc0.weight"][1::2], before.params["fc0.weight"][1::2])


def test_zero_loss_is_judged_on_cross_entropy_whichever_loss_trains():
    """The engine's reported loss of an MSE member is the binary cross-entropy of its output (the ZL criterion)."""
    data = xor_split()
    job = TrainJob(xor_net(3, "tanh"), _population(["mse"]), {}, TrainSettings(1, optimizer="sgd", lr=1e-9), data,
                   [0], evaluations={"train": data})
    reported = train_population(job).curves["train"]["loss"][0, -1]
    output = Reference("tanh")(data.x)
    torch.testing.assert_close(reported.float(), nn.BCELoss()(output, data.y.float()), rtol=1e-4, atol=1e-6)


def test_xor_init_names_the_losses_it_knows():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; allowed: bce, mse"):
        xor_init(xor_net(2, "relu"), [0], "normal", 1.0, "zero", "hinge")
