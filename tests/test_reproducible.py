"""Same bytes on every x86 CPU: a trained config, a ticket and its bracket are identical under the code paths of
other CPUs (emulated with ATEN_CPU_CAPABILITY, MKL_CBWR, ONEDNN_MAX_CPU_ISA, and for numpy and its OpenBLAS
NPY_DISABLE_CPU_FEATURES, OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS), in fresh processes, through the API
and the CLI; the opt-out shows that the pins matter; torch used first gives a warning, not silence."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r"""
import hashlib, json, sys
first = sys.argv[1]
if first == "torch-used":
    import torch
    torch.ones(3).sum()
import lottery_theory  # noqa
import torch
from lottery_theory.experiments.builtin._data import er_start
from lottery_theory.experiments.builtin.ticket import spectral_target
from lottery_theory.search.train import train
from lottery_theory.tickets import construct

def digest(ts):
    return hashlib.sha256(b"".join(t.detach().contiguous().numpy().tobytes() for t in ts)).hexdigest()[:16]

out = {}
for arch in ("mlp", "conv"):
    g, net, data = er_start(arch, None, 0.2, "erk", 0)
    x, y = data.train
    train(net, (x[:256], y[:256]), epochs=1, lr=1e-3, generator=g, progress=False, batch_size=32)
    out[arch] = digest(net.state_dict().values())
tk = construct(spectral_target([6, 8, 1], 0), density=0.5, eps=0.05, width_multiplier=12,
               generator=torch.Generator().manual_seed(1))
br = tk.sup_error((-1.0, 1.0), generator=torch.Generator().manual_seed(2), restarts=4, steps=20, samples=200)
out["ticket"] = digest([p for p in tk.network.parameters()])
out["bracket"] = [br.lower.hex(), br.upper.hex(), tk.kept_params]
print(torch.backends.cpu.get_cpu_capability())
print(json.dumps(out))
"""


NP_KEYS = ("NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
           "LOTTERY_THEORY_FAST_MATH")


def _cpu_has(flag: str) -> bool:
    try:
        return flag in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def _runs(envs: list[dict], first: str = "lottery_theory") -> list:
    """Run SCRIPT in one fresh process per environment, two at a time (they are independent); returns, per
    environment, (torch's CPU capability, the digests, stderr)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(env_extra: dict):
        env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR",
                                                                 "ONEDNN_MAX_CPU_ISA", *NP_KEYS)}
        env.update(env_extra)
        r = subprocess.run([sys.executable, "-c", SCRIPT, first], capture_output=True, text=True, env=env,
                           timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        lines = r.stdout.strip().splitlines()
        return lines[-2], json.loads(lines[-1]), r.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, envs))


def _run(env_extra: dict, first: str = "lottery_theory"):
    return _runs([env_extra], first)[0]


CAPS = ["default"] + [c for c, flag in (("avx2", "avx2"), ("avx512", "avx512f")) if _cpu_has(flag)]
# numpy / OpenBLAS as an AVX2 machine would run them (numpy without its AVX-512 kernels, OpenBLAS's Haswell core)
NP_AVX2 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell",
           "OPENBLAS_NUM_THREADS": "2"}
EMULATED = [{"ATEN_CPU_CAPABILITY": c, "MKL_CBWR": m, "ONEDNN_MAX_CPU_ISA": i, **(NP_AVX2 if c == "avx2" else {})}
            for c, m, i in zip(CAPS, ["AUTO", "AVX2", "AUTO"], ["ALL", "AVX2", "ALL"])] + [{}]


def test_pinned_results_are_identical_under_every_emulated_cpu():
    runs = _runs(EMULATED)
    assert {cap for cap, _, _ in runs} == {"DEFAULT"}  # the pin overrode every requested capability
    first = runs[0][1]
    for env, (_, res, _) in zip(EMULATED, runs):
        assert res == first, f"{env} gave {res}, the first run {first}"


def test_the_pins_matter_and_the_opt_out_is_honoured():
    if len(CAPS) < 2:
        pytest.skip("this CPU offers only the default code path: nothing to compare")
    a, b = _runs([{"LOTTERY_THEORY_FAST_MATH": "1", "ATEN_CPU_CAPABILITY": "default"},
                  {"LOTTERY_THEORY_FAST_MATH": "1", "ATEN_CPU_CAPABILITY": CAPS[-1]}])
    assert a[0] == "DEFAULT" and b[0] == CAPS[-1].upper()
    assert a[1]["mlp"] != b[1]["mlp"], "without the pins, other code paths give other weights (that is the problem)"


def test_torch_used_first_warns_instead_of_pinning_silently():
    cap = CAPS[-1]
    _, _, err = _run({"ATEN_CPU_CAPABILITY": cap}, first="torch-used")
    if cap == "default":
        assert "torch already ran" not in err
    else:
        assert err.count("torch already ran") == 1 and "import lottery_theory first" in err


def test_cli_ticket_is_identical_under_emulated_cpus(tmp_path):
    import torch

    from lottery_theory.experiments.builtin.ticket import spectral_target
    from lottery_theory.nets import save_target

    save_target(spectral_target([5, 6, 1], 3), tmp_path / "t.pt")
    outs = []
    for e in EMULATED[:2]:
        env = {**{k: v for k, v in os.environ.items() if k != "LOTTERY_THEORY_FAST_MATH"}, **e}
        r = subprocess.run([sys.executable, "-m", "lottery_theory.cli", "ticket", "--target", str(tmp_path / "t.pt"),
                            "--density", "0.5", "--eps", "0.05", "--k", "10", "--json"], capture_output=True,
                           text=True, env=env, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        d = json.loads(r.stdout.strip().splitlines()[-1])
        outs.append((d["lower"], d["upper"], d["kept_params"]))
    assert outs[0] == outs[1]
    assert torch.backends.cpu.get_cpu_capability() in ("DEFAULT",)  # this test process is pinned too (conftest)


NP_SCRIPT = r"""
import hashlib, json
import lottery_theory  # noqa: F401 - first, so that numpy starts pinned
import numpy as np
from lottery_theory.bounds.lower_bound import lower_bound_success_prob

h = lambda a: hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]  # noqa: E731
rng = np.random.default_rng(0)
a, b = rng.normal(size=(300, 200)), rng.normal(size=300)
x = np.linspace(-5.0, 5.0, 10001)
print(json.dumps({"lower_bound": float(lower_bound_success_prob(19, 20, 0.2, 0.5)).hex(),
                  "exp_log1p_pow": h([np.exp(x), np.log1p(np.abs(x)), np.power(0.8, x)]),
                  "matmul": h(a.T @ a), "lstsq": h(np.linalg.lstsq(a, b, rcond=None)[0]),
                  "polyfit": h(np.polyfit(x[:50], np.sin(x[:50]), 3))}))
"""
# Other CPUs, emulated: numpy without its AVX-512 (an AVX2 machine) or without AVX2 too, OpenBLAS on other cores'
# kernels, other thread counts. The pins override these settings, so every run must give the same bytes.
NP_EMULATED = [{}, {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell",
                    "OPENBLAS_NUM_THREADS": "2"},
               {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Sandybridge",
                "OPENBLAS_NUM_THREADS": "4"}, {"OPENBLAS_CORETYPE": "SkylakeX"}]


def _np_runs(envs: list[dict]) -> list[dict]:
    import warnings

    def one(extra: dict) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in NP_KEYS}
        env.update(extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = subprocess.run([sys.executable, "-W", "ignore::ImportWarning", "-c", NP_SCRIPT], capture_output=True,
                               text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        return json.loads(r.stdout.strip().splitlines()[-1])

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, envs))


@pytest.mark.skipif(not _cpu_has("sse4_2"), reason="not an x86-64 CPU")
def test_numpy_and_openblas_results_are_identical_under_emulated_cpus():
    """Bounds (np.exp / log1p / power), matrix products, lstsq and polyfit give the same bytes whatever numpy kernels
    and OpenBLAS core and thread count the CPU would pick. The bound is also checked against an independent exact
    sum (mpmath, 50 digits): 0.11036530003747794..., within 1e-14 relative."""
    runs = _np_runs(NP_EMULATED)
    for env, r in zip(NP_EMULATED, runs):
        assert r == runs[0], f"{env} gave {r}, the native run {runs[0]}"
    assert abs(float.fromhex(runs[0]["lower_bound"]) / 0.11036530003747794326717510 - 1) < 1e-14


@pytest.mark.skipif(not _cpu_has("avx512f"), reason="the CPU has no AVX-512: the fast and portable paths coincide")
def test_numpy_pins_matter_and_a_late_numpy_import_warns():
    """Without the pins (LOTTERY_THEORY_FAST_MATH=1) an AVX-512 CPU and an emulated AVX2 one disagree in the last
    bits (the problem the pins solve); numpy imported before lottery_theory gives one ReproducibilityWarning."""
    fast = _np_runs([{"LOTTERY_THEORY_FAST_MATH": "1"}, {**NP_EMULATED[1], "LOTTERY_THEORY_FAST_MATH": "1"}])
    assert fast[0] != fast[1]
    env = {k: v for k, v in os.environ.items() if k not in NP_KEYS}
    r = subprocess.run([sys.executable, "-c", "import numpy, lottery_theory"], capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0 and r.stderr.count("ReproducibilityWarning") == 1, r.stderr
    assert "import lottery_theory first" in r.stderr


@pytest.mark.parametrize("version,libs,want", [
    ("2.4.6", True, "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"),
    ("2.3.5", True, "AVX F16C FMA3 AVX2 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL "
                    "AVX512_ICL AVX512_SPR"),
    ("1.26.4", True, "AVX F16C FMA3 AVX2 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL "
                     "AVX512_ICL"),
    ("2.4.6", False, None)])
def test_numpy_pin_only_for_known_wheels(tmp_path, version, libs, want):
    """The names are those numpy's PyPI wheels dispatch (read from __cpu_dispatch__ of each version's wheel): a
    name it does not dispatch would be an ImportWarning, a baseline one an import error. A numpy that is not a
    PyPI wheel (no numpy.libs beside it: conda, a distribution's or a source build) keeps its kernels; OpenBLAS is
    pinned either way. Checked on a fake numpy found first on the path (never imported)."""
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("raise ImportError('the fake numpy must not be imported')\n")
    (tmp_path / f"numpy-{version}.dist-info").mkdir()
    if libs:
        (tmp_path / "numpy.libs").mkdir()
    code = "import json; from lottery_theory._reproducible import numpy_pins; print(json.dumps(numpy_pins()))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parent.parent)])}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    pins = json.loads(r.stdout)
    assert pins.get("NPY_DISABLE_CPU_FEATURES") == want
    assert pins["OPENBLAS_CORETYPE"] == "Prescott" and pins["OPENBLAS_NUM_THREADS"] == "1"
