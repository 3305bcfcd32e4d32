"""Where this process stands in a torchrun job: its rank, the world size, and the process group.

torchrun (``torch.distributed.run``) starts one process per rank and tells each its place in
the environment: ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``.
Outside torchrun none of them is set and zsac runs as one process, exactly as it always has.

The environment is read here alone, and torch is imported only when a process group is
started, so the command line can ask for the rank without loading torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any

from .errors import ConfigError, DistributedError

__all__ = [
    "Rank",
    "torchrun_rank",
    "is_secondary_rank",
    "is_torchrun_job",
    "parse_shard",
    "init_process_group",
    "backend_for",
    "process_group",
]

#: The variables torchrun sets in every worker; all or none must be present.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclasses.dataclass(frozen=True)
class Rank:
    """One process's place among ``world_size`` processes (rank 0 is the one that writes).

    Attributes
    ----------
    rank : int
        0 .. world_size - 1 over all nodes.
    world_size : int
    local_rank : int
        The rank on this node: which GPU this process drives.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Whether this process writes checkpoints, logs, progress and results."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def torchrun_rank(environ: Mapping[str, str] | None = None) -> Rank:
    """This process's :class:`Rank` from torchrun's variables; a lone process is rank 0 of 1.

    Raises
    ------
    ConfigError
        The variables are partly set, not integers, or out of range.
    """
    environ = os.environ if environ is None else environ
    present = [name for name in TORCHRUN_VARIABLES if name in environ]
    if not present:
        return Rank()
    if len(present) != len(TORCHRUN_VARIABLES):
        missing = [name for name in TORCHRUN_VARIABLES if name not in environ]
        raise ConfigError(
            f"torchrun's variables are partly set ({', '.join(present)} but not {', '.join(missing)}); "
            "start the job with torchrun, or unset them"
        )
    try:
        rank, world_size, local_rank = (int(environ[name]) for name in TORCHRUN_VARIABLES)
    except ValueError:
        values = ", ".join(f"{name}={environ[name]!r}" for name in TORCHRUN_VARIABLES)
        raise ConfigError(f"torchrun's variables must be integers, got {values}") from None
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise ConfigError(f"torchrun's variables are inconsistent: RANK={rank}, WORLD_SIZE={world_size}, "
                          f"LOCAL_RANK={local_rank}")  # fmt: skip
    return Rank(rank=rank, world_size=world_size, local_rank=local_rank)


def is_secondary_rank(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this is a torchrun worker other than rank 0 (which alone logs); never raises."""
    environ = os.environ if environ is None else environ
    try:
        return int(environ.get("RANK", "0")) > 0
    except ValueError:
        return False


def is_torchrun_job(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process is one of several torchrun workers (WORLD_SIZE above 1); never raises."""
    environ = os.environ if environ is None else environ
    try:
        return int(environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` as ``(i, N)``: part ``i`` (0-based) of ``N``.

    Raises
    ------
    ConfigError
        Naming the text when it is not two integers with 0 <= i < N.
    """
    head, slash, tail = str(text).partition("/")
    try:
        index, count = int(head), int(tail)
    except ValueError:
        index = count = -1
    if not slash or count < 1 or not 0 <= index < count:
        raise ConfigError(f"a shard is i/N with 0 <= i < N, e.g. 0/4, got {text!r}")
    return index, count


def backend_for(device_type: str) -> str:
    """NCCL between GPUs, gloo between CPU processes."""
    return "nccl" if device_type == "cuda" else "gloo"


def init_process_group(rank: Rank, *, device_type: str) -> Any:
    """Join torchrun's process group (once) and return ``torch.distributed``.

    The group is the default one, so :func:`zsac.acoustic.train_vggish` finds it; a job
    that started it already (a user's own script) is left as it is.
    """
    import torch.distributed as dist

    if not dist.is_available():
        raise ConfigError("this torch build has no torch.distributed; run one process, without torchrun")
    if not dist.is_initialized():
        # torchrun's store outlives a restart (--max-restarts), and the keys the killed workers
        # left in it (gloo's addresses) would be read by the new ones, which then cannot connect:
        # each attempt keeps its keys apart.
        store, _, _ = next(dist.rendezvous("env://", rank=rank.rank, world_size=rank.world_size))
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        dist.init_process_group(
            backend=backend_for(device_type), store=dist.PrefixStore(f"zsac/attempt-{attempt}", store),
            rank=rank.rank, world_size=rank.world_size,
        )  # fmt: skip
    elif dist.get_world_size() != rank.world_size:
        raise ConfigError(
            f"a process group of {dist.get_world_size()} processes is running, but torchrun set WORLD_SIZE="
            f"{rank.world_size}"
        )
    return dist


@contextlib.contextmanager
def process_group(rank: Rank, *, device_type: str) -> Iterator[Any]:
    """torchrun's process group for a run of several processes (None for one), left when the run ends.

    A collective that fails because another process is gone (``kill -9``, a crash, a lost
    node) is raised as a one-line :class:`~zsac.errors.DistributedError` that says how to resume.
    """
    if not rank.distributed:
        yield None
        return
    dist = init_process_group(rank, device_type=device_type)
    try:
        yield dist
    except RuntimeError as exc:
        text = str(exc)
        if isinstance(exc, getattr(dist, "DistError", ())) or "gloo" in text.lower() or "nccl" in text.lower():
            reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise DistributedError(
                f"rank {rank.rank} of {rank.world_size} lost the other processes ({reason[:200]}); "
                "rerun the same command to resume from the last finished epoch"
            ) from exc
        raise
    finally:
        dist.destroy_process_group()
