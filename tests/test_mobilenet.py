"""zsac.acoustic.mobilenet: YAMNet's MobileNet-v1 as a second acoustic network, selectable by name.

Grouped by property: the layer table and shapes; batched and single embeddings agree; the config
rebuilds the network (also from VGGishConfig's backbone); folders save and load strictly; hostile
configs are refused before any allocation; the int8 copy agrees with fp32; a few steps train.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from zsac import CheckpointError, ConfigError
from zsac.acoustic import MobileNet, VGGish, VGGishConfig, load_vggish, save_vggish, vggish_from_weights
from zsac.acoustic.config import (
    MAX_MOBILENET_WIDTH,
    MAX_VGGISH_PARAMETERS,
    check_mobilenet_size,
    mobilenet_channels,
    mobilenet_parameter_count,
)
from zsac.acoustic.encoder import AcousticEncoder
from zsac.acoustic.networks import build_network
from zsac.checkpoint import model_version

TINY = {"width": 0.125}  # 74 k parameters: (8, 8, 16, 16, 32, 32, 64 x6, 128, 128) channels


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # These networks are tiny: with two threads on a busy 2-core machine, OpenMP's waits made one
    # training step take 6 s instead of 0.2 s.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def settled(model: MobileNet, seed: int = 0) -> MobileNet:
    """``model`` in eval mode with batch-norm statistics from a few batches (fresh ones are 0 and 1)."""
    generator = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model.embed(log_mel_like(32, generator))
    return model.eval()


def log_mel_like(n: int, generator: torch.Generator) -> torch.Tensor:
    """Log of rectified noise: the range and skew of log-mel examples, at no cost."""
    return torch.log(torch.randn(n, 96, 64, generator=generator).abs() + 0.01)


# ------------------------------------------------------------------------------------ layers and shapes


def test_the_layers_are_yamnets_at_width_one():
    model = MobileNet()
    convs = [m for m in model.features.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 1 + 2 * 13  # the stem, then a depthwise and a pointwise convolution per block
    stem, depthwise, pointwise = convs[0], convs[1::2], convs[2::2]
    assert (stem.in_channels, stem.out_channels, stem.kernel_size, stem.stride) == (1, 32, (3, 3), (2, 2))
    assert [c.stride[0] for c in depthwise] == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    assert all(c.groups == c.in_channels == c.out_channels and c.kernel_size == (3, 3) for c in depthwise)
    assert [c.out_channels for c in pointwise] == [64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024]
    assert all(c.kernel_size == (1, 1) and c.groups == 1 for c in pointwise)
    assert all(c.bias is None for c in convs)  # batch norm's shift replaces it
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 27
    assert (model.embedding.in_features, model.embedding.out_features) == (1024, 128)
    assert model.classifier is None
    # YAMNet's MobileNet has 3.2 M weights before its head; ours adds the 1024 -> 128 embedding.
    assert sum(p.numel() for p in model.parameters()) == 3_337_600


@pytest.mark.parametrize("width", [0.125, 0.3, 0.5, 1.0, 2.0])
def test_the_width_multiplies_every_layer_with_a_floor_of_8(width):
    expected = [max(8, int(c * width)) for c in (32, 64, 128, 128, 256, 256, *[512] * 6, 1024, 1024)]
    assert list(mobilenet_channels(width)) == expected
    model = MobileNet(width=width, n_classes=5, embedding_size=16)
    pointwise = [m.out_channels for m in model.features.modules() if isinstance(m, nn.Conv2d) and m.groups == 1]
    assert pointwise == expected  # the stem and the 13 pointwise convolutions
    assert mobilenet_parameter_count(width=width, embedding_size=16, n_classes=5) == sum(
        p.numel() for p in model.parameters()
    )


def test_shapes_and_head():
    model = MobileNet(n_classes=7, **TINY).eval()
    x = torch.randn(3, 96, 64)
    assert model.embed(x).shape == (3, 128)
    assert model.embed(x.unsqueeze(1)).shape == (3, 128)
    assert model.features(x.unsqueeze(1)).shape == (3, 128, 3, 2)  # five strides of 2: 96x64 -> 3x2
    assert model(x).shape == (3, 7)
    assert MobileNet(embedding_size=20, **TINY).embed(x).shape == (3, 20)
    with pytest.raises(ConfigError, match="no classification head"):
        MobileNet(**TINY)(x)


def test_a_fresh_network_keeps_its_activations_at_unit_scale():
    # He initialisation over the fan-in (9 for a depthwise filter): through 27 layers with fresh
    # batch-norm statistics the features neither vanish nor explode.
    torch.manual_seed(0)
    features = MobileNet().eval().features(torch.randn(8, 1, 96, 64))
    assert 0.1 < features.pow(2).mean().sqrt().item() < 10


# ------------------------------------------------------------------------------------ batching


def test_batched_embedding_equals_item_by_item():
    torch.manual_seed(0)
    model = settled(MobileNet(**TINY))
    x = log_mel_like(5, torch.Generator().manual_seed(1))
    with torch.no_grad():
        together = model.embed(x)
        for i in range(5):
            torch.testing.assert_close(together[i : i + 1], model.embed(x[i : i + 1]), atol=1e-5, rtol=1e-4)


# ------------------------------------------------------------------------------------ configs


def test_the_config_rebuilds_the_network():
    model = MobileNet(n_classes=4, embedding_size=32, width=0.25)
    assert model.config == {"architecture": "mobilenet", "n_classes": 4, "embedding_size": 32, "width": 0.25}
    rebuilt = build_network(model.config)
    assert isinstance(rebuilt, MobileNet) and rebuilt.config == model.config
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 96, 64)
    torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x))
    assert build_network(json.loads(json.dumps(model.config))).config == model.config  # through JSON


def test_unknown_networks_are_named_with_the_known_ones():
    with pytest.raises(ConfigError, match=r"'resnet'.*\['vggish', 'mobilenet'\]"):
        build_network({"architecture": "resnet"})
    with pytest.raises(TypeError):  # VGGish's sizes do not apply to MobileNet
        build_network({"architecture": "mobilenet", "fc_units": 128})


def test_vggish_config_model_options_build_either_backbone():
    readme = {"conv_channels": (8, 16, 32, 64), "fc_units": 128}
    assert VGGishConfig(**readme).model_options() == {"conv_channels": (8, 16, 32, 64), "fc_units": 128}
    assert VGGishConfig(**readme, recipe="zsac").model_options() == {**readme, "batch_norm": True}
    assert VGGishConfig(**readme, backbone="mobilenet").model_options() == {"architecture": "mobilenet", "width": 0.125}
    assert VGGishConfig(backbone="mobilenet").model_options()["width"] == 1.0  # VGGish's widths are YAMNet's
    for config in (VGGishConfig(**readme, recipe="zsac"), VGGishConfig(**readme, backbone="mobilenet")):
        network = build_network({**config.model_options(), "n_classes": 3})
        assert network.n_classes == 3
        assert isinstance(network, MobileNet) == (config.backbone == "mobilenet")
    assert isinstance(build_network({**VGGishConfig(**readme).model_options(), "n_classes": 3}), VGGish)
    assert VGGishConfig(**readme, backbone="mobilenet").levers() == {"backbone": "mobilenet"}


def test_vggish_config_refuses_mobilenet_settings_it_would_ignore_or_cannot_build():
    with pytest.raises(ConfigError, match=r"conv_channels .* double.*\[8, 16, 32, 32\]"):
        VGGishConfig(conv_channels=(8, 16, 32, 32), backbone="mobilenet")
    VGGishConfig(conv_channels=(8, 16, 32, 32))  # fine for VGGish
    # batch_norm is VGGish's: MobileNet always has batch norm, under either recipe.
    assert (
        VGGishConfig(backbone="mobilenet", batch_norm=False).model_options()
        == VGGishConfig(backbone="mobilenet", recipe="zsac").model_options()
    )
    with pytest.raises(ConfigError, match="width must be a number in \\(0, 2\\], got 4.0"):
        VGGishConfig(conv_channels=(256, 512, 1024, 2048), backbone="mobilenet")  # fine for VGGish
    VGGishConfig(conv_channels=(128, 256, 512, 1024), backbone="mobilenet")  # width 2, the most


# ------------------------------------------------------------------------------------ folders


def test_save_load_round_trip_names_the_network(tmp_path):
    torch.manual_seed(0)
    model = settled(MobileNet(n_classes=3, **TINY))
    save_vggish(model, tmp_path / "m", metadata={"class_names": ["a", "b", "c"]})
    description = json.loads((model_version(tmp_path / "m") / "config.json").read_text())
    assert description["architecture"] == "mobilenet" and description["model"] == model.config
    loaded, metadata = load_vggish(tmp_path / "m")
    assert isinstance(loaded, MobileNet) and not loaded.training
    assert metadata == {"class_names": ["a", "b", "c"]}
    x = torch.randn(2, 96, 64)
    torch.testing.assert_close(loaded(x), model(x))  # batch-norm statistics (buffers) saved too


def test_strict_loading_refuses_a_missing_or_misshapen_weight():
    model = MobileNet(**TINY)
    weights = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    assert "features.5.4.running_var" in weights  # buffers are weights of the folder too
    missing = {name: array for name, array in weights.items() if name != "features.5.4.running_var"}
    with pytest.raises(CheckpointError, match=r"does not fit the 'mobilenet' architecture .*features.5.4.running_var"):
        vggish_from_weights(model.config, missing)
    with pytest.raises(CheckpointError) as error:
        vggish_from_weights(model.config, missing)
    assert "\n" not in str(error.value)  # torch's message spans lines; errors are one
    misshapen = {**weights, "embedding.weight": np.zeros((128, 64), np.float32)}
    with pytest.raises(CheckpointError, match="size mismatch for embedding.weight"):
        vggish_from_weights(model.config, misshapen)
    wider = {**model.config, "width": 0.25}
    with pytest.raises(CheckpointError, match="does not fit"):
        vggish_from_weights(wider, weights)
    with pytest.raises(CheckpointError, match="does not fit"):  # the same weights are no VGGish
        vggish_from_weights({"conv_channels": [8, 16, 32, 64], "fc_units": 128}, weights)
    assert isinstance(vggish_from_weights(model.config, weights), MobileNet)


def test_a_folder_whose_description_and_model_disagree_is_refused(tmp_path):
    save_vggish(MobileNet(**TINY), tmp_path / "m")
    config_file = model_version(tmp_path / "m") / "config.json"
    description = json.loads(config_file.read_text())
    for top, inner, message in [
        ("vggish", "mobilenet", "describes a 'vggish' whose model is a 'mobilenet'"),
        ("mobilenet", None, "describes a 'mobilenet' whose model is a None"),
        ("bilinear", "mobilenet", r"describes a 'bilinear', not an acoustic network \['vggish', 'mobilenet'\]"),
    ]:
        model = {k: v for k, v in description["model"].items() if k != "architecture"}
        if inner is not None:
            model["architecture"] = inner
        config_file.write_text(json.dumps({**description, "architecture": top, "model": model}))
        with pytest.raises(CheckpointError, match=message):
            load_vggish(tmp_path / "m")


def test_the_encoder_runs_a_mobilenet_folder_in_fp32_and_bf16(tmp_path):
    torch.manual_seed(0)
    model = settled(MobileNet(**TINY))
    examples = log_mel_like(6, torch.Generator().manual_seed(2)).numpy()
    with torch.no_grad():
        expected = model.embed(torch.from_numpy(examples)).numpy()
    AcousticEncoder.from_model(model).save(tmp_path / "acoustic")
    encoder = AcousticEncoder.load(tmp_path / "acoustic")
    assert encoder.embedding_size == 128
    np.testing.assert_allclose(encoder.embed(examples, inference="fp32", device="cpu"), expected, atol=1e-5)
    assert isinstance(encoder.model, MobileNet)
    bf16 = encoder.embed(examples, inference="bf16", device="cpu")
    cosine = (bf16 * expected).sum(1) / np.linalg.norm(bf16, axis=1) / np.linalg.norm(expected, axis=1)
    assert bf16.shape == expected.shape and cosine.min() > 0.99


# ------------------------------------------------------------------------------------ hostile configs


@pytest.fixture
def no_layers(monkeypatch):
    """Fail the test if a layer is built: sizes must be refused before any allocation."""

    def built(*args, **kwargs):
        raise AssertionError("a layer was allocated before its size was checked")

    for layer in ("Conv2d", "BatchNorm2d", "Linear"):
        monkeypatch.setattr(torch.nn, layer, built)


@pytest.mark.parametrize(
    ("sizes", "named"),
    [
        ({"width": 1e6}, "width .* got 1000000.0"),
        ({"width": 2.01}, "width .* got 2.01"),
        ({"width": -1.0}, "width .* got -1.0"),
        ({"width": 0}, "width .* got 0"),
        ({"width": float("nan")}, "width .* got nan"),
        ({"width": float("inf")}, "width .* got inf"),
        ({"width": "1.0"}, "width .* got '1.0'"),
        ({"width": True}, "width .* got True"),  # JSON's true is no width
        ({"width": None}, "width .* got None"),
        ({"width": [1.0]}, r"width .* got \[1.0\]"),
        ({"embedding_size": 10**6}, "embedding_size .* got 1000000"),
        ({"embedding_size": 0}, "embedding_size .* got 0"),
        ({"embedding_size": 128.0}, "embedding_size .* got 128.0"),
        ({"n_classes": -1}, "n_classes .* got -1"),
        ({"n_classes": True}, "n_classes .* got True"),
        ({"n_classes": "3"}, "n_classes .* got '3'"),
        ({"width": 2.0, "embedding_size": 65536, "n_classes": 65536}, "4,442,008,064 parameters"),
    ],
)
def test_hostile_sizes_are_refused_before_allocating(no_layers, sizes, named):
    with pytest.raises(ConfigError, match=named):
        MobileNet(**sizes)
    with pytest.raises(CheckpointError, match=named):
        vggish_from_weights({"architecture": "mobilenet", **sizes}, {})


def test_the_bounds_admit_the_widest_network():
    check_mobilenet_size(width=MAX_MOBILENET_WIDTH, embedding_size=65536, n_classes=1000)
    assert mobilenet_parameter_count(width=MAX_MOBILENET_WIDTH, embedding_size=128) < MAX_VGGISH_PARAMETERS / 40


def test_a_folder_with_an_absurd_width_is_refused_before_allocating(tmp_path, monkeypatch):
    folder = save_vggish(MobileNet(**TINY), tmp_path / "m")
    config_file = model_version(folder) / "config.json"
    description = json.loads(config_file.read_text())
    description["model"]["width"] = 1e9
    config_file.write_text(json.dumps(description))
    for layer in ("Conv2d", "BatchNorm2d", "Linear"):
        monkeypatch.setattr(torch.nn, layer, lambda *a, **k: pytest.fail("a layer was allocated"))
    with pytest.raises(CheckpointError, match=r"config.json|model.safetensors"):
        load_vggish(folder)
    with pytest.raises(CheckpointError, match="width must be a number in"):
        AcousticEncoder.load(folder).embed(np.zeros((1, 96, 64), np.float32), inference="fp32", device="cpu")


# ------------------------------------------------------------------------------------ int8


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="the int8 copy needs onnxruntime and onnx (pip install onnxruntime onnx)",
)
def test_the_int8_copy_agrees_with_fp32_and_survives_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = settled(MobileNet(**TINY))
    generator = torch.Generator().manual_seed(3)
    calibration, unseen = log_mel_like(96, generator).numpy(), log_mel_like(16, generator).numpy()
    encoder = AcousticEncoder.from_model(model)
    report = encoder.quantize(calibration, seed=0)
    assert report["passed"] and report["min_cosine"] >= 0.98  # depthwise convolutions and batch norm exported
    encoder.save(tmp_path / "acoustic")
    loaded = AcousticEncoder.load(tmp_path / "acoustic")
    assert loaded.backend("auto", "cpu") == "int8"
    int8 = loaded.embed(unseen, inference="int8")
    fp32 = loaded.embed(unseen, inference="fp32", device="cpu")
    cosine = (int8 * fp32).sum(1) / np.linalg.norm(int8, axis=1) / np.linalg.norm(fp32, axis=1)
    assert cosine.min() >= 0.98
    assert 0 < np.linalg.norm(int8 - fp32) / np.linalg.norm(fp32) < 0.1  # int8 is close, not exact


# ------------------------------------------------------------------------------------ training


def test_a_few_steps_reduce_the_loss_on_a_separable_problem():
    # Two classes: energy in the low or in the high mel bands, over noise. A broken graph (a layer
    # cut off, a detached tensor, a stride table that collapses the map) would not learn this.
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(32) % 2
    x = torch.randn(32, 96, 64, generator=generator)
    x[labels == 0, :, :16] += 2.0
    x[labels == 1, :, 48:] += 2.0
    torch.manual_seed(0)
    model = MobileNet(n_classes=2, **TINY).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), labels)
        loss.backward()
        losses.append(loss.item())
        optimizer.step()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert losses[0] == pytest.approx(np.log(2), abs=0.05)  # small head: training starts from the uniform guess
    assert losses[-1] < 0.5 * losses[0]
