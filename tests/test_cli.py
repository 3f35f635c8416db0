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
