"""Model folders under crashes and concurrent writers: a load sees one whole model, a rerun cleans up.

- fault injection: a save that fails at any step leaves the old or the new model, whole, and
  a rerun leaves nothing else behind;
- a process that saves two models in turn while this one loads: every load is one model;
- a lock on ``-o``: a second writer is refused at once;
- same-seed trainings give byte-identical model folders.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from zsac import DataError, ZeroShotClassifier
from zsac._atomic import output_lock
from zsac.checkpoint import POINTER_FILE, TRAINING_LOG_FILE, model_version
from zsac.cli import main
from zsac.semantic.tables import ClassTable

NAMES = [f"sound {k:02d}" for k in range(8)]


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    root = tmp_path_factory.mktemp("problem")
    rng = np.random.default_rng(0)
    table = ClassTable(rng.normal(size=(8, 6)).astype(np.float32), names=tuple(NAMES)).save(root / "wle.npz")
    X = rng.normal(size=(80, 16)).astype(np.float32)
    y = np.repeat(NAMES, 10)
    return root, table, X, y


def fit(problem, names) -> ZeroShotClassifier:
    _, table, X, y = problem
    keep = np.isin(y, names)
    model = ZeroShotClassifier(semantic="WLE", tables={"WLE": str(table)}, lam=1.0, progress=False, max_iter=3)
    return model.fit(X[keep], y[keep])


@pytest.fixture(scope="module")
def models(problem):
    """Two models that differ in both class embeddings and W."""
    return fit(problem, NAMES[:4]), fit(problem, NAMES[3:8])


def which(loaded: ZeroShotClassifier, models) -> str:
    """'a' or 'b' when the loaded class embeddings and W are both one model's; else 'mixed'."""
    for label, model in zip("ab", models, strict=True):
        same_embeddings = np.array_equal(loaded.class_embeddings_, model.class_embeddings_)
        same_w = np.array_equal(loaded.bilinear_.W_, model.bilinear_.W_)
        if same_embeddings and same_w:
            return label
    return "mixed"


def leftovers(folder: Path) -> list[str]:
    """Entries of a model folder (and its parent) besides the pointer, one version and the log."""
    version = model_version(folder).name
    inside = sorted(p.name for p in folder.iterdir() if p.name not in (POINTER_FILE, TRAINING_LOG_FILE, version))
    beside = sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)
    return inside + beside


class FaultAt:
    """Make the k-th call of the file-system operations a save uses raise OSError (k=None: count only)."""

    NAMES = ("replace", "rename", "fsync", "mkdir", "unlink", "rmdir", "chmod")

    def __init__(self, monkeypatch, k: int | None):
        self.k, self.calls = k, 0
        for name in self.NAMES:
            monkeypatch.setattr(os, name, self._wrap(getattr(os, name), name))

    def _wrap(self, real, name):
        def operation(*args, **kwargs):
            if self.k is not None and self.calls == self.k:
                self.calls += 1
                raise OSError(errno.EIO, f"injected fault in os.{name}")
            self.calls += 1
            return real(*args, **kwargs)

        return operation


def test_a_save_failing_at_any_step_leaves_one_whole_model_and_a_rerun_cleans_up(models, tmp_path, monkeypatch):
    a, b = models
    reference = tmp_path / "reference" / "model"
    a.save(reference)
    with monkeypatch.context() as m:
        counter = FaultAt(m, None)
        b.save(tmp_path / "count" / "model")  # over nothing: fewer steps than over a model
        shutil.rmtree(tmp_path / "count")
        shutil.copytree(reference.parent, tmp_path / "count")
        counter.calls = 0
        b.save(tmp_path / "count" / "model")
        steps = counter.calls
    assert steps > 10
    seen = set()
    for k in range(steps):
        work = tmp_path / f"k{k}"
        shutil.copytree(reference.parent, work)
        folder = work / "model"
        with monkeypatch.context() as m:
            FaultAt(m, k)
            try:
                b.save(folder)
            except (OSError, DataError):
                pass
        loaded = ZeroShotClassifier.load(folder, tables=a.tables)
        seen.add(which(loaded, models))
        assert which(loaded, models) in ("a", "b"), k
        b.save(folder)  # the rerun
        assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) == "b"
        assert leftovers(folder) == [], (k, leftovers(folder))
        shutil.rmtree(work)
    assert seen == {"a", "b"}  # faults before and after the switch were both injected


def test_a_rerun_clears_what_a_killed_save_left(models, tmp_path):
    a, b = models
    folder = a.save(tmp_path / "model")
    # What a kill -9 leaves: a staging folder, a pointer's temporary file, another version, and
    # the swap folders of zsac 0.1 beside the folder.
    (folder / ".stage-abc_1234.tmp" / "bilinear").mkdir(parents=True)
    (folder / ".CURRENT.xyz98765.tmp").write_text("v-0000000000000000\n")
    (folder / ".damaged-k2j3k2j3.tmp").mkdir()
    (folder / "v-0123456789abcdef").mkdir()
    (tmp_path / ".model.old-1234").mkdir()  # zsac 0.1 named it by the process id
    (tmp_path / ".model.old-abcd1234").mkdir()
    (tmp_path / ".model.k2j3k2j3.tmp").mkdir()
    assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) == "a"
    b.save(folder)
    assert leftovers(folder) == []


def test_a_flat_model_of_zsac_0_1_loads_and_is_replaced_by_a_version(models, tmp_path):
    a, b = models
    folder = a.save(tmp_path / "new")
    flat = tmp_path / "flat"
    shutil.copytree(model_version(folder), flat)
    assert which(ZeroShotClassifier.load(flat, tables=a.tables), models) == "a"
    b.save(flat)
    assert which(ZeroShotClassifier.load(flat, tables=a.tables), models) == "b"
    assert leftovers(flat) == [p.name for p in sorted(tmp_path.iterdir()) if p.name != "flat"]


def test_identical_models_give_identical_folders(models, tmp_path):
    a, _ = models
    one, two = a.save(tmp_path / "one"), a.save(tmp_path / "two")
    assert (one / POINTER_FILE).read_bytes() == (two / POINTER_FILE).read_bytes()
    assert model_version(one).name == model_version(two).name


def test_save_writes_through_a_symbolic_link(models, tmp_path):
    a, _ = models
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    a.save(link)
    assert link.is_symlink() and (real / POINTER_FILE).is_file()
    assert which(ZeroShotClassifier.load(link, tables=a.tables), models) == "a"


def test_files_have_one_mode(models, tmp_path):
    folder = models[0].save(tmp_path / "m")
    modes = {p.relative_to(folder).as_posix(): p.stat().st_mode & 0o777 for p in folder.rglob("*") if p.is_file()}
    assert len(set(modes.values())) == 1, modes
    assert modes[f"{model_version(folder).name}/class_embeddings.safetensors"] == modes[POINTER_FILE]


def test_a_full_disk_is_one_error_and_leaves_no_temporary_files(models, tmp_path, monkeypatch):
    import zsac.checkpoint as checkpoint

    a, b = models
    folder = a.save(tmp_path / "m")

    class FullDisk:
        """A file that takes a few bytes, then reports a full disk (as write(2) does)."""

        def __init__(self, path, mode="r", **kwargs):
            self._file = open(path, mode, **kwargs)  # noqa: SIM115

        def write(self, data):
            self._file.write(bytes(data[:10]))
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    monkeypatch.setattr(checkpoint, "open", FullDisk, raising=False)
    with pytest.raises(DataError, match="No space left on device") as caught:
        b.save(folder)
    assert "\n" not in str(caught.value) and str(folder) in str(caught.value)
    assert leftovers(folder) == [] and which(ZeroShotClassifier.load(folder, tables=a.tables), models) == "a"


SAVER = textwrap.dedent(
    """
    import os, sys
    from zsac import ZeroShotClassifier
    a, b, target, table, stop = sys.argv[1:6]
    models = [ZeroShotClassifier.load(a, tables={"WLE": table}), ZeroShotClassifier.load(b, tables={"WLE": table})]
    print("ready", flush=True)
    n = 0
    while n < 10 or not os.path.exists(stop):
        models[n % 2].save(target)
        n += 1
    print(n, flush=True)
    """
)


def test_loads_during_saves_of_another_process_see_one_whole_model(models, problem, tmp_path):
    """Counted, not timed: at least 10 saves, and loads until 10 are done and both models were seen."""
    a, b = models
    _, table, _, _ = problem
    a.save(tmp_path / "a")
    b.save(tmp_path / "b")
    target = a.save(tmp_path / "target")
    stop = tmp_path / "stop"
    saver = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(tmp_path / "a"), str(tmp_path / "b"), str(target), str(table), str(stop)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert saver.stdout.readline().strip() == "ready"
        counts = {"a": 0, "b": 0, "mixed": 0}
        guard = time.monotonic() + 300  # against a hang only: the test counts loads, not seconds
        while sum(counts.values()) < 10 or not (counts["a"] and counts["b"]):
            assert time.monotonic() < guard, counts
            counts[which(ZeroShotClassifier.load(target, tables={"WLE": str(table)}), models)] += 1
        stop.touch()
        saves = int(saver.stdout.readline())
        assert saver.wait(timeout=60) == 0
    finally:
        stop.touch()
        if saver.poll() is None:
            saver.kill()
            saver.wait()
    assert saves >= 10, saves
    assert counts["mixed"] == 0, counts
    assert leftovers(target) == sorted(p.name for p in tmp_path.iterdir() if p.name != "target")


def test_a_load_retries_with_a_growing_pause_while_versions_switch(models, tmp_path, monkeypatch):
    import zsac.classifier as classifier

    a, b = models
    folder = a.save(tmp_path / "model")
    pauses = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    real_load_version = ZeroShotClassifier._load_version.__func__

    def racing(cls, directory, version, overrides):
        if len(pauses) < 3:  # a save switches the folder to the other model while this load reads it
            (b if model_version(directory).name == model_version(tmp_path / "a_copy").name else a).save(directory)
            raise classifier.CheckpointError(f"{version} vanished")
        return real_load_version(cls, directory, version, overrides)

    a.save(tmp_path / "a_copy")
    monkeypatch.setattr(ZeroShotClassifier, "_load_version", classmethod(racing))
    assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) in ("a", "b")
    assert pauses == pytest.approx([0.01, 0.02, 0.03])


def test_weights_read_after_a_concurrent_save_are_those_of_the_model_loaded(tmp_path):
    """VGGish's weights are read on first need; a save meanwhile deletes the version, not what was loaded."""
    import soundfile as sf
    import torch

    from conftest import tone
    from zsac.acoustic import VGGish

    paths = []
    for i, frequency in enumerate((150.0, 160.0, 3000.0, 3100.0)):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], tone(frequency, 1.5), 16_000)
    labels = ["hum", "hum", "whistle", "whistle"]
    table = ClassTable(np.eye(2, 3, dtype=np.float32) + 0.1, names=("hum", "whistle")).save(tmp_path / "wle.npz")
    fitted = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        fitted.append(ZeroShotClassifier(
            semantic="WLE", tables={"WLE": str(table)}, acoustic_model=VGGish(fc_units=8, conv_channels=(4, 4, 4, 4)),
            quantize=False, feature_cache=False, progress=False, lam=1.0,
        ).fit(paths, labels))  # fmt: skip
    folder = fitted[0].save(tmp_path / "model")
    loaded = ZeroShotClassifier.load(folder, inference="fp32")
    old_version = model_version(folder)
    fitted[1].save(folder)
    assert not old_version.exists()
    for model in fitted:
        model.inference = "fp32"
    np.testing.assert_array_equal(loaded.transform(paths), fitted[0].transform(paths))


# ------------------------------------------------------------------------------------------------ the lock


def test_a_second_writer_is_refused_at_once(tmp_path):
    target = tmp_path / "out"
    with output_lock(target):
        started = time.monotonic()
        with pytest.raises(DataError, match="another zsac run") as caught, output_lock(target):
            pass
        assert time.monotonic() - started < 1 and str(target) in str(caught.value)
    with output_lock(target):  # released with the first
        pass


def test_a_lock_file_removed_by_the_finishing_holder_is_not_busy(tmp_path, monkeypatch):
    """The holder removes ``.NAME.lock`` as it finishes, between our open and our flock: we reopen it."""
    import fcntl

    target = tmp_path / "out"
    lock_path = tmp_path / ".out.lock"
    real_flock, calls = fcntl.flock, []

    def flock(fd, operation):
        if not calls:
            lock_path.unlink()  # what the finishing holder does before it closes its descriptor
        calls.append(operation)
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    with output_lock(target):
        monkeypatch.setattr(fcntl, "flock", real_flock)
        assert lock_path.is_file()
        with pytest.raises(DataError, match="another zsac run"), output_lock(target):
            pass  # the file now on disk is the one locked
    assert len(calls) == 2


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--data", "{data}", "-o", "{out}"],
        ["train-acoustic", "--data", "{data}", "-o", "{out}"],
        ["reproduce", "esc50", "--data", "{data}", "-o", "{out}"],
    ],
    ids=["train", "train-acoustic", "reproduce"],
)
def test_commands_refuse_an_output_another_run_writes(command, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [part.format(data=tmp_path / "no-data", out=out) for part in command]
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from zsac._atomic import output_lock\n"
         "with output_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)", str(out)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["-q", *argv]) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err.strip()
    assert err.startswith("zsac: error:") and "another zsac run" in err and str(out) in err
    assert len(err.splitlines()) == 1


# ------------------------------------------------------------------------------------------------ bytes

TRAINER = textwrap.dedent(
    """
    import sys
    import torch
    from zsac import ZeroShotClassifier
    root, out, quiet = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    torch.set_num_threads(1)
    paths = [f"{root}/{label}{i}.wav" for label in ("hum", "whistle") for i in range(4)]
    labels = [label for label in ("hum", "whistle") for i in range(4)]
    model = ZeroShotClassifier(
        semantic="WLE", tables={"WLE": f"{root}/wle.npz"}, conv_channels=(4, 4, 4, 4), fc_units=8, max_epochs=1,
        batch_size=4, quantize=False, feature_cache=False, progress=not quiet, seed=3,
        checkpoint_dir=f"{out}.partial", lam=1.0,
    )
    model.fit(paths, labels).save(out)
    """
)


def write_training_data(root: Path) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(24_000) / 16_000
    for label, f in (("hum", 150.0), ("whistle", 3000.0)):
        for i in range(4):
            x = 0.5 * np.sin(2 * np.pi * f * (1 + 0.03 * i) * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(root / f"{label}{i}.wav", x.astype(np.float32), 16_000)
    ClassTable(np.eye(2, 4, dtype=np.float32) + 0.1, names=("hum", "whistle")).save(root / "wle.npz")


def test_two_same_seed_trainings_give_byte_identical_model_folders(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    root = tmp_path / "data"
    root.mkdir()
    write_training_data(root)
    runs = []
    for name, quiet in (("one", "1"), ("two", "0")):  # -q or not, another checkpoint folder: same model
        command = [sys.executable, "-c", TRAINER, str(root), str(tmp_path / name), quiet]
        runs.append(subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL))
    assert [run.wait(timeout=240) for run in runs] == [0, 0]
    one, two = tmp_path / "one", tmp_path / "two"

    def files(folder: Path) -> dict[str, bytes]:
        skip = TRAINING_LOG_FILE
        return {
            p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*")
            if p.is_file() and p.name != skip
        }

    first, second = files(one), files(two)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == [], differing
    assert (one / TRAINING_LOG_FILE).is_file()


def test_a_folder_swap_clears_what_a_crash_between_its_renames_left(tmp_path):
    """Datasets still swap folders: a crash after the first rename left ``.NAME.old-*``, which the next swap clears."""
    from zsac._atomic import replace_directory

    target = tmp_path / "ESC-50"
    (tmp_path / ".ESC-50.old-abc123").mkdir()  # the old copy, moved aside before the crash
    staging = tmp_path / ".ESC-50.new.tmp"
    staging.mkdir()
    (staging / "meta.csv").write_text("x")
    replace_directory(staging, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ESC-50"]
    assert (target / "meta.csv").read_text() == "x"


# ------------------------------------------------------------------------------------------------ library saves


def test_two_library_saves_into_one_folder_leave_one_whole_model(models, tmp_path, monkeypatch):
    """A whole second save that starts while the first is about to switch ``CURRENT`` waits for it (a lock)."""
    import threading

    import zsac.checkpoint as checkpoint

    a, b = models
    folder = tmp_path / "model"
    real_atomic_path = checkpoint.atomic_path
    inner: dict[str, object] = {}

    def atomic_path(target):
        if Path(target).name == POINTER_FILE and "thread" not in inner:
            # Writer a has renamed its version into place: writer b saves whole now.
            def save_b():
                try:
                    b.save(folder)
                except BaseException as exc:  # noqa: BLE001  (reported below)
                    inner["error"] = exc

            inner["thread"] = thread = threading.Thread(target=save_b)
            thread.start()
            thread.join(timeout=2)  # with the lock it waits for a; without, it runs to its end
        return real_atomic_path(target)

    monkeypatch.setattr(checkpoint, "atomic_path", atomic_path)
    a.save(folder)
    inner["thread"].join(timeout=30)
    assert not inner["thread"].is_alive() and "error" not in inner, inner
    assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) in ("a", "b")
    assert leftovers(folder) == []


def test_the_cleanup_deletes_only_what_zsac_made(models, tmp_path):
    a, b = models
    folder = a.save(tmp_path / "model")
    sibling_staging = tmp_path / ".model.x.abcd1234.tmp"  # the staging folder of a sibling model.x
    sibling_staging.mkdir()
    b.save(folder)
    assert sibling_staging.is_dir()
    notes = folder / ".notes.tmp"  # a user's file: not zsac's, so the folder is not zsac's to write
    notes.write_text("mine")
    with pytest.raises(DataError, match=r"\.notes\.tmp"):
        a.save(folder)
    assert notes.read_text() == "mine"
    assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) == "b"


def test_a_failure_after_the_switch_is_a_warning_not_a_failed_save(models, tmp_path, monkeypatch, caplog):
    import logging

    import zsac.checkpoint as checkpoint

    a, b = models
    folder = a.save(tmp_path / "model")
    real_write_json = checkpoint.write_json_atomic

    def write_json(target, obj):
        if Path(target).name == TRAINING_LOG_FILE:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_json(target, obj)

    def clean(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(checkpoint, "write_json_atomic", write_json)
    monkeypatch.setattr(checkpoint, "_clean_model_folder", clean)
    with caplog.at_level(logging.WARNING, logger="zsac.checkpoint"):
        assert b.save(folder) == folder
    assert "not its training log: No space left on device" in caplog.text
    assert "old versions are left: Permission denied" in caplog.text
    assert which(ZeroShotClassifier.load(folder, tables=a.tables), models) == "b"
