"""CLI: every command's --help, one-line errors, verify on the quick checks."""
import subprocess
import sys

import pytest

from lottery_theory.cli import main

COMMANDS = ["bounds", "verify", "ticket", "sweep", "figure", "reproduce"]


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
    assert "| check | row | claim | measured | bound (fixed in advance) | seeds | verdict |" in r.stdout
    assert "**holds**" in r.stdout
    assert (tmp_path / "verdicts.md").exists() and (tmp_path / "layer_ratios.png").exists()


def _run_in_group(cmd, env, timeout):
    """Run in a new session; on timeout kill the whole process group (no orphaned pool workers)."""
    import os
    import signal

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out, err


def test_self_test_separates_every_row():
    """Every verdict row says "holds" under its claim and "violated" under its named alternative."""
    from lottery_theory.verdicts import self_test

    results = self_test()
    assert len(results) >= 20
    bad = [r for r in results if not r[4]]
    assert not bad, bad
    assert main(["verify", "--self-test", "--only", "layer_ratios"]) == 0


def test_full_quick_verify_matches_committed_verdicts(tmp_path):
    """The main job (`make run`) from an empty result store: every check runs, verdicts.json is written, and every
    row's verdict equals the committed figures/verdicts.json (an intended change updates both in one commit).
    No tight timeout: a busy 2-core machine may take several times the quiet 5 minutes."""
    import json
    import os
    from pathlib import Path

    env = dict(os.environ, LOTTERY_THEORY_RESULTS=str(tmp_path / "results"))
    rc, out, err = _run_in_group([sys.executable, "-m", "lottery_theory.cli", "verify", "--quick", "--out",
                                  str(tmp_path)], env, timeout=3000)
    assert rc == 0, err[-3000:]
    assert "**error**" not in out
    for check in ["layer_ratios", "subset_sum_lueker", "representation_er", "lower_bound_3layer", "symbolic_checks",
                  "tickets_er", "edge_popup_er", "prune_er"]:
        assert f"| {check} |" in out
    assert len(list(tmp_path.glob("*.png"))) >= 12
    now = json.loads((tmp_path / "verdicts.json").read_text())["rows"]
    committed = json.loads((Path(__file__).parent.parent / "figures" / "verdicts.json").read_text())
    assert committed["mode"] == "quick"
    assert {(r["check"], r["row"]) for r in now} == {(r["check"], r["row"]) for r in committed["rows"]}
    # A row near its margin (an interval end within 10% of its width of a boundary, or power within 0.05 of the
    # floor) may flip with float noise on another CPU: it is compared only when neither run flags it.
    near = {(r["check"], r["row"]) for r in now + committed["rows"] if r.get("near")}
    got = {(r["check"], r["row"]): r["verdict"] for r in now if (r["check"], r["row"]) not in near}
    want = {(r["check"], r["row"]): r["verdict"] for r in committed["rows"] if (r["check"], r["row"]) not in near}
    diff = {k: (want.get(k), got.get(k)) for k in set(got) | set(want) if want.get(k) != got.get(k)}
    assert not diff, f"verdicts differ from figures/verdicts.json (committed, now): {diff}"
    assert len(got) >= 20, f"too few rows left to compare once rows near their margin are set aside: {sorted(near)}"


def test_only_keeps_other_rows(tmp_path):
    """`verify --only X` replaces X's rows in verdicts.json and keeps the others."""
    import json

    from lottery_theory.verdicts import Verdict, write_outputs

    a = [Verdict("c1", "m", "b", "holds", "layer_ratios", "r1"), Verdict("c2", "m", "b", "holds", "symbolic_checks", "r2")]
    write_outputs(a, tmp_path, "quick")
    write_outputs([Verdict("c1", "m2", "b", "violated", "layer_ratios", "r1")], tmp_path, "quick", ["layer_ratios"])
    rows = json.loads((tmp_path / "verdicts.json").read_text())["rows"]
    assert {(r["check"], r["verdict"]) for r in rows} == {("layer_ratios", "violated"), ("symbolic_checks", "holds")}


def test_cli_defects_of_issue_26(tmp_path, capsys, monkeypatch):
    """--k 0 is a usage error; a box in exponent notation parses; `results export ..` cannot leave the store;
    `sweep` and `results` honour $LOTTERY_THEORY_RESULTS; a plain state_dict loads with --spec."""
    import json

    import torch

    with pytest.raises(SystemExit) as e:
        main(["ticket", "--target", "x.pt", "--density", "0.5", "--eps", "0.1", "--k", "0"])
    assert e.value.code == 2 and "must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["ticket", "--target", "x.pt", "--density", "0.5", "--eps", "0.1", "--seed", str(2**70)])
    assert e.value.code == 2 and "2**62" in capsys.readouterr().err
    from lottery_theory.cli import build_parser

    args = build_parser().parse_args(["ticket", "--target", "x", "--density", "0.5", "--eps", "0.1", "--box",
                                      "-1e300", "1e300"])
    assert args.box == [-1e300, 1e300]
    assert main(["results", "export", "..", "--out", str(tmp_path / "x.csv")]) != 0
    assert "unknown experiment '..'" in capsys.readouterr().err
    monkeypatch.setenv("LOTTERY_THEORY_RESULTS", str(tmp_path / "store"))
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"experiment": "selftest", "grid": {"seed": [0]}}))
    assert main(["sweep", str(spec), "--executor", "serial"]) == 0
    assert (tmp_path / "store" / "selftest").is_dir() and "results under " + str(tmp_path / "store") in \
        capsys.readouterr().out
    assert main(["results", "export", "selftest", "--out", str(tmp_path / "x.csv")]) == 0
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    torch.save(net.state_dict(), tmp_path / "sd.pt")
    rc = main(["ticket", "--target", str(tmp_path / "sd.pt"), "--spec", '[["Linear", 3, 4, true], ["ReLU"], '
               '["Linear", 4, 1, true]]', "--density", "0.5", "--eps", "0.1", "--k", "8", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0 and out["target_params"] == 21 and out["lower"] <= out["upper"]


def test_cli_conventions(capsys):
    """--version; `bounds` with no name lists the calculators (exit 0); --json on the listings; every check script
    takes --out; --help imports neither torch nor the experiments (it stays well under a second)."""
    import json

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("lottery-theory ")
    assert main(["bounds"]) == 0 and "er-width" in capsys.readouterr().out
    assert main(["bounds", "list", "--json"]) == 0 and "er-width" in json.loads(capsys.readouterr().out)
    assert main(["sweep", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tickets-quick"]["experiment"] == "ticket"
    code = ("import sys\nfrom lottery_theory import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('torch' in sys.modules, 'lottery_theory.experiments' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False False"
