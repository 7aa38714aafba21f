"""vae_core: sentence VAEs and their relatives (see README.md).

OpenMP keeps its default wait policy (threads spin briefly at barriers): on free cores passive waiting cost
the 256/256/32 VAE 36% of its bf16 speed at 2 threads (6,830 against 10,720 target tokens/s) and 17% in
float32. What passive waiting protects against, 2 threads sharing their cores with another busy process,
is handled by the thread count instead: `--threads 0` (the default) uses the cores that are idle when
training starts and follows them while it runs (`vae_core.runtime`), so beside a busy core it trains on 1 thread, the
fastest choice there (bench/train_speed.py --busy-core). Set OMP_WAIT_POLICY yourself to override.
"""
from .runtime import keep_large_allocations

keep_large_allocations()        # big per-step tensors reuse heap memory instead of page-faulting (runtime.py)
