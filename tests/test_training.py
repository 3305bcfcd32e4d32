"""zsac.acoustic.train_vggish: split, determinism, early stopping, checkpoints and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zsac import CheckpointError, ConfigError, DataError
from zsac.acoustic import load_vggish, stratified_split, train_vggish

SMALL = {"fc_units": 32, "conv_channels": (4, 8, 8, 16)}


def synthetic_clips(n_classes=3, clips_per_class=6, segments=2, seed=0):
    """Each class lights up its own band of mel bins, over noise."""
    rng = np.random.default_rng(seed)
    examples, labels = [], []
    for k in range(n_classes):
        for _ in range(clips_per_class):
            x = rng.standard_normal((segments, 96, 64)).astype(np.float32)
            x[:, :, 10 * k : 10 * k + 8] += 3.0
            examples.append(x)
            labels.append(f"class_{k}")
    return examples, labels


def train(examples, labels, **kwargs):
    options = {**SMALL, "batch_size": 8, "learning_rate": 1e-3, "progress": False, "device": "cpu"}
    return train_vggish(examples, labels, **{**options, **kwargs})


def test_stratified_split_is_per_class_and_seeded():
    labels = np.repeat([0, 1, 2], [10, 20, 5])
    mask = stratified_split(labels, validation_fraction=0.2, seed=3)
    assert [mask[labels == k].sum() for k in range(3)] == [2, 4, 1]
    np.testing.assert_array_equal(mask, stratified_split(labels, validation_fraction=0.2, seed=3))
    assert not np.array_equal(mask, stratified_split(labels, validation_fraction=0.2, seed=4))
    single = stratified_split(np.array([0, 1, 1]), validation_fraction=0.5, seed=0)
    assert not single[0]  # a class keeps at least one training item
    with pytest.raises(ConfigError):
        stratified_split(labels, validation_fraction=1.0, seed=0)


def test_clip_split_keeps_a_clip_on_one_side():
    examples, labels = synthetic_clips(clips_per_class=4, segments=3)
    result = train(examples, labels, split_unit="clip", validation_fraction=0.25, max_epochs=1)
    per_clip = result.validation_mask.reshape(len(examples), 3)
    assert (per_clip.all(axis=1) | ~per_clip.any(axis=1)).all()
    assert per_clip[:, 0].sum() == 3  # one clip of four per class


def test_learns_separable_classes_and_returns_best_epoch():
    examples, labels = synthetic_clips()
    result = train(examples, labels, max_epochs=8, patience=8, learning_rate=3e-3)
    assert result.class_names == ["class_0", "class_1", "class_2"]
    assert result.best_val_accuracy > 0.9
    assert result.best_val_accuracy == max(h["val_accuracy"] for h in result.history)
    assert not result.model.training


def test_same_seed_same_model_other_seed_other_model():
    examples, labels = synthetic_clips()
    first = train(examples, labels, max_epochs=2, seed=5)
    second = train(examples, labels, max_epochs=2, seed=5)
    other = train(examples, labels, max_epochs=2, seed=6)
    for (name, a), b in zip(first.model.state_dict().items(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not torch.equal(first.model.embedding.weight, other.model.embedding.weight)


def test_training_leaves_the_global_rng_alone():
    examples, labels = synthetic_clips(clips_per_class=3)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    train(examples, labels, max_epochs=1)
    assert torch.equal(before, torch.get_rng_state())


@pytest.mark.slow
def test_early_stopping_after_patience_epochs_without_gain():
    examples, labels = synthetic_clips()
    # A vanishing learning rate leaves validation accuracy flat after epoch 1.
    result = train(examples, labels, learning_rate=1e-12, max_epochs=20, patience=2)
    assert len(result.history) == 3 and result.best_epoch == 1


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_model(tmp_path):
    examples, labels = synthetic_clips()
    straight = train(examples, labels, max_epochs=3, patience=3, checkpoint_dir=tmp_path / "straight")
    train(examples, labels, max_epochs=1, patience=3, checkpoint_dir=tmp_path / "resumed")  # "interrupted"
    resumed = train(examples, labels, max_epochs=3, patience=3, checkpoint_dir=tmp_path / "resumed")
    assert [h["val_accuracy"] for h in resumed.history] == [h["val_accuracy"] for h in straight.history]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    names = {p.name for p in (tmp_path / "resumed").iterdir()}
    assert {"checkpoint.safetensors", "final", "training.json"} <= names
    assert [n for n in names if n.startswith("best")] == [f"best-{straight.best_epoch:05d}.safetensors"]
    assert not [n for n in names if n.endswith(".tmp")]
    loaded, metadata = load_vggish(tmp_path / "resumed" / "final")
    assert metadata["class_names"] == straight.class_names and metadata["best_epoch"] == straight.best_epoch
    torch.testing.assert_close(loaded.embedding.weight, straight.model.embedding.weight)


@pytest.mark.slow
def test_checkpoint_of_another_run_or_corrupt_is_refused(tmp_path):
    examples, labels = synthetic_clips()
    train(examples, labels, max_epochs=1, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match="other data or settings"):
        train(examples, labels, max_epochs=1, seed=99, checkpoint_dir=tmp_path)
    (tmp_path / "checkpoint.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable"):
        train(examples, labels, max_epochs=1, checkpoint_dir=tmp_path)


def test_bad_inputs_get_clear_errors():
    examples, labels = synthetic_clips(n_classes=2, clips_per_class=2)
    with pytest.raises(DataError, match="at least two classes"):
        train(examples[:2], ["a", "a"])
    with pytest.raises(DataError, match="4 clips but 3 labels"):
        train(examples, labels[:3])
    with pytest.raises(DataError, match="clip 0"):
        train([np.zeros((2, 96, 60), np.float32)] + examples[1:], labels)
    with pytest.raises(ConfigError, match="split_unit"):
        train(examples, labels, split_unit="frame")
    with pytest.raises(DataError, match="validation split is empty"):
        train([examples[0][:1], examples[2][:1]], ["a", "b"])


def test_a_run_killed_between_best_weights_and_checkpoint_resumes_with_the_checkpoints_best(tmp_path, monkeypatch):
    # Epoch 2 improves, its best weights are written, and the run dies before its checkpoint.
    # Run again, epoch 2 scores lower (as nondeterministic GPU kernels may make it): the final
    # model must be epoch 1's, which is what the checkpoint's state calls the best.
    import safetensors.torch

    from zsac.acoustic import training as training_module

    examples, labels = synthetic_clips()
    scores = iter([0.5, 0.7, 0.4, 0.3])  # epochs 1, 2 (killed), 2 again, 3
    monkeypatch.setattr(training_module, "_accuracy", lambda *args, **kwargs: next(scores))
    save_checkpoint = training_module._save_checkpoint

    def dies_at_epoch_two(path, model, optimizer, state, fingerprint):
        if state["epoch"] == 2:
            raise KeyboardInterrupt
        save_checkpoint(path, model, optimizer, state, fingerprint)

    monkeypatch.setattr(training_module, "_save_checkpoint", dies_at_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train(examples, labels, max_epochs=3, patience=5, checkpoint_dir=tmp_path)
    assert {"best-00001.safetensors", "best-00002.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    epoch_one = safetensors.torch.load_file(tmp_path / "best-00001.safetensors")
    monkeypatch.setattr(training_module, "_save_checkpoint", save_checkpoint)
    resumed = train(examples, labels, max_epochs=3, patience=5, checkpoint_dir=tmp_path)
    assert resumed.best_epoch == 1 and [h["epoch"] for h in resumed.history] == [1, 2, 3]
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, epoch_one[key]), key
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("best")] == ["best-00001.safetensors"]


def test_a_checkpoint_naming_best_weights_outside_its_folder_is_refused(tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    examples, labels = synthetic_clips()
    train(examples, labels, max_epochs=1, checkpoint_dir=tmp_path)
    path = tmp_path / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    state = json.loads(metadata["state"])
    state["best_file"] = "../../etc/passwd"
    save_file(load_file(path), path, metadata={**metadata, "state": json.dumps(state)})
    with pytest.raises(CheckpointError, match="not a best-NNNNN.safetensors"):
        train(examples, labels, max_epochs=2, checkpoint_dir=tmp_path)


def test_a_checkpoint_folder_of_the_one_best_file_layout_still_resumes(tmp_path):
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    examples, labels = synthetic_clips()
    straight = train(examples, labels, max_epochs=3, patience=3, checkpoint_dir=tmp_path / "straight")
    old = tmp_path / "old"
    train(examples, labels, max_epochs=1, patience=3, checkpoint_dir=old)
    # As the folder was before per-epoch best files: best.safetensors, and no "best_file" in the state.
    (old / "best-00001.safetensors").rename(old / "best.safetensors")
    path = old / "checkpoint.safetensors"
    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
    state = json.loads(metadata["state"])
    del state["best_file"]
    save_file(load_file(path), path, metadata={**metadata, "state": json.dumps(state)})
    resumed = train(examples, labels, max_epochs=3, patience=3, checkpoint_dir=old)
    assert resumed.best_epoch == straight.best_epoch
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # The old file stays while it holds the best weights, and goes once a later epoch does better.
    kept = "best.safetensors" if straight.best_epoch == 1 else f"best-{straight.best_epoch:05d}.safetensors"
    assert [p.name for p in old.iterdir() if p.name.startswith("best")] == [kept]
