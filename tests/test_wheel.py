"""The wheel runs outside the checkout (issue 14): built from a copy of the sources, installed into a fresh
folder, then `verify --quick --out DIR` and `figure NAME --out DIR` from an empty working directory."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_verify_and_figure_from_an_empty_directory(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    for pkg in ("lottery_theory", "proofs_checks"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    run = lambda *a, **k: subprocess.run(a, capture_output=True, text=True, timeout=1800, **k)  # noqa: E731
    r = run(sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-w",
            str(tmp_path / "dist"), "-q")
    assert r.returncode == 0, r.stderr
    wheel = next((tmp_path / "dist").glob("lottery_theory-*.whl"))
    target = tmp_path / "site"
    r = run(sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), str(wheel), "-q")
    assert r.returncode == 0, r.stderr
    work = tmp_path / "empty"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed wheel first, its dependencies from this env
    code = ("import sys, lottery_theory; assert lottery_theory.__file__.startswith(sys.argv[1]), "
            "lottery_theory.__file__; from lottery_theory.cli import main; sys.exit(main(sys.argv[2:]))")
    r = run(sys.executable, "-c", code, str(target), "verify", "--quick", "--only", "symbolic_checks",
            "layer_ratios", "--out", "out", cwd=work, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rows = json.loads((work / "out" / "verdicts.json").read_text())["rows"]
    assert {x["check"] for x in rows} == {"symbolic_checks", "layer_ratios"}
    assert all(x["verdict"] != "error" for x in rows)
    (work / "out" / "layer_ratios.png").unlink()
    r = run(sys.executable, "-c", code, str(target), "figure", "layer_ratios", "--out", "out", cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    assert (work / "out" / "layer_ratios.png").stat().st_size > 10_000
    assert sorted(p.name for p in work.iterdir()) == ["out"]  # nothing written outside --out
