"""Data-parallel training on PyTorch's own engine: `torchrun` + DistributedDataParallel.

    torchrun --nproc_per_node 2 -m vae_core.train --data ../shared/data/ptb --out runs/ddp ...    # CPU: gloo
    torchrun --nproc_per_node 8 -m vae_core.train ...                                            # GPUs: NCCL
    torchrun --nnodes 2 --node_rank R --master_addr HOST --master_port 29500 --nproc_per_node 8 -m vae_core.train ...

torchrun sets RANK / WORLD_SIZE / LOCAL_RANK; `DistContext.from_env` reads them and joins the process group
(NCCL when the device is CUDA, gloo otherwise). Without them (a plain `python -m vae_core.train`) it is a
world of one and every collective below is a no-op, so there is one code path.

What each rank does (see `vae_core.train.Trainer`):
- `--batch-size` is the *global* batch: every rank builds the same bucketed batch list (same seed, epoch)
  and takes its contiguous share of each batch (`shard`). The loss of a rank is its sum over sentences
  divided by the global batch size times the world size, so DDP's gradient average equals the gradient of
  the global batch mean: 2 processes x B/2 give the parameters of 1 process x B (tested).
- Only rank 0 validates, prints, and writes checkpoints; the validation result is broadcast so every rank
  steps the learning-rate schedule alike. Each rank's RNG state is gathered into the checkpoint, so
  `--resume` under torchrun continues every rank's noise stream (the directory must be shared).
- Decisions to stop (budget, signal) are agreed through a small gloo all-reduce, so no rank waits forever.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    """Where this process sits in the job: rank, world size, and the control group for CPU collectives."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1                  # ranks on this machine (torchrun's LOCAL_WORLD_SIZE)
    control: Any = None          # a gloo group (CPU tensors) also when the main backend is NCCL

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls, device: torch.device) -> "DistContext":
        """Join the process group torchrun describes in the environment; a world of one without it."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls()
        if not dist.is_available():
            raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed")
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        control = dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD
        return cls(rank=dist.get_rank(), world=dist.get_world_size(),
                   local_rank=int(os.environ.get("LOCAL_RANK", "0")),
                   local_world=int(os.environ.get("LOCAL_WORLD_SIZE", "1")), control=control)

    def shard(self, indices: Sequence[int]) -> list[int]:
        """This rank's contiguous share of one global batch (sizes differ by at most one)."""
        n, r, w = len(indices), self.rank, self.world
        lo, hi = r * n // w, (r + 1) * n // w
        return list(indices[lo:hi])

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum `t` over ranks, in place (float64 CPU tensors go through the gloo control group)."""
        if self.enabled:
            dist.all_reduce(t, group=self.control if t.device.type == "cpu" else None)
        return t

    def max_int(self, value: int) -> int:
        """The largest of every rank's `value`, on every rank (one tiny CPU all-reduce)."""
        if not self.enabled:
            return value
        t = torch.tensor([value], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.control)
        return int(t.item())

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's `obj` on every rank (picklable Python objects; our own processes only)."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's `obj` (e.g. its RNG states), in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world
        dist.all_gather_object(out, obj, group=self.control)
        return out

    def close(self) -> None:
        """Leave the process group: every rank first meets the others (so none tears its gloo pairs down while
        a peer is still in its last collective), then the group is destroyed while the interpreter is alive."""
        if self.enabled and dist.is_initialized():
            dist.barrier(group=self.control)
            dist.destroy_process_group()
