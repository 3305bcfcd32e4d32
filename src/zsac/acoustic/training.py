"""Training VGGish from scratch on the training classes only (paper Sections III-B, V-B2, V-C2).

Every 0.96-s segment carries its clip's class. A seeded, class-stratified split keeps a
fixed share of each class for validation: the paper splits ESC-50 *segments* 80/20 and
AudioSet *clips* 75/25 (``split_unit``). Adam minimises the cross-entropy; training stops
once validation accuracy has not improved for ``patience`` epochs, and the best epoch's
weights are kept. The settings and their defaults are :class:`~zsac.acoustic.VGGishConfig`.

That is the paper's recipe (``recipe="paper"``, the default here). ``recipe="zsac"`` adds batch
norm, the augmentations of :func:`augment` (random gain, circular time shift, SpecAugment
masks) and optionally mixup, AdamW with per-step warm-up and cosine decay, label smoothing and
a floor on the epochs before early stopping (see ``zsac.acoustic.config``).

Reproducibility: weights are initialised from ``seed``; epoch ``e`` shuffles and draws its
augmentations with a generator seeded by ``(seed, e)``, reseeds dropout the same way, and takes
its learning rates from the step number alone, so a run resumed
from a checkpoint follows exactly the same path as one that was never interrupted.

Scale-out: started under torchrun with a process group (``zsac train-acoustic`` starts it;
a script calls ``torch.distributed.init_process_group``), training is data-parallel
(DistributedDataParallel). Every rank draws the same ``(seed, e)`` order and augmentations,
and rank ``r`` of ``N`` takes the ``r``-th contiguous share of each batch, so ``batch_size``
stays the batch of one optimiser step whatever the world size, the gradient is that batch's
mean, and the learning rates, the steps per epoch and a checkpoint mean the same for any
world size: a run resumes under another. Rank 0 alone writes checkpoints and the model, logs
and shows progress; it decides early stopping and tells the others. One process (no group,
or a group of one) runs exactly the code above.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm

from .._atomic import atomic_path, write_json_atomic
from .._device import autocast, resolve_device, resolve_precision
from .._distributed import torchrun_rank
from .._version import __version__
from ..audio import EXAMPLE_FRAMES, LOG_OFFSET, NUM_MEL_BANDS
from ..errors import CheckpointError, ConfigError, DataError
from ..shards import SegmentShards
from .config import VGGISH_CONV_CHANNELS, VGGISH_FC_UNITS, VGGishConfig, recipe_batch_size
from .networks import build_network
from .vggish import VGGish, load_vggish, save_vggish

__all__ = ["train_vggish", "VGGishTrainingResult", "stratified_split", "load_trained_vggish", "augment"]

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.safetensors"
_VGGISH_WIDTHS = {"conv_channels": VGGISH_CONV_CHANNELS, "fc_units": VGGISH_FC_UNITS}
#: Older checkpoint folders keep their best weights in this one file, rewritten in place. They
#: now go to a new file per improvement (``best-00012.safetensors``) that the checkpoint names,
#: so that a run killed between writing the best weights and the checkpoint resumes with the
#: best weights its checkpoint's state describes, even if the epoch run again scores otherwise.
BEST_FILE = "best.safetensors"
_BEST_PATTERN = re.compile(r"best-\d{5,}\.safetensors")
FINAL_DIR = "final"


@dataclasses.dataclass
class VGGishTrainingResult:
    """What :func:`train_vggish` returns.

    Attributes
    ----------
    model : VGGish
        Weights of the best validation epoch, in eval mode.
    class_names : list of str
        Head output ``k`` is ``class_names[k]``.
    history : list of dict
        One record per epoch: epoch, train_loss, train_accuracy, val_accuracy, seconds and
        world_size (the processes that trained it).
    best_epoch : int
    best_val_accuracy : float
    validation_mask : np.ndarray [shape=(n_segments,)], bool
        Which segments (in the order of the concatenated clips) were held out.
    """

    model: VGGish
    class_names: list[str]
    history: list[dict[str, float]]
    best_epoch: int
    best_val_accuracy: float
    validation_mask: np.ndarray


def stratified_split(labels: np.ndarray, *, validation_fraction: float, seed: int) -> np.ndarray:
    """Seeded per-class split: ``round(fraction * n_c)`` items of each class go to validation.

    Hand-written rather than sklearn's ``train_test_split(stratify=...)`` because that
    allocates validation items over classes approximately; the paper asks for the same
    proportion within every class. A class keeps at least one item for training.

    Parameters
    ----------
    labels : np.ndarray [shape=(n_items,)], int
    validation_fraction : float in (0, 1)
    seed : int

    Returns
    -------
    np.ndarray [shape=(n_items,)], bool
        True for validation items.
    """
    if not 0.0 < validation_fraction < 1.0:
        raise ConfigError(f"validation_fraction must lie in (0, 1), got {validation_fraction}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.shape[0], dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_val = min(int(round(validation_fraction * members.size)), members.size - 1)
        mask[rng.permutation(members)[:n_val]] = True
    return mask


def train_vggish(
    clip_examples: Sequence[np.ndarray] | SegmentShards,
    clip_labels: Sequence[str] | None,
    config: VGGishConfig | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    precision: str = "auto",
    compile: bool | None = None,
    channels_last: bool = True,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> VGGishTrainingResult:
    """Train VGGish from scratch as a classifier of the given (training) classes.

    Parameters
    ----------
    clip_examples : sequence of np.ndarray [shape=(n_segments_i, 96, 64)], or SegmentShards
        Log-mel examples of each clip (see :func:`zsac.audio.waveform_to_examples`), which
        are moved to the training device whole; or a :class:`~zsac.shards.SegmentShards`
        folder (``zsac features --shards-out``), whose examples stay on disk and are read a
        batch at a time, so that memory does not grow with the data.
    clip_labels : sequence of str, or None
        Class of each clip; every segment of a clip carries it. None for shards, which
        carry their labels.
    config : VGGishConfig or None
        The recipe: widths, epochs, patience, batch size, learning rate, validation split
        (default: the paper's, ``VGGishConfig()``).
    seed : int
        Fixes initialisation, split, shuffling and dropout. The caller's global RNG
        state is left untouched.
    device : str, torch.device or None
        ``None`` picks CUDA when available.
    precision : {"auto", "fp32", "bf16"}
        ``"auto"`` trains under bf16 autocast on CUDA and in fp32 on CPU.
    compile : bool or None
        ``torch.compile`` the model; ``None`` means on CUDA only.
    channels_last : bool
        Use the channels-last memory format, which the convolution kernels prefer.
    checkpoint_dir : path or None
        Write ``checkpoint.safetensors`` (model, optimiser and state) after every epoch
        and ``best-NNNNN.safetensors`` on every improvement, atomically; a later call with the
        same arguments and directory resumes where the last one stopped. The finished
        model is saved to ``checkpoint_dir/final`` (see :func:`zsac.acoustic.load_vggish`).
    progress : bool
        Show a progress bar of epochs with train and validation accuracy.
    **overrides
        :class:`VGGishConfig` fields that replace the config's, e.g. ``max_epochs=30``.

    Returns
    -------
    VGGishTrainingResult
    """
    try:
        config = dataclasses.replace(config or VGGishConfig(), **overrides).resolved()
    except TypeError as exc:
        raise ConfigError(f"train_vggish: {exc}; the settings are VGGishConfig's fields") from exc
    split_unit, validation_fraction = config.split_unit, config.validation_fraction
    batch_size, learning_rate, max_epochs, patience = (
        config.batch_size, config.learning_rate, config.max_epochs, config.patience
    )  # fmt: skip
    if isinstance(clip_examples, SegmentShards):
        if clip_labels is not None:
            raise ConfigError("segment shards carry their labels: pass clip_labels=None")
        shards, segments = clip_examples, None
        segment_labels, class_names, clip_of_segment = _shard_labels(shards)
    else:
        shards = None
        segments, segment_labels, class_names, clip_of_segment = _segments_and_labels(clip_examples, clip_labels)
    if split_unit == "segment":
        validation_mask = stratified_split(segment_labels, validation_fraction=validation_fraction, seed=seed)
    else:
        clip_class = segment_labels[np.unique(clip_of_segment, return_index=True)[1]]
        clip_mask = stratified_split(clip_class, validation_fraction=validation_fraction, seed=seed)
        validation_mask = clip_mask[clip_of_segment]
    if not validation_mask.any():
        raise DataError("the validation split is empty: each class needs at least two items to split")
    if batch_size is None:  # the zsac recipe's: by the data
        batch_size = recipe_batch_size(int((~validation_mask).sum()))

    world = _World.current()
    device = world.device(resolve_device(device))
    precision = resolve_precision(precision, device)
    use_compile = device.type == "cuda" if compile is None else compile
    memory_format = torch.channels_last if channels_last else torch.contiguous_format

    # VGGish's own widths are left out, as zsac 0.1 did, so that its checkpoints still resume.
    widths = {
        key: value for key, value in config.model_options().items()
        if key not in _VGGISH_WIDTHS or value != _VGGISH_WIDTHS[key]
    }  # fmt: skip
    model_config = {**widths, "n_classes": len(class_names)}
    settings = {
        "split_unit": split_unit,
        "validation_fraction": validation_fraction,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "patience": patience,
        "seed": seed,
        "model": model_config,
    }
    levers = config.levers()
    if levers:  # absent for the paper's recipe, so that its checkpoints still resume
        settings["levers"] = levers
    fingerprint = _fingerprint(settings, class_names, segment_labels, validation_mask)

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = build_network(model_config)
    model = model.to(device=device, memory_format=memory_format)
    optimizer = _optimizer(model, config, device=device)
    steps_per_epoch = -(-int((~validation_mask).sum()) // batch_size)

    # Examples in memory stay resident on the training device; batches are gathered by index.
    # Shards stay on disk, and the same gathering reads a batch's rows from them.
    if shards is None:
        train_x = torch.from_numpy(segments[~validation_mask]).to(device)
        val_x = torch.from_numpy(segments[validation_mask]).to(device)
    else:
        train_x = _MappedSegments(shards, np.flatnonzero(~validation_mask), device)
        val_x = _MappedSegments(shards, np.flatnonzero(validation_mask), device)
    train_y = torch.from_numpy(segment_labels[~validation_mask]).to(device)
    val_y = torch.from_numpy(segment_labels[validation_mask]).to(device)
    del segments

    state: dict[str, Any] = {
        "epoch": 0,
        "best_epoch": 0,
        "best_val_accuracy": -1.0,
        "history": [],
        "stopped_early": False,
    }
    best_weights: dict[str, torch.Tensor] | None = None
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    # Rank 0 alone reads and writes the checkpoint folder; the others take what it restored.
    writes = ckpt is not None and world.is_main
    restored = None
    if writes:
        restored = _restore(ckpt, fingerprint, model, optimizer)
        if restored is not None:
            state, best_weights = restored
            logger.info("resuming VGGish training from %s after epoch %d", ckpt, state["epoch"])
        else:
            write_json_atomic(ckpt / "training.json", {"settings": settings, "class_names": class_names})
    if world.size > 1:
        state = world.share_resumed_state(state, optimizer, restored=restored is not None)

    train_module = world.wrap(model, device)  # DDP's constructor gives every rank rank 0's weights
    step = torch.compile(train_module) if use_compile else train_module
    # Validation runs on the bare model: each rank scores its own share, whose batches DDP's
    # collective forward would have to count alike on every rank.
    eval_step = step if world.size == 1 else (torch.compile(model) if use_compile else model)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    bar = tqdm(
        total=max_epochs, initial=state["epoch"], desc="VGGish", unit="epoch", disable=not (progress and world.is_main)
    )
    try:
        while not state["stopped_early"] and state["epoch"] < max_epochs:
            epoch = state["epoch"] + 1
            started = time.perf_counter()
            train_loss, train_accuracy = _train_epoch(
                step, optimizer, loss_fn, train_x, train_y,
                batch_size=batch_size, seed=seed, epoch=epoch, device=device,
                precision=precision, memory_format=memory_format, config=config,
                learning_rates=_learning_rates(config, epoch=epoch, steps_per_epoch=steps_per_epoch), world=world,
            )  # fmt: skip
            world.share_buffers(model)  # batch norm's running statistics: rank 0's, as saved
            val_accuracy = _accuracy(
                eval_step, val_x, val_y, device=device, precision=precision, memory_format=memory_format, world=world
            )
            record = {
                "epoch": epoch,
                "train_loss": train_loss,
                "train_accuracy": train_accuracy,
                "val_accuracy": val_accuracy,
                "seconds": time.perf_counter() - started,
                "world_size": world.size,
            }
            state["history"].append(record)
            state["epoch"] = epoch
            if val_accuracy > state["best_val_accuracy"]:
                state["best_val_accuracy"], state["best_epoch"] = val_accuracy, epoch
                best_weights = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
                state["best_file"] = f"best-{epoch:05d}.safetensors"
                if writes:
                    _write_tensors(ckpt / state["best_file"], best_weights)
            # At the last epoch there is nothing left to stop: the run is not called stopped early.
            stop = epoch - state["best_epoch"] >= patience and config.min_epochs <= epoch < max_epochs
            if world.broadcast_flag(stop, device):  # rank 0 decides, for all
                state["stopped_early"] = True
                bar.set_description("VGGish, stopped early")  # so that a bar short of its total reads as done
                if world.is_main:
                    logger.info("early stop after epoch %d: best validation accuracy %.4f at epoch %d",
                                epoch, state["best_val_accuracy"], state["best_epoch"])  # fmt: skip
            if writes:
                _save_checkpoint(ckpt / CHECKPOINT_FILE, model, optimizer, state, fingerprint)
                _remove_other_best_files(ckpt, keep=state.get("best_file", BEST_FILE))
            if world.is_main:
                logger.info(
                    "epoch %d: train acc %.4f loss %.4f, val acc %.4f", epoch, train_accuracy, train_loss, val_accuracy
                )
            bar.update(1)
            bar.set_postfix(train_acc=f"{train_accuracy:.3f}", val_acc=f"{val_accuracy:.3f}",
                            best=f"{state['best_val_accuracy']:.3f}@{state['best_epoch']}")  # fmt: skip
    finally:
        bar.close()

    if best_weights is not None:
        model.load_state_dict(best_weights, strict=True)
    if world.size > 1:  # rank 0's best weights and record, on every rank (a resumed rank 0 alone read them)
        state = world.share_final(model, state)
    model = model.to(memory_format=torch.contiguous_format).eval()
    if writes:
        metadata = _final_metadata(class_names, settings, state, world_size=world.size)
        save_vggish(model, ckpt / FINAL_DIR, metadata=metadata)
    return VGGishTrainingResult(
        model=model,
        class_names=class_names,
        history=list(state["history"]),
        best_epoch=int(state["best_epoch"]),
        best_val_accuracy=float(state["best_val_accuracy"]),
        validation_mask=validation_mask,
    )


def load_trained_vggish(checkpoint_dir: str | os.PathLike[str], *, device: str | torch.device = "cpu"):
    """Load the model that :func:`train_vggish` saved under ``checkpoint_dir/final``."""
    return load_vggish(Path(checkpoint_dir) / FINAL_DIR, device=device)


# --------------------------------------------------------------------------- internals


@dataclasses.dataclass(frozen=True)
class _World:
    """The processes training together: one (``size == 1``, no collective at all) or a torchrun group."""

    rank: int = 0
    size: int = 1

    @classmethod
    def current(cls) -> _World:
        """The default process group's ranks, or one process when none has been started."""
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return cls(rank=dist.get_rank(), size=dist.get_world_size())
        return cls()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The device this rank trains on: its own GPU (torchrun's LOCAL_RANK) for a bare ``cuda``."""
        if self.size == 1:
            return device
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torchrun_rank().local_rank)
        if dist.get_backend() == "nccl" and device.type != "cuda":
            raise ConfigError(f"the process group's backend is NCCL, which needs CUDA, but training is on {device}")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return device

    def share(self, start: int, stop: int) -> tuple[int, int]:
        """This rank's contiguous share of positions ``start..stop``: sizes differ by one at most."""
        base, extra = divmod(stop - start, self.size)
        low = start + self.rank * base + min(self.rank, extra)
        return low, low + base + (self.rank < extra)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        if self.size == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)

    def sum(self, value: torch.Tensor) -> torch.Tensor:
        """``value`` summed over the ranks (itself on one process)."""
        if self.size == 1:
            return value
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
        return value

    def broadcast_flag(self, flag: bool, device: torch.device) -> bool:
        """Rank 0's ``flag``, on every rank."""
        if self.size == 1:
            return flag
        value = torch.tensor([int(flag)], device=device)
        dist.broadcast(value, src=0)
        return bool(value.item())

    def share_buffers(self, model: nn.Module) -> None:
        """Copy rank 0's buffers (batch norm's running statistics) to every rank, in place."""
        if self.size == 1:
            return
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)

    def share_resumed_state(
        self, state: dict[str, Any], optimizer: torch.optim.Optimizer, *, restored: bool
    ) -> dict[str, Any]:
        """Rank 0's training state and, if it resumed, its optimiser state, on every rank.

        The model's weights need no copying: DDP's constructor broadcasts rank 0's. Only rank 0
        reads the checkpoint folder, so the ranks of several nodes need not share a file system.
        """
        optimizer_state = None
        if self.is_main and restored:
            optimizer_state = _tensors_to_cpu(optimizer.state_dict())
        shared = [json.dumps(state), optimizer_state]
        # Pickled between the job's own processes only; nothing from outside is unpickled.
        dist.broadcast_object_list(shared, src=0)
        if not self.is_main and shared[1] is not None:
            optimizer.load_state_dict(shared[1])
        return json.loads(shared[0])

    def share_final(self, model: nn.Module, state: dict[str, Any]) -> dict[str, Any]:
        """Rank 0's final weights (in place) and training state, on every rank."""
        for tensor in model.state_dict().values():
            dist.broadcast(tensor, src=0)
        shared = [json.dumps(state)]
        dist.broadcast_object_list(shared, src=0)
        return json.loads(shared[0])


def _tensors_to_cpu(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    if isinstance(value, dict):
        return {key: _tensors_to_cpu(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tensors_to_cpu(item) for item in value]
    return value


def _segments_and_labels(
    clip_examples: Sequence[np.ndarray], clip_labels: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    clip_examples, clip_labels = list(clip_examples), [str(label) for label in clip_labels]
    if len(clip_examples) != len(clip_labels):
        raise DataError(f"{len(clip_examples)} clips but {len(clip_labels)} labels")
    if not clip_examples:
        raise DataError("no clips to train on")
    for index, clip in enumerate(clip_examples):
        if clip.ndim != 3 or clip.shape[1:] != (EXAMPLE_FRAMES, NUM_MEL_BANDS) or clip.shape[0] == 0:
            raise DataError(f"clip {index} ({clip_labels[index]!r}) has examples of shape {clip.shape}, "
                            f"expected (n>=1, {EXAMPLE_FRAMES}, {NUM_MEL_BANDS})")  # fmt: skip
    class_names = sorted(set(clip_labels))
    if len(class_names) < 2:
        raise DataError(f"training needs at least two classes, got {class_names}")
    class_index = {name: k for k, name in enumerate(class_names)}
    counts = np.array([clip.shape[0] for clip in clip_examples])
    clip_of_segment = np.repeat(np.arange(len(clip_examples)), counts)
    segment_labels = np.array([class_index[label] for label in clip_labels], dtype=np.int64)[clip_of_segment]
    segments = np.ascontiguousarray(np.concatenate(clip_examples).astype(np.float32, copy=False))
    return segments, segment_labels, class_names, clip_of_segment


def _shard_labels(shards: SegmentShards) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Labels, class names and clip of each segment of ``shards``; classes without a segment
    (every file of theirs skipped) are left out, as they are for clips in memory."""
    present = np.unique(shards.labels)
    class_names = [shards.class_names[k] for k in present]
    if len(class_names) < 2:
        raise DataError(f"training needs at least two classes, got {class_names} in {shards.directory}")
    return np.searchsorted(present, shards.labels).astype(np.int64), class_names, shards.clip_of_segment


class _MappedSegments:
    """Segments of a :class:`SegmentShards` as training reads them: ``rows[i]`` is item ``i``.

    Answers the two ways training takes examples from a device tensor, ``index_select(0, i)``
    and slicing, by reading just those rows from the memory maps and moving them to ``device``.
    """

    def __init__(self, shards: SegmentShards, rows: np.ndarray, device: torch.device) -> None:
        self.shards, self.rows, self.device = shards, rows, device
        self.shape = (rows.size, EXAMPLE_FRAMES, NUM_MEL_BANDS)

    def index_select(self, dim: int, index: torch.Tensor) -> torch.Tensor:
        assert dim == 0
        return self._read(self.rows[index.cpu().numpy()])

    def __getitem__(self, items: slice) -> torch.Tensor:
        return self._read(self.rows[items])

    def _read(self, rows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.shards.gather(rows)).to(self.device, non_blocking=True)


def _fingerprint(settings: dict[str, Any], class_names: list[str], labels: np.ndarray, mask: np.ndarray) -> str:
    digest = hashlib.sha256(json.dumps({"settings": settings, "classes": class_names}, sort_keys=True).encode())
    digest.update(labels.tobytes())
    digest.update(mask.tobytes())
    return digest.hexdigest()


def _epoch_seed(seed: int, epoch: int) -> int:
    # Shifted as a Python int: NumPy 1 refuses to shift a uint64 by a (signed) Python int.
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]) >> 1


def _train_epoch(
    step: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    *,
    batch_size: int,
    seed: int,
    epoch: int,
    device: torch.device,
    precision: str,
    memory_format: torch.memory_format,
    config: VGGishConfig,
    learning_rates: np.ndarray,
    world: _World | None = None,
) -> tuple[float, float]:
    world = world or _World()
    step.train()
    n = train_x.shape[0]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(n)
    # The augmentations' draws come from the same per-epoch generator, on the CPU, so that a
    # resumed run and any device see the same numbers.
    draws = _augmentation_draws(rng, n, config=config, batch_size=batch_size)
    order_t = torch.from_numpy(order).to(device)
    # Sums stay on the device so the loop never waits for the GPU to report a number.
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(_epoch_seed(seed, epoch) + world.rank)  # dropout, if any
        for batch, start in enumerate(range(0, n, batch_size)):
            # This rank's share of the batch: all of it on one process.
            stop = min(start + batch_size, n)
            low, high = world.share(start, stop)
            # A rank left without an example (a last batch smaller than the world) still takes
            # part in the step, which every rank must: with one example whose loss counts nothing.
            counted = high > low
            if not counted:
                low, high = start, start + 1
            index = order_t[low:high]
            inputs = train_x.index_select(0, index)
            targets = train_y.index_select(0, index)
            inputs = augment(inputs, {k: v[low:high] for k, v in draws.per_example.items()})
            partner, weight = None, 1.0
            if draws.mixup_weights is not None and index.shape[0] > 1:
                weight = float(draws.mixup_weights[batch])
                partner = torch.from_numpy(_mixup_partners(draws.mixup_seeds[batch], index.shape[0])).to(device)
                inputs = weight * inputs + (1.0 - weight) * inputs.index_select(0, partner)  # mixup
            inputs = inputs.unsqueeze(1).contiguous(memory_format=memory_format)
            for group in optimizer.param_groups:
                group["lr"] = float(learning_rates[batch])
            with autocast(device, precision):
                logits = step(inputs)
                loss = loss_fn(logits.float(), targets)
                if partner is not None:
                    loss = weight * loss + (1.0 - weight) * loss_fn(logits.float(), targets.index_select(0, partner))
            optimizer.zero_grad(set_to_none=True)
            if world.size > 1:
                # DDP averages the ranks' gradients; weighting each rank's mean by its share of
                # the batch makes that average the whole batch's mean, as on one process.
                (loss * ((high - low) * world.size / (stop - start) if counted else 0.0)).backward()
            else:
                loss.backward()
            optimizer.step()
            if counted:
                loss_sum += loss.detach() * index.shape[0]
                correct += (logits.detach().argmax(1) == targets).sum()
    loss_sum, correct = world.sum(loss_sum), world.sum(correct)
    return float(loss_sum) / n, int(correct) / n


def _mixup_partners(seed: int, n: int) -> np.ndarray:
    """A seeded permutation of ``n`` items (mixup's partners within a batch)."""
    return np.random.default_rng(seed).permutation(n)


@dataclasses.dataclass
class _Draws:
    per_example: dict[str, torch.Tensor]
    mixup_weights: np.ndarray | None
    mixup_seeds: np.ndarray | None


def _augmentation_draws(rng: np.random.Generator, n: int, *, config: VGGishConfig, batch_size: int) -> _Draws:
    """Every random number one epoch's augmentations use, in the order of the shuffled segments."""
    per_example: dict[str, np.ndarray] = {}
    if config.gain_db:
        per_example["gain_db"] = rng.uniform(-config.gain_db, config.gain_db, n).astype(np.float32)
    if config.time_shift:
        per_example["shift"] = rng.integers(-config.time_shift, config.time_shift + 1, n)
    for name, width, size in (("time", config.time_mask, EXAMPLE_FRAMES), ("freq", config.freq_mask, NUM_MEL_BANDS)):
        if width:
            widths = rng.integers(0, width + 1, n)
            per_example[f"{name}_mask"] = np.stack([widths, rng.integers(0, size - widths + 1)], axis=1)
    weights = seeds = None
    if config.mixup:
        n_batches = -(-n // batch_size)
        weights = rng.beta(config.mixup, config.mixup, n_batches)
        seeds = rng.integers(0, 2**63 - 1, n_batches)
    return _Draws({k: torch.from_numpy(np.asarray(v)) for k, v in per_example.items()}, weights, seeds)


def augment(examples: torch.Tensor, draws: dict[str, torch.Tensor]) -> torch.Tensor:
    """Augmented copies of log-mel segments: gain, circular time shift, then SpecAugment masks.

    Parameters
    ----------
    examples : torch.Tensor [shape=(batch, 96, 64)]
        ``log(mel + LOG_OFFSET)`` segments.
    draws : dict of str to torch.Tensor
        Any of ``gain_db`` [shape=(batch,)], ``shift`` [shape=(batch,)] (frames, signed),
        ``time_mask`` and ``freq_mask`` [shape=(batch, 2)] (width, start). Absent: not applied.

    Returns
    -------
    torch.Tensor [shape=(batch, 96, 64)]
    """
    if not draws:
        return examples
    device = examples.device
    out = examples
    if "gain_db" in draws:
        # Exact on the front end's log(mel + offset): the mel magnitude scales with the waveform's
        # amplitude, so undo the log and the offset, scale, and redo them. Clamped at 0 because
        # the offset's float rounding can leave a silent segment a hair below it.
        gain = torch.pow(10.0, draws["gain_db"].to(device) / 20.0).view(-1, 1, 1)
        out = torch.log(gain * torch.clamp(torch.exp(out) - LOG_OFFSET, min=0.0) + LOG_OFFSET)
    frames = torch.arange(out.shape[1], device=device)
    if "shift" in draws:
        source = (frames.view(1, -1) - draws["shift"].to(device).view(-1, 1)) % out.shape[1]
        out = torch.gather(out, 1, source.unsqueeze(2).expand(-1, -1, out.shape[2]))
    fill = out.mean(dim=(1, 2), keepdim=True)  # a masked band reads as the segment's average level
    for name, axis in (("time_mask", 1), ("freq_mask", 2)):
        if name in draws:
            width, begin = draws[name].to(device).unbind(1)
            positions = torch.arange(out.shape[axis], device=device).view(1, -1)
            masked = (positions >= begin.view(-1, 1)) & (positions < (begin + width).view(-1, 1))
            masked = masked.unsqueeze(2) if axis == 1 else masked.unsqueeze(1)
            out = torch.where(masked, fill, out)
    return out


def _optimizer(model: nn.Module, config: VGGishConfig, *, device: torch.device) -> torch.optim.Optimizer:
    # The fused CUDA kernel does the whole Adam update in one launch.
    fused = device.type == "cuda"
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.learning_rate, fused=fused)
    # Decay only weight matrices and kernels: decaying norms' scales and biases only adds noise.
    decayed = [p for p in model.parameters() if p.ndim > 1]
    kept = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decayed, "weight_decay": config.weight_decay}, {"params": kept, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.learning_rate, fused=fused)


def _learning_rates(config: VGGishConfig, *, epoch: int, steps_per_epoch: int) -> np.ndarray:
    """The learning rate of each step of ``epoch`` (1-based): linear warm-up, then constant or cosine decay.

    A function of the step alone, so a resumed run continues the schedule exactly.
    """
    steps = (epoch - 1) * steps_per_epoch + np.arange(steps_per_epoch, dtype=np.float64)
    warmup = config.warmup_epochs * steps_per_epoch
    total = max(config.max_epochs * steps_per_epoch, warmup + 1)
    factor = np.ones_like(steps)
    if config.lr_schedule == "cosine":
        progress = np.clip((steps - warmup) / (total - warmup), 0.0, 1.0)
        factor = 0.5 * (1.0 + np.cos(np.pi * progress))
    if warmup:
        factor = np.where(steps < warmup, (steps + 1) / warmup, factor)
    return config.learning_rate * factor


def _accuracy(
    step: nn.Module,
    inputs_all: torch.Tensor,
    targets_all: torch.Tensor,
    *,
    device: torch.device,
    precision: str,
    memory_format: torch.memory_format,
    batch_size: int = 512,
    world: _World | None = None,
) -> float:
    world = world or _World()
    step.eval()
    correct = torch.zeros((), device=device, dtype=torch.long)
    low, high = world.share(0, inputs_all.shape[0])  # this rank's share of the validation segments
    with torch.inference_mode(), autocast(device, precision):
        for start in range(low, high, batch_size):
            end = min(start + batch_size, high)
            inputs = inputs_all[start:end].unsqueeze(1).contiguous(memory_format=memory_format)
            correct += (step(inputs).argmax(1) == targets_all[start:end]).sum()
    return int(world.sum(correct)) / max(1, inputs_all.shape[0])


def _save_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any], fingerprint: str
) -> None:
    tensors = {f"model.{k}": v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    for index, param_state in optimizer.state_dict()["state"].items():
        for key, value in param_state.items():
            tensors[f"optim.{index}.{key}"] = torch.as_tensor(value).detach().to("cpu").contiguous()
    metadata = {"state": json.dumps(state), "fingerprint": fingerprint, "zsac_version": __version__}
    _write_tensors(path, tensors, metadata=metadata)


def _write_tensors(path: Path, tensors: dict[str, torch.Tensor], *, metadata: dict[str, str] | None = None) -> None:
    """Write a checkpoint file atomically; a full disk or a read-only folder is one DataError naming it."""
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata=metadata)
    except (OSError, SafetensorError) as exc:  # safetensors reports write errors as SafetensorError
        raise DataError(
            f"cannot write the VGGish checkpoint {path}: {exc}; free space or write elsewhere, then rerun to resume"
        ) from exc


def _restore(
    directory: Path, fingerprint: str, model: nn.Module, optimizer: torch.optim.Optimizer
) -> tuple[dict[str, Any], dict[str, torch.Tensor] | None] | None:
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(path)
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable ({exc}); delete it to start afresh") from exc
    if metadata.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"checkpoint {path} belongs to a run with other data or settings; "
            "use another checkpoint directory or delete this one"
        )
    model_state = {k.removeprefix("model."): v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(model_state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not fit the model: {exc}") from exc
    optim_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, index, name = key.split(".", 2)
            # Optimizer.load_state_dict moves each value to its parameter's device itself.
            optim_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": optim_state, "param_groups": optimizer.state_dict()["param_groups"]})
    try:
        state = json.loads(metadata["state"])
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} has no readable training state; delete it to start afresh") from exc
    # The best weights the state describes: a file written after this checkpoint (by a run killed
    # before its next checkpoint) belongs to an epoch that will be run again, and is ignored.
    best_name = state.get("best_file", BEST_FILE)
    if best_name != BEST_FILE and not (isinstance(best_name, str) and _BEST_PATTERN.fullmatch(best_name)):
        raise CheckpointError(f"checkpoint {path} names best weights {best_name!r}, not a best-NNNNN.safetensors")
    best_weights = None
    if (directory / best_name).exists():
        try:
            best_weights = load_file(directory / best_name)
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"best weights {directory / best_name} are unreadable: {exc}") from exc
    elif state.get("best_epoch"):
        logger.warning("best weights %s are missing; the final model will be the last epoch's", directory / best_name)
    return state, best_weights


def _remove_other_best_files(directory: Path, *, keep: str) -> None:
    """Delete best-weight files other than ``keep``, once a checkpoint that names ``keep`` is written."""
    for path in [directory / BEST_FILE, *directory.glob("best-*.safetensors")]:
        if path.name != keep and path.exists():
            try:
                path.unlink()
            except OSError as exc:  # only disk space is lost
                logger.warning("cannot remove the old best weights %s: %s", path, exc)


def _final_metadata(
    class_names: list[str], settings: dict[str, Any], state: dict[str, Any], *, world_size: int
) -> dict[str, Any]:
    return {
        "class_names": class_names,
        "training": settings,
        "best_epoch": state["best_epoch"],
        "best_val_accuracy": state["best_val_accuracy"],
        "epochs_run": state["epoch"],
        # The processes of the run's last start; each epoch's are in the checkpoint's history.
        "world_size": world_size,
    }
