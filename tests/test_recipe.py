"""The acoustic training recipes: settings, augmentations against references, schedule, resume, the paper's path.

Grouped by property: each augmentation is checked against a reference computed another way
(gain against the front end run on the scaled waveform), the schedule against its formula,
a resumed zsac-recipe run against an uninterrupted one, and the paper's recipe against
itself before recipes existed (no lever in its settings, the same weights).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from test_training import SMALL, synthetic_clips
from zsac import ConfigError
from zsac.acoustic import load_vggish, train_vggish
from zsac.acoustic import training as training_module
from zsac.acoustic.config import RECIPE_FIELDS, VGGishConfig, recipe_batch_size, recipe_values
from zsac.acoustic.networks import build_network
from zsac.acoustic.training import _augmentation_draws, _learning_rates, augment
from zsac.audio import SAMPLE_RATE, waveform_to_examples

ZSAC_SMALL = {**SMALL, "batch_size": 8, "progress": False, "device": "cpu", "recipe": "zsac"}


# -- settings --------------------------------------------------------------------------------


def test_paper_recipe_turns_every_lever_off_and_keeps_its_step():
    config = VGGishConfig().resolved()
    assert config.learning_rate == 1e-4 and config.optimizer == "adam" and not config.batch_norm
    assert VGGishConfig().levers() == {}
    assert set(RECIPE_FIELDS) == set(recipe_values("zsac"))


def test_a_setting_left_at_none_takes_its_recipe_value_and_a_given_one_wins():
    config = VGGishConfig(recipe="zsac", conv_channels=(8, 16, 32, 64), time_mask=0).resolved()
    assert config.batch_norm is True and config.optimizer == "adamw" and config.time_mask == 0
    # The step falls with the square root of the width: 3e-3 at the README's CPU widths (8 wide), 3e-3/sqrt(8) at 64.
    assert config.learning_rate == pytest.approx(3e-3)
    assert VGGishConfig(recipe="zsac").resolved().learning_rate == pytest.approx(3e-3 / np.sqrt(8))
    assert VGGishConfig(recipe="zsac", learning_rate=5e-4).resolved().learning_rate == 5e-4
    assert "time_mask" not in VGGishConfig(recipe="zsac", time_mask=0).levers()


@pytest.mark.parametrize(
    "bad",
    [
        {"recipe": "fast"},
        {"backbone": "resnet"},
        {"batch_norm": "yes"},
        {"time_mask": 97},
        {"freq_mask": -1},
        {"mixup": float("nan")},
        {"gain_db": 100.0},
        {"label_smoothing": 1.0},
        {"min_epochs": 1.5},
        {"optimizer": "sgd"},
        {"learning_rate": 0},
    ],
)
def test_bad_recipe_settings_are_refused_by_name(bad):
    (name,) = bad
    with pytest.raises(ConfigError, match=name):
        VGGishConfig(**bad)


# -- augmentations ---------------------------------------------------------------------------


def _tone_examples(amplitude: float) -> np.ndarray:
    t = np.arange(int(2.0 * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(0)
    wave = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)
    return waveform_to_examples(amplitude * wave.astype(np.float32), SAMPLE_RATE)


def test_gain_on_log_mel_equals_the_front_end_of_the_scaled_waveform():
    quiet, loud = _tone_examples(0.5), _tone_examples(0.5 * 10 ** (6.0 / 20))
    gained = augment(torch.from_numpy(quiet), {"gain_db": torch.full((quiet.shape[0],), 6.0)})
    np.testing.assert_allclose(gained.numpy(), loud, atol=2e-3)


def test_time_shift_is_a_circular_roll_and_masks_fill_only_their_band():
    x = torch.randn(3, 96, 64)
    shifted = augment(x, {"shift": torch.tensor([0, 5, -7])})
    for row, shift in enumerate((0, 5, -7)):
        torch.testing.assert_close(shifted[row], torch.roll(x[row], shift, dims=0))
    masks = {
        "time_mask": torch.tensor([[4, 10], [0, 0], [96, 0]]),
        "freq_mask": torch.tensor([[3, 60], [0, 5], [0, 0]]),
    }
    masked = augment(x, masks)
    fill = x.mean(dim=(1, 2))
    torch.testing.assert_close(masked[0, 10:14], fill[0].expand(4, 64))
    torch.testing.assert_close(masked[0, :, 60:63], fill[0].expand(96, 3))
    torch.testing.assert_close(masked[0, 20:, :60], x[0, 20:, :60])
    torch.testing.assert_close(masked[1], x[1])  # width 0: untouched
    torch.testing.assert_close(masked[2], fill[2].expand(96, 64))


def test_batched_augmentation_equals_item_by_item():
    config = VGGishConfig(recipe="zsac", conv_channels=(8, 16, 32, 64)).resolved()
    draws = _augmentation_draws(np.random.default_rng(3), 5, config=config, batch_size=5).per_example
    x = torch.randn(5, 96, 64)
    batched = augment(x, draws)
    for row in range(5):
        single = augment(x[row : row + 1], {k: v[row : row + 1] for k, v in draws.items()})
        torch.testing.assert_close(batched[row : row + 1], single)


def test_paper_recipe_draws_nothing():
    draws = _augmentation_draws(np.random.default_rng(0), 10, config=VGGishConfig().resolved(), batch_size=4)
    assert draws.per_example == {} and draws.mixup_weights is None


# -- schedule --------------------------------------------------------------------------------


def test_learning_rate_warms_up_linearly_then_decays_on_a_cosine():
    config = VGGishConfig(recipe="zsac", learning_rate=1.0, warmup_epochs=2, max_epochs=10).resolved()
    rates = np.concatenate([_learning_rates(config, epoch=e, steps_per_epoch=4) for e in range(1, 11)])
    np.testing.assert_allclose(rates[:8], np.arange(1, 9) / 8)
    progress = (np.arange(8, 40) - 8) / 32
    np.testing.assert_allclose(rates[8:], 0.5 * (1 + np.cos(np.pi * progress)))
    paper = VGGishConfig().resolved()
    np.testing.assert_allclose(_learning_rates(paper, epoch=3, steps_per_epoch=4), 1e-4)


# -- training --------------------------------------------------------------------------------


def test_zsac_recipe_trains_a_batch_norm_network_that_learns():
    examples, labels = synthetic_clips(n_classes=3, clips_per_class=8)
    # No masks: a mask as wide as the synthetic classes' 8-band signal would erase it.
    result = train_vggish(examples, labels, max_epochs=8, seed=0, time_mask=0, freq_mask=0, **ZSAC_SMALL)
    assert result.model.batch_norm is True
    assert result.best_val_accuracy >= 0.85  # chance 0.33
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_early_stopping_waits_for_min_epochs():
    examples, labels = synthetic_clips()
    result = train_vggish(examples, labels, max_epochs=8, patience=1, min_epochs=6, learning_rate=1e-9, **ZSAC_SMALL)
    assert len(result.history) >= 6


def test_interrupted_zsac_run_resumes_to_the_same_model(tmp_path, monkeypatch):
    examples, labels = synthetic_clips(n_classes=3, clips_per_class=4)
    options = {**ZSAC_SMALL, "max_epochs": 3, "patience": 3, "mixup": 0.4, "seed": 1}
    straight = train_vggish(examples, labels, checkpoint_dir=tmp_path / "straight", **options)
    real_epoch = training_module._train_epoch

    def killed_in_epoch_two(*args, epoch, **kwargs):
        if epoch == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, epoch=epoch, **kwargs)

    monkeypatch.setattr(training_module, "_train_epoch", killed_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train_vggish(examples, labels, checkpoint_dir=tmp_path / "resumed", **options)
    monkeypatch.setattr(training_module, "_train_epoch", real_epoch)
    resumed = train_vggish(examples, labels, checkpoint_dir=tmp_path / "resumed", **options)
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    loaded, metadata = load_vggish(tmp_path / "resumed" / "final")
    assert loaded.batch_norm is True
    assert metadata["training"]["levers"]["optimizer"] == "adamw"


def test_paper_recipe_checkpoint_settings_have_no_levers(tmp_path):
    examples, labels = synthetic_clips()
    train_vggish(examples, labels, max_epochs=1, checkpoint_dir=tmp_path, **{**ZSAC_SMALL, "recipe": "paper"})
    settings = json.loads((tmp_path / "training.json").read_text())["settings"]
    # The settings as zsac 0.1 fingerprinted them: its checkpoints still resume.
    assert set(settings) == {"split_unit", "validation_fraction", "batch_size", "learning_rate", "patience", "seed",
                             "model"}  # fmt: skip
    assert "batch_norm" not in settings["model"]


def test_batch_norm_network_round_trips_through_its_config():
    model = build_network({"conv_channels": [4, 8, 8, 16], "fc_units": 16, "batch_norm": True, "n_classes": 2})
    again = build_network(model.config)
    assert [n for n, _ in again.state_dict().items()] == [n for n, _ in model.state_dict().items()]
    assert any("running_mean" in name for name in model.state_dict())
    plain = build_network({**VGGishConfig(conv_channels=(4, 8, 8, 16), fc_units=16).model_options(), "n_classes": 2})
    assert "batch_norm" not in plain.config
    with pytest.raises(ConfigError, match="batch_norm"):
        build_network({"conv_channels": [4, 8, 8, 16], "fc_units": 16, "batch_norm": "no"})


def test_zsac_batch_size_follows_the_data(tmp_path):
    assert recipe_batch_size(16 * 64) == 64 and recipe_batch_size(16 * 64 - 1) == 32
    examples, labels = synthetic_clips()
    options = {k: v for k, v in ZSAC_SMALL.items() if k != "batch_size"}
    train_vggish(examples, labels, max_epochs=1, checkpoint_dir=tmp_path, **options)
    settings = json.loads((tmp_path / "training.json").read_text())["settings"]
    assert settings["batch_size"] == 32  # 30 training segments: 64 would leave one step an epoch
