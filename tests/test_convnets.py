"""CIFAR nets: the paper's parameter counts, the population layout, batch norm per member, pruning rates,
schedules and the on-device augmentation."""
import json

import pytest
import torch
from torch import nn

from lth.config import ConfigError
from lth.core.augment import flip_and_crop
from lth.core import convnets
from lth.core.convnets import make_convnet, max_pool_2x2, population_conv2d
from lth.core.engine import Split, TrainJob, TrainSettings, evaluate, train_in_chunks, train_population
from lth.core.masks import dense_masks, remaining_fraction
from lth.data import DeviceData
from lth.experiments.cifar import CifarConfig, CifarLottery


@pytest.mark.parametrize("arch, expected, paper", [
    ("conv2", 4_301_642, 4.3e6), ("conv4", 2_425_930, 2.4e6), ("vgg19", 20_035_018, 20.0e6),
    ("resnet20", 272_474, 274e3)])
def test_parameter_counts_match_the_papers_table(arch, expected, paper):
    count = make_convnet(arch).parameter_count()
    assert count == expected
    assert abs(count - paper) / paper < 0.02


def test_conv6_count_is_that_of_its_listed_layers():
    """The paper's table says 1.7M for Conv-6, but its listed layers (64,64,P,128,128,P,256,256,P, fc
    4096-256-256-10) hold 2.26M weights; the conv layers alone are 1.14M. We build the listed layers."""
    model = make_convnet("conv6")
    shapes = model.shapes()
    conv = sum(torch.Size(s).numel() for n, (s, _) in shapes.items() if n.startswith("conv") and n.endswith("weight"))
    assert conv == 1_144_512
    assert shapes["fc0.weight"][0] == (256, 4096)
    assert model.parameter_count() == 2_262_602


def _reference_conv2(params, k):
    """Member k of a population Conv-2 as an ordinary nn.Sequential."""
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 16 * 16, 32), nn.ReLU(), nn.Linear(32, 32),
                        nn.ReLU(), nn.Linear(32, 10)).double()
    layers = [net[0], net[2], net[6], net[8], net[10]]
    names = ["conv0", "conv1", "fc0", "fc1", "fc2"]
    with torch.no_grad():
        for layer, name in zip(layers, names):
            layer.weight.copy_(params[f"{name}.weight"][k])
            layer.bias.copy_(params[f"{name}.bias"][k])
    return net


def test_population_forward_equals_plain_modules_for_shared_and_own_batches():
    model = make_convnet("conv2", width=0.125)
    params = model.init_params([1, 2, 3], dtype=torch.float64)
    for p in params.values():
        p.add_(0.01 * torch.randn_like(p))          # non-zero biases too
    x = torch.randn(5, 3, 32, 32, dtype=torch.float64)
    own = torch.randn(3, 5, 3, 32, 32, dtype=torch.float64)
    shared_out, own_out = model.forward(params, x), model.forward(params, own)
    for k in range(3):
        reference = _reference_conv2(params, k)
        assert torch.allclose(shared_out[k], reference(x), atol=1e-10)
        assert torch.allclose(own_out[k], reference(own[k]), atol=1e-10)


def test_evaluation_max_pool_gives_torchs_values_with_ties_and_nan_and_falls_back_elsewhere():
    generator = torch.Generator().manual_seed(0)
    maps = torch.relu(torch.randn(4, 6, 8, 10, generator=generator)).contiguous(memory_format=torch.channels_last)
    maps[0, 0, :2, :2] = 1.5                                      # a window of four equal values
    maps[1, 2, 2, 3] = float("nan")
    expected = torch.nn.functional.max_pool2d(maps, 2)
    with torch.no_grad():
        pooled = max_pool_2x2(maps)
        assert torch.equal(pooled.nan_to_num(-1.0), expected.nan_to_num(-1.0)) and pooled[1, 2, 1, 1].isnan()
        assert pooled.is_contiguous(memory_format=torch.channels_last)
        for other in (maps.contiguous(), maps[:, :, :7]):         # channels-first, odd height: torch's kernel
            assert torch.equal(max_pool_2x2(other).nan_to_num(-1.0),
                               torch.nn.functional.max_pool2d(other, 2).nan_to_num(-1.0))


def _bits(t):
    return t.contiguous().view(torch.int32)


@pytest.mark.parametrize("arch", ["conv2", "conv4", "conv6", "vgg19", "resnet20"])
def test_evaluation_without_gradients_gives_the_bits_of_torchs_kernels(arch, monkeypatch):
    """Without gradients the nets pool by elementwise maxima and apply ReLU in place: every logit is the same bits
    as with torch's pooling kernel and out-of-place ReLU."""
    model = make_convnet(arch, width=0.125, dropout=0.5 if arch == "conv2" else 0.0)
    params = model.init_params([1, 2])
    for p in params.values():
        p.add_(0.01 * torch.randn_like(p))
    images = torch.randn(12, 3, 32, 32)
    with torch.no_grad():
        fast = model.forward(params, images)
    monkeypatch.setattr(convnets, "max_pool_2x2", lambda h: torch.nn.functional.max_pool2d(h, 2))
    with torch.enable_grad():
        assert torch.equal(_bits(fast), _bits(model.forward(params, images)))


def _papers_order_logits(model, params, images):
    """Conv-2/4/6 or VGG as the papers write them, from torch's own operations: each convolution (and batch
    norm), ReLU into a new tensor, then max-pooling with torch's kernel; the population's fc layers."""
    h, shared = convnets.enter_population(images)
    index = 0
    for item in convnets.CONV_PLANS[model.arch]:
        if item == "M":
            h = torch.nn.functional.max_pool2d(h, 2)
            continue
        h = population_conv2d(h, params[f"conv{index}.weight"], params.get(f"conv{index}.bias"), shared)
        if model.batch_norm:
            h = convnets.population_batch_norm(h, params, f"bn{index}", True)
        h, shared, index = torch.relu(h), False, index + 1
    if model.batch_norm:
        h = convnets.global_average_pool(h)
    h = convnets.to_member_features(h, params["conv0.weight"].shape[0])
    layers = len(model.fc_sizes) + 1
    for i in range(layers):
        h = convnets.population_linear(h, params[f"fc{i}.weight"], params[f"fc{i}.bias"], None)
        h = torch.relu(h) if i < layers - 1 else h
    return h


@pytest.mark.parametrize("arch", ["conv2", "conv4", "vgg19"])
def test_training_pass_pooling_before_relu_gives_the_bits_of_relu_then_pooling(arch):
    """The nets pool a convolution's maps before its ReLU (a quarter of the elements) and apply ReLU in place:
    logits and every gradient are the same bits as ReLU into a new tensor and then pooling, with windows of
    equal values (constant image regions) and windows whose values are all negative (negative biases)."""
    model = make_convnet(arch, width=0.125)
    params = model.init_params([1, 2])
    generator = torch.Generator().manual_seed(3)
    for name, p in params.items():
        if name.endswith("bias") or name.startswith("bn") and name.endswith("weight"):
            p.copy_(torch.randn(p.shape, generator=generator))     # half the channels biased negative
    images = torch.randn(6, 3, 32, 32, generator=generator)
    images[:, :, 4:20, 8:28] = 0.25                                # constant regions: ties in the pooled windows
    images = images.contiguous(memory_format=torch.channels_last)
    weights = torch.randn(2, 6, 10, generator=generator)
    outcomes = []
    for forward in (model.forward, lambda p, x, training: _papers_order_logits(model, p, x)):
        copies = {name: p.clone().requires_grad_(not name.endswith(("running_mean", "running_var")))
                  for name, p in params.items()}
        logits = forward(copies, images, training=True)
        (logits * weights).sum().backward()
        outcomes.append([logits.detach()] + [copies[n].grad for n in sorted(copies) if copies[n].requires_grad])
    tied = torch.nn.functional.max_pool2d(torch.relu(population_conv2d(
        images, params["conv0.weight"], params.get("conv0.bias"), True)), 2)
    assert (tied == 0).any() and (tied > 0).any()
    for ours, papers in zip(*outcomes):
        assert torch.equal(_bits(ours), _bits(papers))


@pytest.mark.parametrize("arch", ["vgg19", "resnet20"])
def test_batch_norm_population_equals_separate_models(arch):
    """Members with batch norm trained together (grouped convs, per-member statistics) == each alone."""
    model = make_convnet(arch, width=0.125)
    generator = torch.Generator().manual_seed(0)
    train = Split(torch.randn(16, 3, 16, 16, generator=generator, dtype=torch.float64),   # small images: fast
                  torch.randint(0, 10, (16,), generator=generator))
    params = model.init_params([5, 6], dtype=torch.float64)
    masks = {n: torch.rand(params[n].shape, generator=generator) > 0.3
             for n, kind in model.layer_kinds.items() if kind == "conv"}
    settings = TrainSettings(iterations=3, batch_size=4, optimizer="sgd", lr=0.05, momentum=0.9,
                             weight_decay=1e-4)
    job = TrainJob(model, params, masks, settings, train, [7, 8])
    together = train_population(job)
    chunked = train_in_chunks(job, chunk=1)
    for name in params:
        assert torch.allclose(together.params[name], chunked.params[name], atol=1e-9), name
    assert not torch.equal(together.params["fc.weight" if arch == "resnet20" else "fc0.weight"],
                           params["fc.weight" if arch == "resnet20" else "fc0.weight"])
    running = [n for n in model.buffer_names if n.endswith("running_mean")][0]
    assert not torch.equal(together.params[running], params[running])   # statistics were updated
    for name, mask in masks.items():
        assert (together.params[name][~mask] == 0).all()


def _tiny_data():
    generator = torch.Generator().manual_seed(0)
    split = lambda n: Split(torch.randn(n, 3, 32, 32, generator=generator), torch.arange(n) % 10)  # noqa: E731
    return DeviceData(train=split(40), validation=split(20), test=split(20))


@pytest.mark.parametrize("in_channels", [1, 2, 4, 7, 16])
def test_one_members_strided_pointwise_convolution_matches_a_plain_conv(in_channels):
    """A ResNet shortcut (1x1, stride 2) of one member on channels-last maps: output and both gradients equal
    those of a plain ``nn.Conv2d`` on channels-first maps. oneDNN's AVX2 kernel for the strided form hangs or
    returns a wrong weight gradient at 2-7 input channels; ``population_conv2d`` must not reach it."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(8, in_channels, 16, 16, generator=generator)
    weight = torch.randn(1, 2 * in_channels, in_channels, 1, 1, generator=generator)
    upstream = torch.randn(8, 2 * in_channels, 8, 8, generator=generator)
    plain = nn.Conv2d(in_channels, 2 * in_channels, 1, stride=2, bias=False)
    with torch.no_grad():
        plain.weight.copy_(weight[0])
    plain_input = images.clone().requires_grad_()
    expected = plain(plain_input)
    expected.backward(upstream)
    ours_input = images.contiguous(memory_format=torch.channels_last).requires_grad_()
    ours_weight = weight.clone().requires_grad_()
    ours = population_conv2d(ours_input, ours_weight, None, shared=False, stride=2, padding=0)
    ours.backward(upstream.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(ours, expected, atol=1e-5)
    assert torch.allclose(ours_input.grad, plain_input.grad, atol=1e-5)
    assert torch.allclose(ours_weight.grad[0], plain.weight.grad, rtol=1e-5, atol=1e-4)


def test_layerwise_rates_for_conv_nets_and_global_rate_for_vgg(tmp_path):
    data = _tiny_data()
    conv6 = CifarLottery(CifarConfig(arch="conv6", width=0.125, conv_rate=0.15, trials=2, batch_size=8), data,
                         torch.device("cpu"), tmp_path / "a.pt", progress=False)   # (batches must fit 40 examples)
    kinds = conv6.model.layer_kinds
    assert {conv6.rates[n] for n in conv6.names if kinds[n] == "conv"} == {0.15}
    assert conv6.rates["fc0.weight"] == conv6.rates["fc1.weight"] == 0.2 and conv6.rates["fc2.weight"] == 0.1
    scores = {n: torch.rand(conv6.init[n].shape) for n in conv6.names}
    pruned = conv6.prune(scores, dense_masks(conv6.init, conv6.names))
    for name in conv6.names:
        kept = pruned[name].flatten(1).float().mean(1)
        assert torch.allclose(kept, torch.full_like(kept, 1 - conv6.rates[name]), atol=0.01)

    vgg = CifarLottery(CifarConfig(arch="vgg19", width=0.125, pruning="global", conv_rate=0.2, trials=2,
                                   batch_size=8), data, torch.device("cpu"), tmp_path / "b.pt", progress=False)
    assert all(n.startswith("conv") for n in vgg.names) and "fc0.weight" not in vgg.names
    scores = {n: torch.rand(vgg.init[n].shape) * (i + 1) for i, n in enumerate(vgg.names)}   # later layers larger
    pruned = vgg.prune(scores, dense_masks(vgg.init, vgg.names))
    assert torch.allclose(remaining_fraction(pruned, vgg.names), torch.full((2,), 0.8, dtype=torch.float64),
                          atol=1e-4)
    per_layer = [float(pruned[n].float().mean()) for n in vgg.names]
    assert per_layer[0] < 0.8 < per_layer[-1]          # global: small-magnitude layers lose more


def test_resnet_global_pruning_skips_shortcuts_and_fc(tmp_path):
    resnet = CifarLottery(CifarConfig(arch="resnet20", width=0.25, pruning="global", trials=1, batch_size=8),
                          _tiny_data(), torch.device("cpu"), tmp_path / "r.pt", progress=False)
    assert not any("shortcut" in n for n in resnet.names) and "fc.weight" not in resnet.names
    assert len(resnet.names) == 19           # stem + 18 block convs


def test_warmup_and_step_schedules():
    config = CifarConfig(arch="resnet20", optimizer="sgd", lr=0.03, warmup=20000, lr_milestones=[20000, 25000],
                         iterations=30000)
    settings = config.to_train_settings()
    assert settings.lr_factor(0) == pytest.approx(1 / 20000)
    assert settings.lr_factor(9999) == pytest.approx(0.5)
    assert settings.lr_factor(19999) == pytest.approx(1.0)
    assert settings.lr_factor(20000) == pytest.approx(0.1)
    assert settings.lr_factor(25000) == pytest.approx(0.01)
    # CifarConfig's momentum (0.9, for SGD) never reaches Adam; it does reach SGD
    from lth.core.optimizer import make_optimizer
    weight = [torch.zeros(16, requires_grad=True)]
    adam = make_optimizer(weight, CifarConfig(optimizer="adam").to_train_settings())
    assert type(adam) is torch.optim.Adam and "momentum" not in adam.param_groups[0]
    assert adam.param_groups[0]["betas"] == (0.9, 0.999) and adam.param_groups[0]["lr"] == 2e-4
    sgd = make_optimizer(weight, CifarConfig(optimizer="sgd", weight_decay=1e-4).to_train_settings())
    assert type(sgd) is torch.optim.SGD and sgd.param_groups[0]["momentum"] == 0.9
    assert sgd.param_groups[0]["weight_decay"] == 1e-4


def test_flip_and_crop_gives_shifted_or_flipped_windows():
    images = torch.randn(2, 6, 3, 8, 8)
    out = flip_and_crop(images, torch.Generator().manual_seed(0), pad=2)
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images.reshape(-1, 3, 8, 8), (2, 2, 2, 2))
    for original, result in zip(padded, out.reshape(-1, 3, 8, 8)):
        windows = [candidate[:, dy:dy + 8, dx:dx + 8] for candidate in (original, original.flip(2))
                   for dy in range(5) for dx in range(5)]
        assert any(torch.equal(result, w) for w in windows)
    again = flip_and_crop(images, torch.Generator().manual_seed(0), pad=2)
    assert torch.equal(out, again)
    assert not torch.equal(out, images)


@pytest.mark.parametrize("config", [
    CifarConfig(arch="conv2", width=0.125, dropout=0.5, iterations=30, eval_every=5, batch_size=8, trials=2,
                rounds=1, curve_rounds=[1]),
    CifarConfig(arch="resnet20", width=0.25, optimizer="sgd", lr=0.05, weight_decay=1e-4, augment=True,
                lr_milestones=[20], warmup=5, iterations=30, eval_every=5, batch_size=8, trials=2, rounds=1,
                pruning="global", conv_rate=0.2, curve_rounds=[0])])
def test_killed_mid_training_resumes_to_identical_results(config, tmp_path, monkeypatch):
    """A crash right after a within-round snapshot (here: in the middle of the second member's training)
    and a re-run give exactly the results of an uninterrupted run: weights, optimizer, batch order,
    dropout and augmentation generators all resume."""
    import lth.experiments.cifar as cifar
    import lth.shared.driver as driver
    monkeypatch.setattr(cifar, "SPLIT_NETS", ())        # one process: the snapshot layout below (the split's
    data = _tiny_data()                                  # resume is tested in test_parallel)
    whole = CifarLottery(config, data, torch.device("cpu"), tmp_path / "whole.pt", progress=False,
                         snapshot_every_s=0).run()
    real_save, saves = driver.save_torch_atomic, []

    def crash_after_seventh_partial(path, state):
        real_save(path, state)
        if state.get("partial") is not None:
            saves.append(state["partial"])
            if len(saves) == 7:
                raise KeyboardInterrupt("simulated kill")

    monkeypatch.setattr(driver, "save_torch_atomic", crash_after_seventh_partial)
    checkpoint = tmp_path / "killed.pt"
    with pytest.raises(KeyboardInterrupt):
        CifarLottery(config, data, torch.device("cpu"), checkpoint, progress=False, snapshot_every_s=0).run()
    partial = torch.load(checkpoint, weights_only=True)["partial"]        # plain containers and tensors only
    assert partial["key"] == ["imp", 0]
    run = partial["run"]                                 # mid-way through the second member's training
    assert run["ranges"] == [[0, 1], [1, 2]] and "result" in run["groups"][0]
    assert run["groups"][1]["snapshot"]["iteration"] == 5
    monkeypatch.setattr(driver, "save_torch_atomic", real_save)
    import lth.core.engine as engine
    real_train, resumed_from = engine.train_population, []

    def spy(job, resume=None, **kwargs):
        resumed_from.append(None if resume is None else resume["iteration"])
        return real_train(job, resume=resume, **kwargs)

    monkeypatch.setattr(engine, "train_population", spy)
    resumed = CifarLottery(config, data, torch.device("cpu"), checkpoint, progress=False, snapshot_every_s=0).run()
    assert json.dumps(resumed, sort_keys=True) == json.dumps(whole, sort_keys=True)
    # round 0 continued member 2 from its snapshot (member 1's result was kept), then round 1's four members
    assert resumed_from == [5, None, None, None, None]


def test_mixed_precision_trains_in_bfloat16_but_keeps_float32_state():
    model = make_convnet("conv2", width=0.125)
    data = _tiny_data()
    params = model.init_params([1, 2])
    masks = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(0)) > 0.5
             for n in model.layer_kinds}
    base = TrainSettings(iterations=10, batch_size=8, optimizer="adam", lr=1e-3, eval_every=5)
    full = train_population(TrainJob(model, params, masks, base, data.train, [3, 4],
                                     {"validation": data.validation}))
    mixed = train_population(TrainJob(model, params, masks, TrainSettings(**{**base.__dict__, "mixed_precision": True}),
                                      data.train, [3, 4], {"validation": data.validation}))
    for name in params:
        assert mixed.params[name].dtype == torch.float32
        assert torch.allclose(mixed.params[name], full.params[name], atol=0.02)
    assert any(not torch.equal(mixed.params[n], full.params[n]) for n in params)     # autocast did act
    for name, mask in masks.items():
        assert (mixed.params[name][~mask] == 0).all()
    assert torch.isfinite(mixed.curves["validation"]["loss"]).all()


@pytest.mark.parametrize("arch,settings", [
    ("conv2", TrainSettings(iterations=8, batch_size=8, optimizer="adam", lr=1e-2)),
    ("resnet20", TrainSettings(iterations=8, batch_size=8, optimizer="sgd", lr=0.1, momentum=0.9,
                               weight_decay=1e-3, augment=True)),
])
def test_pruned_conv_and_fc_weights_stay_exactly_zero(arch, settings):
    """The conv nets mask their own gradients (conv and fc layers): pruned weights never move."""
    model = make_convnet(arch, width=0.125, dropout=0.5 if arch == "conv2" else 0.0)
    data = _tiny_data()
    params = model.init_params([1, 2])
    masks = {n: torch.rand(params[n].shape, generator=torch.Generator().manual_seed(3)) > 0.5
             for n in model.layer_kinds}
    result = train_population(TrainJob(model, params, masks, settings, data.train, [5, 6]))
    for name, mask in masks.items():
        assert (result.params[name][~mask] == 0).all(), name
        assert (result.params[name][mask] != params[name][mask]).any(), name


def test_test_accuracies_computed_where_members_train_equal_the_whole_populations_evaluation(tmp_path):
    """Conv members trained one at a time in worker processes get their test accuracies (at early stop and at
    the end) from their own worker: the same values as one evaluation of the whole trained population in this
    process (the reference: the path taken where members train together)."""
    from lth.shared.driver import StudyDriver
    from lth.shared.population import PopulationTrainer
    model, data = make_convnet("conv2", width=0.125), _tiny_data()
    settings = TrainSettings(iterations=12, batch_size=8, optimizer="adam", lr=1e-2, eval_every=2, patience=4)
    params = model.init_params([1, 2, 3])
    masks = dense_masks(params, list(model.layer_kinds))
    summaries, results = [], []
    for split, chunk in ((True, 1), (False, None)):
        driver = StudyDriver(tmp_path / f"{split}.pt", "t", "t", torch.device("cpu"), progress=False)
        driver.start(dict)
        trainer = PopulationTrainer(model, settings, data, list(model.layer_kinds), driver, 0, torch.device("cpu"),
                                    chunk=chunk, split_over_processes=split)
        result, summary = trainer.train(params, masks, ["ticket"] * 3, 0, "t", None)
        summaries.append(summary), results.append(result)
    in_workers, reference = results
    assert in_workers.test_at_stop is not None and reference.test_at_stop is None
    assert torch.equal(in_workers.test_at_stop, evaluate(model, reference.best_params, data.test)[1])
    assert torch.equal(in_workers.final_test, evaluate(model, reference.params, data.test)[1])
    assert summaries[0] == summaries[1]
    tickets = summaries[0]["ticket"]      # some member's final weights are not its early-stop weights
    assert any(best != stop for best, stop in zip(tickets["early_stop_iteration"], tickets["stopped_iteration"]))


def test_train_validation_and_curve_examples_take_the_first_images_and_bad_counts_name_the_key(monkeypatch,
                                                                                              tmp_path):
    """``train_examples`` trains on the first N training images only; ``validation_examples`` stops early on the
    first N validation images; ``curve_examples`` records the test curves on the first N test images while the
    accuracy at early stop uses the whole test set."""
    import lth.shared.population as population
    data = _tiny_data()
    seen = []
    real = population.train_in_processes

    def spy(job, *args, **kwargs):
        seen.append(job)
        return real(job, *args, **kwargs)

    monkeypatch.setattr(population, "train_in_processes", spy)
    config = CifarConfig(arch="conv2", width=0.125, trials=1, batch_size=8, iterations=4, eval_every=2, rounds=0,
                         train_examples=24, validation_examples=8, curve_examples=12, curve_rounds=[0])
    CifarLottery(config, data, torch.device("cpu"), tmp_path / "c.pt", progress=False).run()
    job = seen[0]
    assert torch.equal(job.train.x, data.train.x[:24]) and torch.equal(job.train.y, data.train.y[:24])
    assert torch.equal(job.evaluations["test"].x, data.test.x[:12])
    assert torch.equal(job.evaluations["validation"].x, data.validation.x[:8])
    assert torch.equal(job.stop_test.x, data.test.x)          # accuracy at early stop and at the end: all of it

    with pytest.raises(ConfigError, match=r"conv2\.train_examples = 41: .* only 40 images"):
        CifarLottery(CifarConfig(arch="conv2", width=0.125, batch_size=8, train_examples=41), data,
                     torch.device("cpu"), tmp_path / "d.pt", progress=False, section="conv2")
    with pytest.raises(ConfigError, match=r"conv2\.validation_examples = 21: .* validation split has only 20"):
        CifarLottery(CifarConfig(arch="conv2", width=0.125, batch_size=8, validation_examples=21), data,
                     torch.device("cpu"), tmp_path / "f.pt", progress=False, section="conv2")
    with pytest.raises(ConfigError, match=r"conv2\.curve_examples = 21: .* test split has only 20"):
        CifarLottery(CifarConfig(arch="conv2", width=0.125, batch_size=8, curve_examples=21), data,
                     torch.device("cpu"), tmp_path / "e.pt", progress=False, section="conv2")
