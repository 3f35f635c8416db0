"""CLI: every command's --help, one-line errors, verify on the quick checks."""
import subprocess
import sys

import pytest

from lottery_theory.cli import main

COMMANDS = ["bounds", "verify", "sweep", "figure", "reproduce"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_works(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main([cmd, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "lottery-theory" in out


def test_error_is_one_line(capsys):
    assert main(["figure", "no-such-figure"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "available" in err[0]


def test_verify_only_prints_table(tmp_path):
    r = subprocess.run([sys.executable, "-m", "lottery_theory.cli", "verify", "--quick", "--only", "layer_ratios",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "| check | claim | measured | bound | verdict |" in r.stdout
    assert "**holds**" in r.stdout
    assert (tmp_path / "verdicts.md").exists() and (tmp_path / "layer_ratios.png").exists()


def test_full_quick_verify_exits_zero(tmp_path):
    """The main job (`make run`): every check runs, the table prints, verdicts.md and figures are written."""
    env = dict(__import__("os").environ, LOTTERY_THEORY_RESULTS=str(tmp_path / "results"))
    r = subprocess.run([sys.executable, "-m", "lottery_theory.cli", "verify", "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "**error**" not in r.stdout
    for check in ["layer_ratios", "subset_sum_lueker", "representation_er", "lower_bound_3layer", "symbolic_checks",
                  "tickets_er", "edge_popup_er", "prune_er"]:
        assert f"| {check} |" in r.stdout
    assert (tmp_path / "verdicts.md").read_text().count("**holds**") >= 15
    assert len(list(tmp_path.glob("*.png"))) >= 12
