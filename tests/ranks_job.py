"""A study of one population trained through the lotteries' path (``PopulationTrainer`` with its driver and
checkpoint), run by tests/test_ranks.py under ``torchrun`` on 1, 2 or 3 gloo ranks:

    torchrun --nproc_per_node=N tests/ranks_job.py OUT CHECKPOINT ITERATIONS [ORDER ...]

ORDER is ``own`` (the default: each member its own batch order) or ``shared`` (one batch order for the
population: a member's bits then depend on its group); several orders train one study after another in the
same launch (``shared`` checkpointed beside CHECKPOINT, with ``-shared`` in its name). Rank 0 writes the
trained weights' bytes to OUT, the orders' one after another, and prints how many groups it resumed with a
saved state. Small groups (``MIN_GROUP_WEIGHTS`` = 1) so that every rank has groups to train; a snapshot at
every evaluation."""
import sys
from pathlib import Path

import torch

import lth.core.processes
from lth import ranks
from lth.core.engine import TrainSettings
from lth.core.masks import dense_masks, prune_by_rate
from lth.core.models import PopulationMLP
from lth.data import DeviceData, Split
from lth.shared.driver import StudyDriver
from lth.shared.population import PopulationTrainer


def main(out: Path, checkpoint: Path, iterations: int, orders: list[str]) -> None:
    ranks.start()
    lth.core.processes.MIN_GROUP_WEIGHTS = 1
    assert set(orders) <= {"own", "shared"}, f"orders are 'own' and 'shared', not {orders}"
    trained, resumed = b"", 0
    for order in orders:
        path = checkpoint if order == "own" else checkpoint.with_name(f"{checkpoint.stem}-shared{checkpoint.suffix}")
        weights, groups = study(path, iterations, order == "shared")
        trained, resumed = trained + weights, resumed + groups
    if ranks.is_leader():
        out.write_bytes(trained)
        print(f"resumed groups: {resumed}", flush=True)


def study(checkpoint: Path, iterations: int, shared: bool) -> tuple[bytes, int]:
    """One population trained to the end through the driver and its checkpoint (deleted then): the weights'
    bytes and how many groups started from a saved state."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 20, generator=generator)
    y = x[:, :3].argmax(1)
    data = DeviceData(Split(x[:240], y[:240]), Split(x[240:320], y[240:320]), Split(x[320:], y[320:]))
    model = PopulationMLP((20, 32, 16, 3))
    members = 7
    params = model.init_params(list(range(members)))
    masks = prune_by_rate({n: params[n].abs() for n in model.layer_names}, dense_masks(params, model.layer_names),
                          {n: 0.4 for n in model.layer_names})
    settings = TrainSettings(iterations=iterations, batch_size=20, optimizer="adam", lr=3e-3, eval_every=10,
                             shared_data_order=shared)
    driver = StudyDriver(checkpoint, "ranks-test", "ranks test", torch.device("cpu"), progress=False)
    trainer = PopulationTrainer(model, settings, data, model.layer_names, driver, 0, torch.device("cpu"),
                                split_over_processes=True, snapshot_every_s=0.0)

    def step(state):
        result, _ = trainer.train(params, masks, ["ticket"] * members, 0, "test", None)
        state["params"] = result.params

    state = driver.start(lambda: {})
    partial = state.get("partial")
    resumed = sum(g is not None for g in partial["run"]["groups"]) if partial else 0
    driver.run([("train", step)])
    if ranks.is_leader():
        checkpoint.unlink(missing_ok=True)
    return b"".join(state["params"][n].contiguous().numpy().tobytes() for n in sorted(state["params"])), resumed


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] or ["own"])
