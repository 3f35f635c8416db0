"""Issue 16: a bound, a pruner, an experiment and a construction are each added in one place (a module that
registers them) and are then usable through the public entry points with no edit elsewhere. Each test adds
one from outside the package, uses it, and removes it again."""
import dataclasses
from typing import ClassVar

import pytest
import torch

from lottery_theory.bounds import BOUNDS, THEOREMS, Arg, bound, width_theorem
from lottery_theory.search.prune import _PRUNERS, PruneTask, prune, register_pruner


@pytest.fixture
def cleanup():
    added = []
    yield added
    for registry, name in added:
        registry.pop(name, None)


def test_a_new_bound_is_a_cli_subcommand(cleanup, capsys):
    from lottery_theory.cli import main

    @bound("test-double-n", citation="hand rule for this test (2024)", latex="n = 2m", assumptions="none",
           args=(Arg("m", "int", "items"),), report=lambda m: {"n": 2 * m})
    def double(m):
        return 2 * m
    cleanup.append((BOUNDS, "test-double-n"))
    assert main(["bounds", "test-double-n", "--m", "21"]) == 0
    assert "n: 42" in capsys.readouterr().out


def test_a_new_width_theorem_reaches_required_width_and_the_cli(cleanup, capsys):
    from lottery_theory.bounds import required_width
    from lottery_theory.cli import main

    @width_theorem("test-flat", C=2.0, citation="hand rule (2024)", latex="s = C n", assumptions="none")
    def flat(ws, eps, delta, density, C, bias):
        return [ws[0]] + [x for w in ws[1:] for x in (int(C * w), w)]
    cleanup += [(THEOREMS, "test-flat"), (BOUNDS, "test-flat-width")]
    assert required_width([3, 4, 1], 0.1, 0.1, theorem="test-flat") == [3, 8, 4, 2, 1]  # C = 2: 2*4, 2*1
    assert main(["bounds", "test-flat-width", "--widths", "3,4,1", "--eps", "0.1", "--C", "3"]) == 0
    assert "[3, 12, 4, 3, 1]" in capsys.readouterr().out


def test_a_new_iterative_pruner_runs_through_prune(cleanup):
    from lottery_theory.nets import er_source, masks

    @register_pruner("test-halving")
    def halving(task: PruneTask, steps: int = 2):
        """Magnitude pruning in ``steps`` geometric rounds (an iterative pruner in ten lines)."""
        current = task.support
        d0 = sum(int(v.sum()) for v in current.values()) / sum(v.numel() for v in current.values())
        for i in range(1, steps + 1):
            last = i == steps
            counts = task.counts() if last else task.counts(d0 * (task.density / d0) ** (i / steps), current, True)
            scores = {n: l.weight.detach().abs() for n, l in __import__("lottery_theory").nets.masked_layers(
                task.model).items()}
            current = task.keep(scores, current, counts)
        return current
    cleanup.append((_PRUNERS, "test-halving"))
    src = er_source([6, 8, 2], width_multiplier=1, density=0.5, exact=True, generator=torch.Generator().manual_seed(0))
    sup = masks(src)
    new = prune(src, method="test-halving", density=0.2, steps=3)
    assert sum(int(v.sum()) for v in new.values()) == round(0.2 * (6 * 8 + 8 * 2))  # exact count: 13
    assert all(bool((new[n] <= sup[n]).all()) for n in new)  # nested in the support
    with pytest.raises(TypeError, match="unknown option"):
        prune(src, method="test-halving", density=0.1, rounds=3)
    # IMP and SynFlow are registry entries of the same shape, not branches of prune()
    assert {"imp", "synflow"} <= set(_PRUNERS) and type(_PRUNERS["imp"]) is type(_PRUNERS["synflow"])
    assert _PRUNERS["imp"].masks_only and not _PRUNERS["synflow"].masks_only


def test_a_new_experiment_runs_in_a_sweep(cleanup, tmp_path):
    from lottery_theory.experiments import ExperimentConfig, ResultStore, register_experiment, run_sweep
    from lottery_theory.experiments.config import _EXPERIMENTS

    @dataclasses.dataclass(frozen=True)
    class SquareConfig(ExperimentConfig):
        experiment: ClassVar[str] = "test_square"
        x: float = 3.0

    @register_experiment(SquareConfig)
    def run_square(cfg):
        return [{"metric": "square", "value": cfg.x ** 2}]
    cleanup.append((_EXPERIMENTS, "test_square"))
    store = ResultStore(tmp_path)
    assert run_sweep([SquareConfig(x=3.0), SquareConfig(x=4.0)], store=store, executor="serial",
                     progress=False)["done"] == 2
    assert sorted(store.load("test_square")["value"]) == [9.0, 16.0]


def test_a_new_construction_is_used_by_construct(cleanup):
    from lottery_theory.experiments.builtin import spectral_target
    from lottery_theory.tickets import construct
    from lottery_theory.tickets.layouts import CONSTRUCTIONS, TwoL

    @CONSTRUCTIONS.register("test-2L-min-error")
    class TwoLMinError(TwoL):
        """The 2L layout, solving every subset sum for the smallest error instead of the fewest items."""
        name = "test-2L-min-error"
        default_objective = "min_error"
    cleanup.append((CONSTRUCTIONS, "test-2L-min-error"))
    target = spectral_target((2, 3, 1), 0)
    kw = dict(density=1.0, eps=0.1, width_multiplier=6, generator=torch.Generator().manual_seed(1))
    mine = construct(target, construction="test-2L-min-error", **kw)
    same = construct(target, construction="2L", objective="min_error", **{**kw, "generator": torch.Generator(
        ).manual_seed(1)})
    assert mine.construction == "test-2L-min-error"
    assert mine.certified_error == same.certified_error and mine.kept_params == same.kept_params


def test_a_layout_written_from_scratch_builds_certified_tickets(cleanup):
    """A new layout needs only the public interface: TargetChain -> Plan -> BuildResult, with the block helpers.
    This one is 2L with a dense source drawn at once and the fixed assignment. Its instance errors must equal a
    brute-force subset sum over the paths its own source holds, and the exact sup error of the ticket it builds
    must lie inside the bracket construct's certificates give."""
    import copy
    import itertools

    import numpy as np
    from torch import nn

    from lottery_theory.nets import MaskedLinear
    from lottery_theory.tickets import (CONSTRUCTIONS, BuildContext, BuildResult, Construction, Plan, TargetChain,
                                        construct)
    from lottery_theory.tickets.blocks import Block, block_masks, draw_layers, solve_block, source_densities, units_of
    from lottery_theory.tickets.bracket import realise_block

    @CONSTRUCTIONS.register("test-dense-2L")
    class DenseTwoL(Construction):
        name = "test-dense-2L"
        default_objective = "min_error"

        def plan(self, target: TargetChain, config) -> Plan:
            return Plan((config.width_multiplier,) * len(target.specs))

        def build(self, target: TargetChain, plan: Plan, ctx: BuildContext) -> BuildResult:
            mods, pairs, layers, li = [], [], [], 0
            for m in target.mods:
                if isinstance(m, nn.Linear):
                    W, b = target.specs[li]
                    units = (W.shape[1] + 1) * plan.blocks[li]
                    A, B = MaskedLinear(W.shape[1], units), MaskedLinear(units, W.shape[0])
                    pairs.append((len(mods), len(mods) + 2))
                    mods += [A, nn.ReLU(), B]
                    layers += [A, B]
                    li += 1
                else:
                    mods.append(copy.deepcopy(m))
            dens = source_densities(ctx.density, len(layers), [tuple(x.weight.shape) for x in layers], ctx.ratio)
            draw_layers(layers, dens, ctx.generator)
            source = nn.Sequential(*mods)
            network = copy.deepcopy(source)
            errors, signed = [], True
            for l, (a, b_) in enumerate(pairs):
                A, B = network[a], network[b_]
                W, b = target.specs[l]
                blk = Block(W, b, plan.blocks[l], units_of(A, W.shape[1], plan.blocks[l], None))
                sol = solve_block(blk, B.weight.detach().double().numpy(), B.mask.numpy(), signed,
                                  ctx.solver.at(l), ctx)
                mA, mB, bA = block_masks(sol, blk, A.weight.shape[0])
                A.set_mask(torch.as_tensor(mA), torch.as_tensor(bA))
                B.set_mask(torch.as_tensor(mB), torch.zeros(W.shape[0], dtype=torch.bool))
                errors.append(sol.errors)
                signed = False  # the target has a ReLU after every hidden layer
            return BuildResult(source, network, errors, dens, {"pairs": pairs})

        def realise(self, network, layout):
            return [realise_block(network[a], network[b]) for a, b in layout["pairs"]]
    cleanup.append((CONSTRUCTIONS, "test-dense-2L"))

    torch.manual_seed(0)
    target = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    k = 4
    from lottery_theory.tickets.construct import BudgetMissed
    with pytest.warns(BudgetMissed):  # k = 4 is far below the bound's width: the budgets are missed, and said so
        tk = construct(target, construction="test-dense-2L", density=0.7, eps=0.05, width_multiplier=k,
                       generator=torch.Generator().manual_seed(3))
    assert tk.construction == "test-dense-2L" and tk.block_sizes == [k, k]
    # brute force, from the source's own weights: best subset of the present path products per weight and sign
    src = [m for m in tk.source if isinstance(m, MaskedLinear)]
    for l, (tl, signed) in enumerate(zip([target[0], target[2]], (True, False))):
        A, B = src[2 * l], src[2 * l + 1]
        W, b = tl.weight.detach().double().numpy(), tl.bias.detach().double().numpy()
        a, ma = A.weight.detach().double().numpy(), A.mask.numpy()
        c = A.bias.detach().double().numpy()
        wb, mb = B.weight.detach().double().numpy(), B.mask.numpy()
        n, n_in = W.shape

        def best(values, goal):
            return min(abs(sum(s) - goal) for r in range(len(values) + 1) for s in itertools.combinations(values, r))
        want = []
        for sign in ((1, -1) if signed else (1,)):
            for i in range(n):
                for j in range(n_in):
                    us = [u for u in range(j * k, (j + 1) * k) if ma[u, j] and mb[i, u] and sign * a[u, j] > 0]
                    want.append(best([a[u, j] * wb[i, u] for u in us], W[i, j]))
        for i in range(n):
            us = [u for u in range(n_in * k, (n_in + 1) * k) if mb[i, u] and c[u] > 0]
            want.append(best([c[u] * wb[i, u] for u in us], b[i]))
        got = tk.instance_errors[: len(want)] if l == 0 else tk.instance_errors[-len(want):]
        np.testing.assert_allclose(np.sort(got), np.sort(want), rtol=0, atol=1e-12)
    # the ticket lives inside its source, and the exact sup error lies inside the certified bracket
    for s, t in zip(src, [m for m in tk.network if isinstance(m, MaskedLinear)]):
        assert bool((t.mask <= s.mask).all())
    br = tk.sup_error(generator=torch.Generator().manual_seed(0), restarts=4, steps=30, samples=200)
    ex = tk.sup_error(method="exact")
    assert br.lower <= ex.upper * (1 + 1e-6) and ex.lower <= br.upper * (1 + 1e-9)
    assert br.upper <= tk.certified_error * (1 + 1e-9)


CHECK = '''"""Triangular numbers: 1 + ... + n = n (n + 1) / 2 (a check written outside the package)."""
from pathlib import Path

import numpy as np
import pandas as pd

from lottery_theory.plotting import register_figure, render
from lottery_theory.verdicts import Row, judge_rows, read_csv

STATEMENT = __doc__


def decide(t):
    bad = int((t["sum"] != t["n"] * (t["n"] + 1) // 2).sum())
    return ("holds" if bad == 0 else "violated"), f"{len(t) - bad}/{len(t)} sums equal n(n+1)/2", {}


ROWS = [Row("closed-form", "1 + ... + n = n(n+1)/2 for n = 1..N", "every case equal (integers)", decide,
            lambda rng: pd.DataFrame({"n": np.arange(1, 20), "sum": np.cumsum(np.arange(1, 20))}),
            lambda rng: pd.DataFrame({"n": np.arange(1, 20), "sum": np.arange(1, 20) ** 2}),
            "sum = n^2", source="test_triangle.csv (columns n, sum)")]


@register_figure("test_triangle")
def _figure(df, fig):
    ax = fig.add_subplot(111)
    ax.plot(df["n"], df["sum"], "o", color="0.0", label="sum")
    ax.plot(df["n"], df["n"] * (df["n"] + 1) / 2, "--", color="0.5", label="n(n+1)/2")
    ax.set_xlabel("n")
    ax.set_ylabel("1 + ... + n")
    ax.legend()


def check(quick=True, out_dir=Path("figures")):
    n = np.arange(1, 30 if quick else 300)
    pd.DataFrame({"n": n, "sum": np.cumsum(n)}).to_csv(Path(out_dir) / "test_triangle.csv", index=False)
    render("test_triangle", Path(out_dir) / "test_triangle.csv")
    return judge(out_dir)


def judge(out_dir):
    return judge_rows(ROWS, {"closed-form": read_csv(Path(out_dir) / "test_triangle.csv", ["n", "sum"])})
'''


def test_a_new_check_with_its_figure_runs_in_verify(cleanup, tmp_path, monkeypatch, capsys):
    """A check is one script (rows, check, judge, and the figure it registers) in a folder named by
    $LOTTERY_THEORY_CHECKS: verify runs it, --from re-judges it, --self-test feeds its row both tables."""
    import json

    from lottery_theory.cli import main
    from lottery_theory.plotting.core import _FIGURES
    from lottery_theory.verdicts import CHECKS_ENV, discover_checks

    mine = tmp_path / "my_checks"
    mine.mkdir()
    (mine / "test_triangle.py").write_text(CHECK)
    monkeypatch.setenv(CHECKS_ENV, str(mine))
    cleanup.append((_FIGURES, "test_triangle"))
    assert discover_checks()["test_triangle"] == mine / "test_triangle.py"
    out = tmp_path / "out"
    assert main(["verify", "--only", "test_triangle", "--out", str(out)]) == 0
    rows = json.loads((out / "verdicts.json").read_text())["rows"]
    assert [(r["check"], r["row"], r["verdict"]) for r in rows] == [("test_triangle", "closed-form", "holds")]
    assert (out / "test_triangle.png").exists()
    assert main(["verify", "--from", str(out), "--only", "test_triangle"]) == 0
    assert "**holds**" in capsys.readouterr().out
    assert main(["verify", "--self-test", "--only", "test_triangle"]) == 0
    assert "ok   test_triangle / closed-form: holds under claim, violated under sum = n^2" in capsys.readouterr().out
    (mine / "layer_ratios.py").write_text(CHECK)  # a clash with a built-in check is refused by name
    with pytest.raises(ValueError, match="defined twice"):
        discover_checks()
