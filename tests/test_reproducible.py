"""Same bytes on every x86 CPU: a trained config, a ticket and its bracket are identical under the code paths of
other CPUs (emulated with ATEN_CPU_CAPABILITY, MKL_CBWR, ONEDNN_MAX_CPU_ISA), in fresh processes, through the API
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
                                                                 "ONEDNN_MAX_CPU_ISA", "LOTTERY_THEORY_FAST_MATH")}
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
EMULATED = [{"ATEN_CPU_CAPABILITY": c, "MKL_CBWR": m, "ONEDNN_MAX_CPU_ISA": i}
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
        assert "ReproducibilityWarning" not in err
    else:
        assert err.count("ReproducibilityWarning") == 1 and "import lottery_theory first" in err


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
