"""``zsac reproduce``, end to end on small datasets the tests write in the official layouts."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from conftest import tone
from tfrecord_files import Record, write_release
from zsac import ConfigError
from zsac.acoustic import VGGishConfig
from zsac.cli import main
from zsac.compatibility import ESZSL
from zsac.protocols import ESC50_CLASSES, esc50_category_folds
from zsac.reproduce import RECORD_KEYS, run_reproduce_audioset, run_reproduce_esc50

pytestmark = pytest.mark.slow  # whole reproductions, VGGish training included

TINY_VGGISH = VGGishConfig(max_epochs=1, patience=1, fc_units=16, conv_channels=(2, 4, 4, 8))

# ----------------------------------------------------------------------------------------------- AudioSet


def make_audioset(root, *, n_classes=45, per_class=12, latent=6, seed=0):
    """An AudioSet folder whose acoustic and semantic sides share a latent class structure.

    Class k has a latent vector u_k; its WLE row is [u_k, noise] and its clips' frames are a fixed
    linear map of u_k plus noise, quantised as the release is. Every class has its own clip count so
    the 9 frequency bins are not degenerate.
    """
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_classes, latent))
    mix = rng.normal(size=(latent, 128)) * 0.4
    root.mkdir(parents=True, exist_ok=True)
    mids = [f"/m/c{k:03d}" for k in range(n_classes)]
    names = [f"Sound {k}" for k in range(n_classes)]
    with open(root / "class_labels_indices.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "mid", "display_name"])
        writer.writerows([k, mids[k], names[k]] for k in range(n_classes))
    ontology = [{"id": mids[k], "name": names[k], "description": f"The sound number {k}.", "child_ids": []}
                for k in range(n_classes)]  # fmt: skip
    (root / "ontology.json").write_text(json.dumps(ontology))
    wle = np.hstack([u, 0.1 * rng.normal(size=(n_classes, 4))]).astype(np.float32)
    np.savez(root / "word2vec_label_embeddings.npz", embeddings=wle, mid=np.array(mids), display_name=np.array(names))
    records = []
    for k in range(n_classes):
        for j in range(per_class + k % 7):
            frames = u[k] @ mix + 0.3 * rng.normal(size=(10, 128))
            quantised = np.clip(np.round((frames + 2) / 4 * 255), 0, 255).astype(np.uint8)
            records.append(Record(f"v{k:03d}_{j:03d}", 30.0, 40.0, (k,), quantised))
    # A multi-label clip, which the protocol must leave out.
    records.append(Record("multilabel0", 0.0, 10.0, (0, 1), np.zeros((10, 128), np.uint8)))
    order = rng.permutation(len(records))
    shuffled = [records[i] for i in order]
    write_release(root, {"bal_train": [shuffled[::2]], "eval": [shuffled[1::2]]})
    return root


@pytest.fixture(scope="module")
def audioset_copy(tmp_path_factory):
    return make_audioset(tmp_path_factory.mktemp("data") / "audioset")


def test_audioset_released_end_to_end_and_resume(audioset_copy, tmp_path):
    out = tmp_path / "out"
    result = run_reproduce_audioset(
        out=out, data=audioset_copy, specs=["WLE"], fold_seeds=[0, 1], learners=["eszsl"], progress=False
    )
    assert (result.ran, result.skipped) == (10, 0)
    records = json.loads((out / "results.json").read_text())
    assert len(records) == 10 and all(set(RECORD_KEYS) <= set(r) for r in records)
    assert {r["test_fold"] for r in records} == {f"Fold{k}" for k in range(5)} and {r["seed"] for r in records} == {
        0,
        1,
    }
    assert sum(r["n_classes"] for r in records if r["seed"] == 0) == 45
    # The shared latent structure makes zero-shot work far above chance (1/9 with 9 test classes).
    assert np.mean([r["top1"] for r in records]) > 0.5
    assert all(r["lambda"] in ESZSL.default_grid and r["learner"] == "eszsl" for r in records)
    # Generalised zero-shot on the held-out fifth of the seen classes' clips, in every run.
    assert all(r["gzsl"]["seen_clips"] > 0 and 0 <= r["gzsl"]["h"] <= 1 for r in records)
    assert any("pre-trained" in note for note in result.notes)
    # Per-clip predictions agree with the recorded Top-1.
    predictions = pd.read_csv(out / "folds" / "eszsl" / "WLE" / "seed0" / "Fold4.csv")
    fold4 = next(r for r in records if r["seed"] == 0 and r["test_fold"] == "Fold4")
    assert len(predictions) == fold4["n_clips"] and predictions["correct"].mean() == pytest.approx(fold4["top1"])
    assert "multilabel0" not in " ".join(pd.concat(pd.read_csv(p) for p in out.glob("folds/*/*/*/*.csv"))["clip"])
    config = json.loads((out / "config.json").read_text())
    assert config["versions"]["numpy"] == np.__version__ and config["config"]["setting"] == "train3"
    for name in ("tables.md", "results.csv", "summary.csv"):
        assert (out / name).is_file()
    assert (out / "plots" / "audioset_train3_released_seen_unseen.png").is_file()

    again = run_reproduce_audioset(
        out=out, data=audioset_copy, specs=["WLE"], fold_seeds=[0, 1], learners=["eszsl"], progress=False
    )
    assert (again.ran, again.skipped) == (0, 10)
    assert json.loads((out / "results.json").read_text()) == records
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [(r["ran"], r["skipped"], r["scope"]["seeds"]) for r in runs] == [(10, 0, [0, 1]), (0, 10, [0, 1])]
    with pytest.raises(ConfigError, match="another configuration.*learners"):
        run_reproduce_audioset(
            out=out, data=audioset_copy, specs=["WLE"], learners=["eszsl"], grid=[0.1], progress=False
        )


def test_audioset_table_iv_setting_trains_on_one_fold(audioset_copy, tmp_path):
    # Table IV literally: no refit, so the classes trained on are the training folds alone.
    many = run_reproduce_audioset(out=tmp_path / "a", data=audioset_copy, specs=["WLE"], refit=False, progress=False)
    one = run_reproduce_audioset(
        out=tmp_path / "b", data=audioset_copy, specs=["WLE"], setting="setting1", refit=False, progress=False
    )
    n_train = {r["test_fold"]: r["n_train_classes"] for r in many.records}
    assert all(r["n_train_classes"] < n_train[r["test_fold"]] / 2 for r in one.records)
    assert {r["setting"] for r in one.records} == {"setting1"}


def test_audioset_cli(audioset_copy, tmp_path, capsys):
    code = main(["-q", "reproduce", "audioset", "--data", str(audioset_copy), "--out", str(tmp_path / "o"),
                 "--semantic", "WLE,WLE+SLE", "--lambda-grid", "0.01,1", "--learner", "sae"])  # fmt: skip
    assert code == 0
    shown = capsys.readouterr().out
    assert "10 folds computed" in shown and "WLE+SLE" in shown and "Top-1" in shown
    records = json.loads((tmp_path / "o" / "results.json").read_text())
    assert {r["spec"] for r in records} == {"WLE", "WLE+SLE"} and {r["lambda"] for r in records} <= {0.01, 1.0}
    assert main(["-q", "reproduce", "audioset", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path)]) == 2


def test_audioset_vggish_needs_audio(audioset_copy, tmp_path):
    with pytest.raises(ConfigError, match="audio_dir"):
        run_reproduce_audioset(out=tmp_path, data=audioset_copy, acoustic="vggish", progress=False)


# ----------------------------------------------------------------------------------------------- ESC-50


def make_esc50(root, write_wav, classes, *, per_class=2, seconds=1.0):
    rows = []
    for target, category in enumerate(classes):
        for take in range(per_class):
            name = f"{take % 5 + 1}-{1000 + target}-{'ABCDEFGH'[take]}-{target}.wav"
            write_wav(f"{root.name}/audio/{name}", tone(150 + 90 * target + 20 * take, seconds), 16_000)
            rows.append([name, take % 5 + 1, target, category, "False", 1000 + target, "ABCDEFGH"[take]])
    (root / "meta").mkdir(parents=True, exist_ok=True)
    with open(root / "meta" / "esc50.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "fold", "target", "category", "esc10", "src_file", "take"])
        writer.writerows(rows)
    return root


def test_esc50_partial_copy_runs_on_the_classes_present(tmp_path, write_wav):
    classes = ["dog", "rooster", "rain", "sea_waves", "crackling_fire", "crying_baby"]
    # 4 clips per class: one is held out of every fit for the generalised test, and VGGish's
    # 80/20 split needs the other three.
    root = make_esc50(tmp_path / "ESC-50", write_wav, classes, per_class=4)
    out = tmp_path / "out"
    result = run_reproduce_esc50(out=out, data=root, seeds=[0, 1], vggish=TINY_VGGISH, learners=["sae"], progress=False)
    assert (result.ran, result.skipped) == (6, 0)
    assert {r["setting"] for r in result.records} == {"partial"} and {r["spec"] for r in result.records} == {"SLE"}
    assert all(r["n_classes"] == 2 and r["n_clips"] == 8 for r in result.records)
    for seed in (0, 1):
        folds = [r["test_fold"] for r in result.records if r["seed"] == seed]
        tested = sorted(
            c for f in folds for c in pd.read_csv(out / "folds" / "sae" / "SLE" / f"seed{seed}" / f"{f}.csv")["true"]
        )
        assert tested == sorted(c for c in classes for _ in range(4))  # each class is tested once per seed
    assert any("6 of the 50 classes" in note for note in result.notes)
    assert (out / "acoustic" / "seed1" / "Fold2" / "final").is_dir()
    assert "not comparable" in (out / "tables.md").read_text()
    again = run_reproduce_esc50(out=out, data=root, seeds=[0, 1, 2], vggish=TINY_VGGISH, learners=["sae"],
                                progress=False)  # fmt: skip
    assert (again.ran, again.skipped) == (3, 6) and len(again.records) == 9


def test_esc50_full_copy_uses_the_paper_partition(tmp_path, write_wav):
    root = make_esc50(tmp_path / "ESC-50", write_wav, ESC50_CLASSES, per_class=2, seconds=2.0)
    code = main(["-q", "reproduce", "esc50", "--data", str(root), "--out", str(tmp_path / "out"), "--semantic", "SLE",
                 "--max-epochs", "1", "--fc-units", "16", "--conv-channels", "2", "4", "4", "8"])  # fmt: skip
    assert code == 0
    records = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["setting"] for r in records} == {"category"}
    assert {r["test_fold"] for r in records} == set(esc50_category_folds())
    assert all(r["n_classes"] == 10 and r["n_clips"] == 20 for r in records)
    assert "Table VI" in (tmp_path / "out" / "tables.md").read_text()
