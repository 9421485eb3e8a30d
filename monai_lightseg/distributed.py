"""Ending a torchrun (DistributedDataParallel) bundle run cleanly."""

from __future__ import annotations

import gc

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

__all__ = ["shutdown"]


def shutdown(network: torch.nn.Module | None = None) -> None:
    """Wait for every rank, then tear the process group down while the interpreter is still fully alive.

    ``dist.destroy_process_group()`` alone only forgets the group: a ``DistributedDataParallel`` module (its
    ``process_group`` and its C++ reducer) keeps the backend alive, so with gloo the I/O thread and the two worker
    threads run on into interpreter shutdown, where the backend is torn down in whatever order the last objects go
    (and a rank that finished first does so while its peer is still saving and then closing its sockets). Under load
    that ended rank 1 with "terminate called without an active exception" (SIGABRT). Dropping DDP's references
    first makes ``destroy_process_group`` release the backend here, joining those threads; the module is not usable
    for training afterwards. No-op when no process group is initialised."""
    if not dist.is_initialized():
        return
    dist.barrier()  # no rank tears down while another still communicates (rank 0 saves after rank 1 is done)
    if isinstance(network, DistributedDataParallel):
        for name in ("logger", "reducer", "process_group"):
            if hasattr(network, name):
                delattr(network, name)
    dist.destroy_process_group()
    gc.collect()
