#!/usr/bin/env bash
# CUDA checks, for a GPU machine that has torch/numpy/scipy/sympy/numba/pytest but not this package installed
# (run from the repository root). On CUDA, train / edge_popup / IMP pick the GPU by default (default_device), so
# these tests exercise the CUDA path of everything they touch; the two CUDA-only tests stop skipping. Then one
# throughput comparison of the batched torch subset-sum solver on the GPU against the CPU kernel.
# Seen on an H200 machine (16 cores), 2026-11-27: 205 passed, 0 skipped; n = 16: GPU 0.77-0.85x the CPU kernel,
# n = 20: 0.80-1.04x (two runs), errors equal. It found that IMP left the model on the GPU (fixed: imp returns
# the model on the device it came on).
set -uo pipefail
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg
python3 -c "import torch, numpy, numba; print('torch', torch.__version__, 'numpy', numpy.__version__, 'numba', numba.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
python3 -m pytest -q -p no:cacheprovider -rs tests/test_subset_sum_kernel.py tests/test_edge_popup.py tests/test_prune.py \
    tests/test_masks_nets.py tests/test_own_model.py tests/test_extension_points.py tests/test_bounds.py \
    tests/test_bounds_peers.py tests/test_present_items.py tests/test_subset_sum.py -k "not milp" \
    --deselect tests/test_subset_sum.py::test_hand_instance 2>&1  # these two need cvxpy (a CI dependency)
status=$?
python3 - <<'PY'
import time

import numpy as np
import torch

from lottery_theory.subset_sum import solve

rng = np.random.default_rng(0)
for n, B in ((16, 200_000), (20, 50_000)):
    v, t = rng.uniform(-1, 1, (B, n)), rng.uniform(-1, 1, B)
    solve(v[:100], t[:100], device="cuda"); solve(v[:100], t[:100])  # warm-up / compile
    torch.cuda.synchronize(); t0 = time.perf_counter(); g = solve(v, t, device="cuda"); torch.cuda.synchronize()
    tg = time.perf_counter() - t0
    t0 = time.perf_counter(); c = solve(v, t); tc = time.perf_counter() - t0
    same = np.allclose(g.error, c.error, rtol=0, atol=1e-12)
    print(f"n={n} B={B}: cuda batched {B / tg:,.0f} inst/s, cpu kernel ({torch.get_num_threads()} threads) "
          f"{B / tc:,.0f} inst/s, ratio {tc / tg:.2f}, errors equal: {same}")
PY
exit $status
