"""Training under torchrun: a process's rank, each rank's share of a batch, and real 2-process gloo runs.

The runs launch ``python -m torch.distributed.run`` on a tiny dataset that the test writes
(3 classes of 4 tones) and a tiny network, so each takes seconds on two CPU cores. Their
property: N processes train as one, to float rounding (the paper's recipe has no batch norm,
whose statistics are each rank's own), and a run resumes under any world size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from safetensors import safe_open
from safetensors.numpy import load_file

from zsac._distributed import Rank, backend_for, is_secondary_rank, parse_shard, torchrun_rank
from zsac.acoustic.training import _World
from zsac.errors import ConfigError

# --------------------------------------------------------------------------- the rank


def test_a_lone_process_is_rank_0_of_1():
    assert torchrun_rank({}) == Rank(rank=0, world_size=1, local_rank=0)
    assert torchrun_rank({}).is_main and not torchrun_rank({}).distributed


def test_torchrun_variables_give_the_rank():
    rank = torchrun_rank({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert rank == Rank(rank=3, world_size=4, local_rank=1)
    assert rank.distributed and not rank.is_main


@pytest.mark.parametrize(
    ("environ", "says"),
    [
        ({"RANK": "0", "WORLD_SIZE": "2"}, "partly set"),
        ({"RANK": "a", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, "integers"),
        ({"RANK": "2", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}, "inconsistent"),
        ({"RANK": "0", "WORLD_SIZE": "0", "LOCAL_RANK": "0"}, "inconsistent"),
        ({"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "-1"}, "inconsistent"),
    ],
)
def test_bad_torchrun_variables_are_one_line_errors(environ, says):
    with pytest.raises(ConfigError, match=says) as caught:
        torchrun_rank(environ)
    assert "\n" not in str(caught.value)


def test_only_ranks_above_0_are_secondary():
    assert not is_secondary_rank({})
    assert not is_secondary_rank({"RANK": "0"})
    assert is_secondary_rank({"RANK": "1"})
    assert not is_secondary_rank({"RANK": "x"})  # never raises: it only chooses a log level


@pytest.mark.parametrize(("text", "expected"), [("0/1", (0, 1)), ("3/8", (3, 8)), ("7/8", (7, 8))])
def test_a_shard_is_i_of_n(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["", "1", "8/8", "-1/4", "a/4", "1/0", "1/2/3", "1.5/4"])
def test_a_bad_shard_is_refused_by_its_text(text):
    with pytest.raises(ConfigError, match="i/N"):
        parse_shard(text)


def test_gloo_between_cpus_and_nccl_between_gpus():
    assert backend_for("cpu") == "gloo" and backend_for("cuda") == "nccl"


# --------------------------------------------------------------------------- each rank's share


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
@pytest.mark.parametrize(("start", "stop"), [(0, 0), (0, 1), (5, 8), (0, 64), (10, 13), (128, 150)])
def test_the_ranks_shares_tile_a_batch_in_order(size, start, stop):
    spans = [_World(rank=rank, size=size).share(start, stop) for rank in range(size)]
    assert spans[0][0] == start and spans[-1][1] == stop
    assert all(spans[r][1] == spans[r + 1][0] for r in range(size - 1))  # contiguous, disjoint, in rank order
    sizes = [high - low for low, high in spans]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_one_process_takes_the_whole_batch():
    assert _World().share(3, 9) == (3, 9) and _World().is_main


# --------------------------------------------------------------------------- real runs

TINY = ["--conv-channels", "4", "8", "8", "8", "--fc-units", "16", "--batch-size", "4", "--recipe", "paper"]


@pytest.fixture(scope="module")
def tones(tmp_path_factory) -> Path:
    """3 classes of 4 two-second tones, a little noise apart."""
    root = tmp_path_factory.mktemp("tones")
    rng = np.random.default_rng(0)
    time_s = np.arange(32_000) / 16_000
    for label, frequency in (("low", 300.0), ("middle", 1200.0), ("high", 3000.0)):
        (root / label).mkdir()
        for index in range(4):
            wave = 0.3 * np.sin(2 * np.pi * frequency * (1 + 0.05 * index) * time_s) + 0.02 * rng.normal(size=32_000)
            sf.write(root / label / f"{index}.wav", wave.astype(np.float32), 16_000)
    return root


def _zsac(args: list[str], *, processes: int | None, env: dict[str, str] | None = None, check: bool = True,
          torchrun: list[str] = ()) -> subprocess.CompletedProcess:  # fmt: skip
    """``zsac ARGS`` as one plain process (``processes=None``) or under torchrun with ``processes`` workers."""
    if processes is None:
        command = [sys.executable, "-m", "zsac", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
                   *torchrun, "-m", "zsac", *args]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def _train(data: Path, out: Path, cache: Path, *, epochs: int, processes: int | None, **kwargs):
    args = ["-q", "train-acoustic", "--data", str(data), "-o", str(out), "--cache-dir", str(cache),
            "--max-epochs", str(epochs), *TINY]  # fmt: skip
    return _zsac(args, processes=processes, **kwargs)


def _last_epoch(out: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The weights after the last epoch, and the training state, from the checkpoint."""
    path = out / "checkpoint.safetensors"
    with safe_open(str(path), framework="numpy") as handle:
        state = json.loads(handle.metadata()["state"])
    weights = {k.removeprefix("model."): v for k, v in load_file(path).items() if k.startswith("model.")}
    return weights, state


def _close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], atol: float) -> float:
    assert a.keys() == b.keys()
    largest = max(float(np.abs(a[key] - b[key]).max()) for key in a)
    assert largest <= atol, f"weights differ by {largest}"
    return largest


@pytest.fixture(scope="module")
def runs(tones, tmp_path_factory) -> dict[str, Path]:
    """Reference runs: one process for 2 and for 4 epochs, two gloo processes for 2, and torchrun's one for 2."""
    base = tmp_path_factory.mktemp("runs")
    cache = base / "cache"
    outs = {}
    for name, epochs, processes in (("one-2", 2, None), ("one-4", 4, None), ("two-2", 2, 2), ("torchrun-one-2", 2, 1)):
        outs[name] = base / name
        done = _train(tones, outs[name], cache, epochs=epochs, processes=processes)
        outs[name + ".stdout"] = done.stdout
    return outs


@pytest.mark.slow
def test_one_process_under_torchrun_trains_exactly_as_without_it(runs):
    alone, alone_state = _last_epoch(runs["one-2"])
    launched, launched_state = _last_epoch(runs["torchrun-one-2"])
    assert all(np.array_equal(alone[key], launched[key]) for key in alone)
    assert [r["train_loss"] for r in launched_state["history"]] == [r["train_loss"] for r in alone_state["history"]]


@pytest.mark.slow
def test_two_gloo_processes_train_as_one_process_does(runs):
    one, one_state = _last_epoch(runs["one-2"])
    two, two_state = _last_epoch(runs["two-2"])
    # Each rank takes half of every batch and DDP averages their gradients weighted by share:
    # the same update as one process, up to the order of float sums.
    _close(one, two, atol=1e-5)
    assert [r["val_accuracy"] for r in two_state["history"]] == [r["val_accuracy"] for r in one_state["history"]]
    np.testing.assert_allclose(
        [r["train_loss"] for r in two_state["history"]], [r["train_loss"] for r in one_state["history"]], rtol=1e-5
    )
    assert [r["world_size"] for r in two_state["history"]] == [2, 2]


@pytest.mark.slow
def test_rank_0_alone_writes_and_reports_and_the_record_states_the_world_size(runs):
    assert runs["two-2.stdout"].count("trained VGGish") == 1  # one report, from rank 0
    assert sorted(p.name for p in runs["two-2"].iterdir()) == sorted(p.name for p in runs["one-2"].iterdir())
    summary = json.loads((runs["two-2"] / "summary.json").read_text())
    assert summary["world_size"] == 2 and "rank" not in summary
    version = (runs["two-2"] / "final" / "CURRENT").read_text().strip()
    record = json.loads((runs["two-2"] / "final" / version / "config.json").read_text())
    assert record["metadata"]["world_size"] == 2
    one_version = (runs["one-2"] / "final" / "CURRENT").read_text().strip()
    one_record = json.loads((runs["one-2"] / "final" / one_version / "config.json").read_text())
    assert one_record["metadata"]["world_size"] == 1


@pytest.mark.slow
@pytest.mark.parametrize(("first", "then"), [(None, 2), (2, None)])
def test_a_run_resumes_under_another_world_size(runs, tones, tmp_path, first, then):
    # 2 epochs on `first` processes, then epochs 3-4 on `then`: the 4 epochs of one process.
    start = runs["one-2" if first is None else "two-2"]
    out = tmp_path / "resumed"
    subprocess.run(["cp", "-a", str(start), str(out)], check=True)
    _train(tones, out, tmp_path / "cache", epochs=4, processes=then)
    resumed, state = _last_epoch(out)
    assert [r["epoch"] for r in state["history"]] == [1, 2, 3, 4]
    assert [r["world_size"] for r in state["history"]] == [first or 1, first or 1, then or 1, then or 1]
    _close(resumed, _last_epoch(runs["one-4"])[0], atol=1e-5)


def _pid_of_rank(rank: int, mark: str) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"ZSAC_TEST_MARK={mark}".encode() in environ and f"RANK={rank}".encode() in environ:
                return int(entry.name)
    return None


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the worker to kill through /proc")
def test_a_rank_killed_with_sigkill_is_restarted_by_torchrun_and_resumes(tones, tmp_path):
    out, mark = tmp_path / "killed", uuid.uuid4().hex
    args = ["-v", "train-acoustic", "--data", str(tones), "-o", str(out), "--cache-dir", str(tmp_path / "cache"),
            "--max-epochs", "40", "--patience", "100", *TINY]  # fmt: skip
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               "--max-restarts=1", "-m", "zsac", *args]  # fmt: skip
    job = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "ZSAC_TEST_MARK": mark},
    )  # fmt: skip
    killed_after = None
    try:
        deadline = time.monotonic() + 120
        while killed_after is None and time.monotonic() < deadline and job.poll() is None:
            time.sleep(0.05)
            try:
                epochs = _last_epoch(out)[1]["epoch"]
            except (OSError, KeyError, ValueError):  # not written yet (the file appears whole, by rename)
                continue
            pid = _pid_of_rank(1, mark)
            if epochs >= 3 and pid is not None:
                os.kill(pid, signal.SIGKILL)
                killed_after = epochs
        stdout, stderr = job.communicate(timeout=150)
    finally:
        job.kill()
    assert killed_after is not None, "the run ended before a worker could be killed"
    assert job.returncode == 0, stderr[-3000:]
    # Rank 0 says in one line what happened, unless torchrun stopped it first (it stops the
    # survivors of a failed worker); no process of ours dumps a traceback. Then torchrun
    # restarted both workers, and they resumed.
    lost = [line for line in stderr.splitlines() if "lost the other processes" in line]
    assert all(line.startswith("zsac: error: rank 0 of 2 lost the other processes (") for line in lost), lost
    assert "Traceback" not in stderr, stderr[-3000:]
    assert "resuming VGGish training" in stderr
    _, state = _last_epoch(out)
    assert [r["epoch"] for r in state["history"]] == list(range(1, 41))  # no epoch lost or run twice
    assert stdout.count("trained VGGish") == 1


@pytest.mark.parametrize(
    "command", [["classify", "m", "x.wav", "--classes", "a", "b"], ["embed", "m", "x.wav", "-o", "e.npz"]]
)
def test_commands_that_cannot_share_their_work_refuse_to_run_under_torchrun(command, monkeypatch, capsys):
    from zsac.cli import main

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert main(command) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"zsac {command[0]} runs as one process" in error
