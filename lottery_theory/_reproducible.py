"""Same numbers on every x86 CPU: pin the numeric code paths before torch runs its first operation.

PyTorch, MKL and oneDNN pick kernels by the CPU they run on (AVX-512, AVX2, SSE), and those kernels add in other
orders, so one training epoch gives other weights on another CPU. Importing :mod:`lottery_theory` sets, unless
``LOTTERY_THEORY_FAST_MATH=1``:

* ``ATEN_CPU_CAPABILITY=default``: torch's own kernels (elementwise ops, reductions, optimizers) take their
  portable path;
* ``MKL_CBWR=COMPATIBLE``: MKL's conditional numerical reproducibility (matrix products) on its portable path;
* ``ONEDNN_MAX_CPU_ISA=SSE41``: oneDNN (convolutions) limited to SSE4.1, which every x86-64 CPU of the last 15
  years has;
* ``NPY_DISABLE_CPU_FEATURES``: numpy's kernels dispatched above its baseline (for numpy >= 2.4: X86_V3 X86_V4
  AVX512_ICL AVX512_SPR; before: AVX ... AVX512_SPR) switched off, so ``np.exp``, ``np.log1p``, ``np.power`` ...
  take numpy's baseline code on every x86 CPU (with AVX-512 on, ``lower_bound_success_prob(19, 20, 0.2, 0.5)``
  differs in its last bit);
* ``OPENBLAS_CORETYPE=Prescott`` and ``OPENBLAS_NUM_THREADS=1``: numpy's and scipy's OpenBLAS on one portable
  kernel set and one thread (matrix products, ``lstsq``, ``polyfit`` otherwise change with the CPU's kernels, and
  ``lstsq`` / long dot products with the thread count).

The values override ones already in the environment (so a run under ``ATEN_CPU_CAPABILITY=avx512`` gives the
same bytes as one under ``avx2``: that is how the tests emulate another CPU). They take effect only if torch has
not run an operation yet and numpy was not imported yet (``import torch`` imports numpy: import lottery_theory
first); otherwise a :class:`ReproducibilityWarning` says so once. The compiled subset-sum kernel
(numba) needs no pin: it is compiled without fast-math, so LLVM neither reorders nor fuses its floating-point
operations on any CPU. Thread counts still matter for torch: sweeps run one thread per worker process
(``experiments.sweep``), so their results do not depend on the machine's core count. Cost measured on this
2-core machine: docs/benchmarks.md ("Reproducible numerics").
"""
from __future__ import annotations

import os
import sys
import warnings

PINS = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"}
OPT_OUT = "LOTTERY_THEORY_FAST_MATH"
# numpy's dispatched (above-baseline) x86 targets in its PyPI wheels, by version (read from __cpu_dispatch__ of the
# 1.26.4, 2.0.2, 2.2.6, 2.3.5 and 2.4.6 wheels); disabling them leaves the baseline (SSE3; X86_V2 from 2.4) and the
# SSSE3/SSE4 targets every x86-64 CPU of the last 15 years has. A name numpy does not dispatch would be an
# ImportWarning, a baseline one an import error: hence only known wheels (see numpy_pins).
_AVX_1 = "AVX F16C FMA3 AVX2 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"
NUMPY_DISPATCH = {(2, 4): "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", (2, 3): _AVX_1 + " AVX512_SPR", (0, 0): _AVX_1}
BLAS_PINS = {"OPENBLAS_CORETYPE": "Prescott", "OPENBLAS_NUM_THREADS": "1"}


def numpy_pins() -> dict:
    """The numpy / OpenBLAS pins for this machine (module docstring): none off x86-64; the numpy one only for a
    numpy installed from a PyPI wheel (a ``numpy.libs`` folder beside it), whose dispatch targets are known (another
    build may have them in its baseline, where disabling one is an import error). Finds numpy and its version
    (from its ``.dist-info`` folder) without importing it: ``import lottery_theory`` stays fast."""
    import importlib.util
    import platform
    import re

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    pins = dict(BLAS_PINS)
    try:
        spec = importlib.util.find_spec("numpy")
    except (ImportError, ValueError):
        return pins
    where = list(spec.submodule_search_locations or []) if spec else []
    site = os.path.dirname(where[0]) if where else ""
    if not where or not os.path.isdir(os.path.join(site, "numpy.libs")):
        return pins
    versions = [m for f in os.listdir(site) if (m := re.fullmatch(r"numpy-(\d+)\.(\d+)\.[^-]*\.dist-info", f))]
    if len(versions) == 1:
        version = (int(versions[0].group(1)), int(versions[0].group(2)))
        pins["NPY_DISABLE_CPU_FEATURES"] = next(v for k, v in sorted(NUMPY_DISPATCH.items(), reverse=True)
                                                if version >= k)
    return pins


class ReproducibilityWarning(UserWarning):
    """The numeric code paths could not be pinned (torch ran, or numpy was imported, before lottery_theory)."""


def pinned() -> bool:
    """Whether this process asked for the portable code paths (the default; ``LOTTERY_THEORY_FAST_MATH=1`` opts out)."""
    return os.environ.get(OPT_OUT, "") in ("", "0")


def pin() -> None:
    """Set :data:`PINS` in the environment (module docstring); warn once if torch already chose its kernels."""
    if not pinned():
        return
    os.environ.update(PINS)
    npy = numpy_pins()
    if "numpy" not in sys.modules:
        os.environ.pop("NPY_ENABLE_CPU_FEATURES", None)  # numpy refuses both variables at once
        os.environ.update(npy)
    elif npy and any(os.environ.get(k) != v for k, v in npy.items()):
        warnings.warn("numpy was imported before lottery_theory (`import torch` imports it), so its AVX2/AVX-512 "
                      "kernels and its OpenBLAS's CPU-specific kernels stay on: bounds, fits and certificates may "
                      "differ in the last digits on another CPU; import lottery_theory first (or set "
                      f"{', '.join(f'{k}={v!r}' for k, v in npy.items())} before starting Python)",
                      ReproducibilityWarning, stacklevel=3)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        try:
            cap = torch.backends.cpu.get_cpu_capability()
        except Exception:  # noqa: BLE001 - a partly imported torch: nothing ran yet
            return
        if cap != "DEFAULT":
            warnings.warn(f"torch already ran on this CPU's {cap} kernels before lottery_theory was imported, so "
                          "results may differ in the last digits on another CPU; import lottery_theory first (or "
                          f"set {', '.join(f'{k}={v}' for k, v in PINS.items())} before starting Python)",
                          ReproducibilityWarning, stacklevel=3)
