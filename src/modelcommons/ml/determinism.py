"""Fixed seeds, a fixed thread count and deterministic kernels: a recipe re-run matches."""

from __future__ import annotations

import os
import random


def make_deterministic(seed: int, threads: int) -> None:
    import numpy as np
    import torch

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
