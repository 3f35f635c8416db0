"""The ticket command's default width: the narrowest certifying width on a sqrt(2) grid (search_width.py)."""
import json

import pytest
import torch

from lottery_theory.bounds import interval_certificate
from lottery_theory.cli import main
from lottery_theory.tickets.search_width import _grid_index, _k, dry_run, find_width, source_params_2l


def _target(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    with torch.no_grad():
        for m in net:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(0.5)
    return net


def test_search_returns_the_narrowest_certified_probe_and_its_neighbour_failed():
    t = _target()
    r = find_width(t, density=0.5, eps=0.02, generator=torch.Generator().manual_seed(0), time_budget=120)
    assert r.certified and r.upper <= 0.02
    ok = [p for p in r.trace if p["upper"] <= 0.02]
    assert r.k == min(p["k"] for p in ok)
    below = _k(_grid_index(r.k) - 1)  # the grid step below was probed and failed (the search closed the gap)
    assert any(p["k"] == below and p["upper"] > 0.02 for p in r.trace), r.trace
    # the reported upper bound is the certificate of the returned ticket, recomputed independently
    assert interval_certificate(r.ticket.target, r.ticket.realise(), -1.0, 1.0, r.ticket.input_shape).upper == \
        pytest.approx(r.upper)
    again = find_width(t, density=0.5, eps=0.02, generator=torch.Generator().manual_seed(0), time_budget=120)
    assert [p["upper"] for p in again.trace] == [p["upper"] for p in r.trace]  # same generator, same probes


def test_search_reports_the_best_it_found_when_time_runs_out():
    r = find_width(_target(), density=0.5, eps=1e-9, generator=torch.Generator().manual_seed(0), time_budget=1e-3)
    assert not r.certified and len(r.trace) == 1 and r.upper == r.trace[0]["upper"]
    with pytest.raises(TypeError, match="width_multiplier"):
        find_width(_target(), density=0.5, eps=0.1, width_multiplier=3)


def test_source_size_by_hand():
    # 3-4-1 at k = 5: block 1: (3+1)*5 = 20 units, 20*3 weights + 20 biases; B: 4*20 + 4. Block 2: (4+1)*5 = 25
    # units: 25*4 + 25; B: 1*25 + 1.
    assert source_params_2l(_target(), 5) == (60 + 20 + 80 + 4) + (100 + 25 + 25 + 1)
    plan = dry_run(_target(), 5)
    assert plan["source_params"] == 315 and plan["est_peak_gib"] == pytest.approx(24 * 315 / 2 ** 30)
    # time: 1.1e-7 s per source parameter + 3.3e-8 s x 2^(items/2) per subset sum: one per target weight and bias
    # (3*4 + 4 + 4*1 + 1 = 21 of them), plus one per first-layer weight (12) when the inputs can be negative
    assert plan["est_seconds"] == pytest.approx(1.1e-7 * 315 + 3.3e-8 * (21 + 12) * 2 ** 12)
    assert dry_run(_target(), 5, max_items=20, signed_input=False)["est_seconds"] == pytest.approx(
        1.1e-7 * 315 + 3.3e-8 * 21 * 2 ** 10)


def test_ticket_command_defaults_to_the_search(tmp_path, capsys):
    torch.save(_target().state_dict(), tmp_path / "sd.pt")
    spec = '[["Linear", 3, 4, true], ["ReLU"], ["Linear", 4, 1, true]]'
    base = ["ticket", "--target", str(tmp_path / "sd.pt"), "--spec", spec, "--density", "0.5", "--eps", "0.05"]
    assert main(base + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["upper"] <= 0.05 and out["lower"] <= out["upper"] and out["width_search"]
    assert out["k_per_block"][0] == min(p["k"] for p in out["width_search"] if p["upper"] <= 0.05)
    # the subset-sum settings are reported, same as construct()'s defaults, and each probe says how many of its
    # sums missed their per-weight budget (a share)
    assert (out["max_items"], out["objective"]) == (24, "fewest")
    assert all(p["max_items"] == 24 and 0.0 <= p["missed"] <= 1.0 for p in out["width_search"])
    # the JSON says which certificate certified, and upper is the smaller of the two
    assert out["certified_by"] in ("interval", "differential")
    assert out["upper"] == min(v for v in (out["interval_upper"], out["differential_upper"]) if v is not None)
    assert main(base + ["--dry-run", "--k", "5"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["source_params"] == 315
    assert main(base + ["--retries", "2"]) != 0
    assert "--retries" in capsys.readouterr().err


def test_search_certifies_on_the_configs_box():
    """The input box is a ConstructConfig field like every other option: a non-negative box builds s+ only and
    every probe is certified on [0, 1]."""
    from lottery_theory.tickets import ConstructConfig

    cfg = ConstructConfig(density=0.5, eps=0.02, box=(0.0, 1.0))
    r = find_width(_target(), cfg, generator=torch.Generator().manual_seed(0), time_budget=120)
    assert r.certified and r.ticket.box_symmetric(0.0, 1.0) and not r.ticket.box_symmetric(-1.0, 1.0)
    x = torch.rand(2000, 3, generator=torch.Generator().manual_seed(1))
    assert r.ticket.measure_error(x)["max"] <= r.upper
