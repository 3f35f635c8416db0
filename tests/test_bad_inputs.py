"""Bad input across the public API (issue 15): every case must raise ValueError or TypeError with a message that
names the argument, within seconds: no silent acceptance, no raw numpy/torch error, no hang. The cases are the
product of bad-value families (below) with the arguments that take them; `python tests/test_bad_inputs.py`
prints the counts reported in the closing note."""
from __future__ import annotations

import math
import signal

import numpy as np
import pytest
import torch

import lottery_theory
from lottery_theory import bounds
from lottery_theory.data import load
from lottery_theory.experiments import run_sweep
from lottery_theory.experiments.sweep import sweep_from_spec
from lottery_theory.nets import conv_net, er_source, mlp
from lottery_theory.plotting import render
from lottery_theory.search.edge_popup import edge_popup
from lottery_theory.search.prune import imp_schedule, prune
from lottery_theory.search.train import train
from lottery_theory.sparsity import er_mask, layer_densities
from lottery_theory.subset_sum import solve
from lottery_theory.tickets import construct

NAN, INF = math.nan, math.inf
DENSITY = [0, 0.0, -0.1, 1.5, NAN, INF, "0.5", None, True, [0.5], np.float64(NAN)]
DENSITY_VEC = [d for d in DENSITY if not isinstance(d, list)] + [[0.5, 1.2], ["0.5"]]  # bounds take arrays
UNIT_OPEN = [0, 1, 1.0, -0.5, NAN, INF, "0.1", None, True]
POS_INT = [0, -1, 2.5, NAN, "3", None, True, np.float32(2.0)]
POS_REAL = [0, -1.0, NAN, INF, "1", None, True]
WIDTHS = [[], [5], [0, 3], [3, -1], [2.5, 3], "abc", None, [3, True]]
SHAPE = [(2.5,), (0, 3), (-1,), "ab", None, (), (3, 2.0), 7]
BOOL = ["no", None, 2]
DATA = ((torch.rand(40, 4), torch.randint(0, 2, (40,))))


def _model():
    return mlp([4, 6, 2], generator=torch.Generator().manual_seed(0))


def _target():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


# (case family, argument name as it must appear in the message, bad values, call taking one bad value)
CASES = [
    ("ER_FACTOR", "p", DENSITY_VEC, lambda v: bounds.ER_FACTOR(v)),
    ("er_subset_sum_n", "eps", UNIT_OPEN, lambda v: bounds.er_subset_sum_n(v, 0.01, 0.5)),
    ("er_subset_sum_n", "delta", UNIT_OPEN, lambda v: bounds.er_subset_sum_n(0.01, v, 0.5)),
    ("er_subset_sum_n", "density", DENSITY_VEC, lambda v: bounds.er_subset_sum_n(0.01, 0.01, v)),
    ("er_subset_sum_n", "C", POS_REAL, lambda v: bounds.er_subset_sum_n(0.01, 0.01, 0.5, C=v)),
    ("required_width", "widths", WIDTHS, lambda v: bounds.required_width(v, 0.01, 0.01, 0.5)),
    ("required_width", "eps", UNIT_OPEN, lambda v: bounds.required_width([4, 8, 1], v, 0.01, 0.5)),
    ("required_width", "density", DENSITY_VEC, lambda v: bounds.required_width([4, 8, 1], 0.01, 0.01, v)),
    ("required_width", "C", [v for v in POS_REAL if v is not None], lambda v: bounds.required_width([4, 8, 1], 0.01, 0.01, 0.5, C=v)),
    ("required_width", "kernal_size", [3], lambda v: bounds.required_width([4, 8, 1], 0.01, 0.01, 0.5,
                                                                           kernal_size=v)),
    ("lower_bound_width", "delta", UNIT_OPEN, lambda v: bounds.lower_bound_width(10, v, 0.5)),
    ("lower_bound_width", "density", DENSITY_VEC, lambda v: bounds.lower_bound_width(10, 0.01, v)),
    ("lower_bound_width", "output_density", DENSITY_VEC, lambda v: bounds.lower_bound_width(10, 0.01, 0.5, v)),
    ("min_density", "tol", [0, -1e-3, NAN, "x", 2.0], lambda v: bounds.min_density([4, 8, 1], 10**6, 0.01, 0.01,
                                                                                 tol=v)),
    ("er_mask", "shape", SHAPE, lambda v: er_mask(v, 0.5)),
    ("er_mask", "density", DENSITY, lambda v: er_mask((3, 4), v)),
    ("er_mask", "exact", BOOL, lambda v: er_mask((3, 4), 0.5, exact=v)),
    ("er_mask", "er_mask of shape", [(100_000, 10_000_000)], lambda v: er_mask(v, 0.5)),
    ("layer_densities", "density", DENSITY, lambda v: layer_densities([(4, 3), (3, 2)], v, "erk")),
    ("layer_densities", "method", ["erk2", None, 3], lambda v: layer_densities([(4, 3), (3, 2)], 0.5, v)),
    ("layer_densities", "erk_pwr", [2], lambda v: layer_densities([(4, 3), (3, 2)], 0.5, "erk", erk_pwr=v)),
    ("mlp", "widths", WIDTHS, lambda v: mlp(v)),
    ("mlp", "bias", BOOL, lambda v: mlp([3, 2], bias=v)),
    ("mlp", "mlp(", [[10**6, 10**6, 10]], lambda v: mlp(v)),
    ("er_source", "width_multiplier", POS_INT, lambda v: er_source([4, 6, 2], width_multiplier=v, density=0.5)),
    ("er_source", "density", DENSITY, lambda v: er_source([4, 6, 2], width_multiplier=2, density=v)),
    ("er_source", "erk_pwr", [3], lambda v: er_source([4, 6, 2], width_multiplier=2, density=0.5, ratio="erk",
                                                      erk_pwr=v)),
    ("sparsify", "density", DENSITY, lambda v: lottery_theory.sparsify(_target(), density=v)),
    ("sparsify", "model", [None, "net", [1, 2]], lambda v: lottery_theory.sparsify(v, density=0.5)),
    ("solve", "values", [[NAN, 0.1], [[1.0], [2.0]], "ab", [1e301, 0.2]], lambda v: solve(v, [0.1])),
    ("solve", "targets", [[NAN], [INF], [[0.1, 0.2]], [1e301]], lambda v: solve([0.5, 0.2], v)),
    ("solve", "method", ["gurobi", None, 3], lambda v: solve([0.5, 0.2], [0.1], method=v)),
    ("solve", "max_size", [-1, 2.5, "3", True], lambda v: solve([0.5, 0.2], [0.1], max_size=v)),
    ("solve", "objective", ["fastest", None], lambda v: solve([0.5, 0.2], [0.1], objective=v)),
    ("solve", "tol", [0, -1.0, NAN, INF, "x", None], lambda v: solve([0.5, 0.2], [0.1], objective="fewest", tol=v)),
    ("solve", "solve on a batch", [10**9], lambda v: solve(np.ones(20), np.zeros(v) if v < 10**7 else
                                                           np.broadcast_to(np.zeros(1), (v,)))),
    ("construct", "eps", UNIT_OPEN, lambda v: construct(_target(), density=0.5, eps=v, width_multiplier=4)),
    ("construct", "density", DENSITY, lambda v: construct(_target(), density=v, eps=0.1, width_multiplier=4)),
    ("construct", "max_items", POS_INT + [45], lambda v: construct(_target(), density=0.5, eps=0.1, max_items=v,
                                                                   width_multiplier=4)),
    ("construct", "box", [0, -1.0, NAN, INF, "1", None, True], lambda v: construct(_target(), density=0.5, eps=0.1,
                                                                                   box=v, width_multiplier=4)),
    ("construct", "width_multiplier", [v for v in POS_INT if v is not None], lambda v: construct(_target(), density=0.5, eps=0.1,
                                                                   width_multiplier=v)),
    ("construct", "executor", ["slurm", 3], lambda v: construct(_target(), density=0.5, eps=0.1, executor=v)),
    ("construct", "workers", [0, -2, 1.5, True], lambda v: construct(_target(), density=0.5, eps=0.1,
                                                                     executor="local", workers=v)),
    ("train", "epochs", POS_INT, lambda v: train(_model(), DATA, epochs=v, progress=False)),
    ("train", "lr", POS_REAL, lambda v: train(_model(), DATA, epochs=1, lr=v, progress=False)),
    ("train", "batch_size", POS_INT, lambda v: train(_model(), DATA, epochs=1, batch_size=v, progress=False)),
    ("train", "device", ["cuda:7", "gpu", 3.5], lambda v: train(_model(), DATA, epochs=1, device=v, progress=False)),
    ("edge_popup", "density", DENSITY, lambda v: edge_popup(_model(), DATA, density=v, epochs=1, progress=False)),
    ("edge_popup", "lr", POS_REAL, lambda v: edge_popup(_model(), DATA, density=0.5, epochs=1, lr=v, progress=False)),
    ("edge_popup", "momentum", [-0.1, 1.0, NAN, "x"], lambda v: edge_popup(_model(), DATA, density=0.5, epochs=1,
                                                                          momentum=v, progress=False)),
    ("prune", "density", DENSITY, lambda v: prune(_model(), method="magnitude", density=v)),
    ("prune", "method", ["magnitud", None], lambda v: prune(_model(), method=v, density=0.5)),
    ("prune", "batchsize", [7], lambda v: prune(_model(), method="snip", density=0.5, data=DATA, batchsize=v)),
    ("imp_schedule", "density", DENSITY, lambda v: imp_schedule(0.5, v)),
    ("imp_schedule", "start", DENSITY, lambda v: imp_schedule(v, 0.1)),
    ("load", "val_fraction", UNIT_OPEN, lambda v: load("digits", val_fraction=v)),
    ("load", "dataset", ["mnist7", None], lambda v: load(v)),
    ("run_sweep", "workers", [0, -1, 2.5, True, "2"], lambda v: run_sweep(
        sweep_from_spec({"experiment": "selftest"}), executor="dask", workers=v, progress=False)),
    ("run_sweep", "executor", ["slurm", None], lambda v: run_sweep(sweep_from_spec({"experiment": "selftest"}),
                                                                    executor=v, progress=False)),
    ("sweep_from_spec", "density", DENSITY, lambda v: sweep_from_spec({"experiment": "ticket",
                                                                        "fixed": {"density": v}})),
    ("representation_plan", "delta", UNIT_OPEN, lambda v: bounds.representation_plan([4, 8, 1], v, 0.5)),
    ("representation_plan", "density", DENSITY_VEC, lambda v: bounds.representation_plan([4, 8, 1], 0.01, v)),
    ("achievable_eps", "width", POS_INT, lambda v: bounds.achievable_eps([4, 8, 1], v, 0.01, 0.5)),
    ("per_weight_eps", "eps", UNIT_OPEN, lambda v: bounds.per_weight_eps([4, 8, 1], v)),
    ("conv_net", "in_channels", POS_INT, lambda v: conv_net(v)),
    ("conv_net", "channels", [[], [0], [2.5], "ab", None], lambda v: conv_net(1, channels=v)),
    ("conv_net", "image_size", POS_INT, lambda v: conv_net(1, image_size=v)),
    ("conv_net", "bias", BOOL, lambda v: conv_net(1, bias=v)),
    ("layer_densities", "shapes", [[], [(0, 3)], [(2.5, 3)], "ab", None, [(3,)]],
     lambda v: layer_densities(v, 0.5, "erk")),
    ("sup_error", "box", [(1.0,), "ab", None, (1.0, -1.0), (math.nan, 1.0)], lambda v: _ticket().sup_error(v)),
    ("sup_error", "restarts", POS_INT, lambda v: _ticket().sup_error((-1.0, 1.0), restarts=v)),
    ("solve", "present", [[[True]], np.ones((1, 3), bool), "ab"], lambda v: solve([[0.5, 0.2]], [0.1], present=v)),
    ("construct", "target", [None, "net", torch.nn.Tanh(), torch.nn.Sequential(torch.nn.Tanh())],
     lambda v: construct(v, density=0.5, eps=0.1)),
    ("load", "root", ["/no/such/folder"], lambda v: load("mnist", root=v)),
    ("render", "name", ["no-such-figure"], lambda v: render(v, "x.csv")),
    # this round (issue 26's list, and the new surfaces: dst, prune's shared options)
    ("load_target", "trust", ["no", 1, "False", None], lambda v: _load_target_trust(v)),
    ("target_from_state_dict", "spec", [[["Linear", 4]], [["Linear", 4, -3, True]], [["Linear", 3.7, 3, True]],
                                        [["Linear", 4, 3, "no"]], [["Linear", 4, 3, True, 1]], [["Tanh"]], [], "x"],
     lambda v: _tsd(spec=v)),
    ("target_from_state_dict", "state_dict", [{"0.weight": torch.zeros(3, 3), "0.bias": torch.zeros(3)},
                                              {"0.weight": torch.full((3, 4), NAN), "0.bias": torch.zeros(3)},
                                              {"0.weight": torch.zeros(3, 4)}, [1, 2]], lambda v: _tsd(sd=v)),
    ("er_subset_sum_eps", "n", [-5, 0, NAN, "3"], lambda v: bounds.er_subset_sum_eps(v, 0.01, 0.5)),
    ("lower_bound_success_prob", "n", [2.5, -1, NAN], lambda v: bounds.lower_bound_success_prob(v, 10, 0.5)),
    ("lower_bound_success_prob", "d", [2.5, 0, NAN], lambda v: bounds.lower_bound_success_prob(10, v, 0.5)),
    ("min_density", "width", [NAN, 2.5, 0, "9"], lambda v: bounds.min_density([784, 300, 100, 10], v, 0.01, 0.01)),
    ("achievable_eps", "width", [10**30], lambda v: bounds.achievable_eps([4, 8, 1], v, 0.01, 0.5)),
    ("ER_FACTOR", "density", [1e-320], lambda v: bounds.ER_FACTOR(v)),
    ("solve", "present", [[True], [True, False, True]], lambda v: solve([0.5, 0.2], [0.3], present=v)),
    ("train", "label", [torch.tensor([0, 1, 5, 1]), torch.tensor([0, -1, 1, 1])],
     lambda v: train(_model(), (torch.rand(4, 4), v), epochs=1, progress=False)),
    ("evaluate", "data", [(torch.zeros(0, 4), torch.zeros(0, dtype=torch.long))],
     lambda v: __import__("lottery_theory.search", fromlist=["evaluate"]).evaluate(_model(), v)),
    ("er_source", "er_source", [10**9], lambda v: er_source([4, 3, 2], width_multiplier=v, density=0.5)),
    ("construct", "retries", POS_INT, lambda v: construct(_target(), density=0.5, eps=0.1, retries=v)),
    ("construct", "C", [0, -1.0, NAN, "8"], lambda v: construct(_target(), density=0.5, eps=0.1, C=v)),
    ("construct", "executor", [5, "slurm"], lambda v: construct(_target(), density=0.5, eps=0.1, executor=v)),
    ("sup_error", "box", [([0, 0], [1, 1]), ("a", "b"), ({"a": 1}, 1.0)], lambda v: _ticket().sup_error(v)),
    ("sup_error", "samples", [10**12], lambda v: _ticket().sup_error((-1.0, 1.0), samples=v)),
    ("sweep_from_spec", "construction", ["3L"], lambda v: sweep_from_spec({"experiment": "ticket",
                                                                             "fixed": {"construction": v}})),
    ("sweep_from_spec", "assignment", ["nope"], lambda v: sweep_from_spec({"experiment": "ticket",
                                                                            "fixed": {"assignment": v}})),
    ("sweep_from_spec", "objective", ["nope"], lambda v: sweep_from_spec({"experiment": "ticket",
                                                                           "fixed": {"objective": v}})),
    ("sweep_from_spec", "max_items", [100, 45], lambda v: sweep_from_spec({"experiment": "ticket",
                                                                            "fixed": {"max_items": v}})),
    ("sweep_from_spec", "ratio", ["foo", "ERK"], lambda v: sweep_from_spec({"experiment": "ratio_train",
                                                                              "fixed": {"ratio": v}})),
    ("sweep_from_spec", "dataset", ["cifar7"], lambda v: sweep_from_spec({"experiment": "sparse_to_sparse",
                                                                          "fixed": {"dataset": v}})),
    ("sweep_from_spec", "arch", ["resnet"], lambda v: sweep_from_spec({"experiment": "dst_train",
                                                                       "fixed": {"arch": v}})),
    ("sweep_from_spec", "seed", [2**70], lambda v: sweep_from_spec({"experiment": "ticket", "fixed": {"seed": v}})),
    ("sweep_from_spec", "configs", [50_000], lambda v: sweep_from_spec({"experiment": "selftest", "grid": {
        "seed": list(range(v)), "x": [1.0, 2.0, 3.0]}})),
    ("mask_update", "n_drop", [20, -1, 2.5, True], lambda v: __import__("lottery_theory.search", fromlist=["x"])
     .mask_update(torch.randn(3, 3), torch.ones(3, 3, dtype=torch.bool), torch.randn(3, 3), v)),
    ("mask_update", "mask", [torch.ones(2, 3, dtype=torch.bool)], lambda v: __import__(
        "lottery_theory.search", fromlist=["x"]).mask_update(torch.randn(3, 3), v, torch.randn(3, 3), 1)),
    ("dst", "density", DENSITY, lambda v: _dst(density=v)),
    ("dst", "epochs", POS_INT, lambda v: _dst(epochs=v)),
    ("dst", "drop_fraction", [0, 1, -0.1, NAN, "0.3", None], lambda v: _dst(drop_fraction=v)),
    ("dst", "update_interval", POS_INT, lambda v: _dst(update_interval=v)),
    ("dst", "method", ["rigL", None], lambda v: _dst(method=v)),
    ("dst", "support", ["mask", 3], lambda v: _dst(support=v)),
    ("dst", "drop_rate", [0.3], lambda v: _dst(drop_rate=v)),
    ("prune", "rounding", ["up", None], lambda v: prune(_model(), method="magnitude", density=0.5, rounding=v)),
    ("prune", "invert", BOOL, lambda v: prune(_model(), method="magnitude", density=0.5, invert=v)),
    ("prune", "scope", ["per-layer", None], lambda v: prune(_model(), method="magnitude", density=0.5, scope=v)),
    ("MaskedLinear", "in_features", [-1, 0, 2.5, True], lambda v: lottery_theory.nets.MaskedLinear(v, 3)),
    ("MaskedConv2d", "in_channels", [-1, 0, 2.5], lambda v: lottery_theory.nets.MaskedConv2d(v, 3, 3)),
    ("conv_net", "hidden", POS_INT, lambda v: conv_net(1, hidden=v)),
    ("load", "flatten", BOOL, lambda v: load("digits", flatten=v)),
    ("load", "generator", [5, "g"], lambda v: load("digits", generator=v)),
    ("edge_popup", "anneal", [(0.2, 3)], lambda v: edge_popup(_model(), DATA, density=0.5, epochs=1, anneal=v,
                                                              progress=False)),
    ("sparsify", "density", [1e-9], lambda v: lottery_theory.sparsify(_target(), density=v)),
    ("render", "column", ["dst", "ratio_comparison"], lambda v: _render_bad_csv(v)),
    ("prune", "schedule", ["cubic"], lambda v: prune(_model(), method="synflow", density=0.5, input_shape=(4,),
                                                     schedule=v)),
]


def _load_target_trust(trust):
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "t.pt"
    lottery_theory.nets.save_target(_target(), path)
    return lottery_theory.nets.load_target(path, trust=trust)


def _tsd(spec=None, sd=None):
    spec = [["Linear", 4, 3, True]] if spec is None else spec
    sd = {"0.weight": torch.zeros(3, 4), "0.bias": torch.zeros(3)} if sd is None else sd
    return lottery_theory.nets.target_from_state_dict(sd, spec)


def _render_bad_csv(name):
    import pathlib
    import tempfile

    path = pathlib.Path(tempfile.mkdtemp()) / "bad.csv"
    path.write_text("a,b\n1,2\n")
    return render(name, path)


def _dst(**kw):
    from lottery_theory.search import dst

    return dst(_model(), DATA, **{"density": 0.5, "epochs": 1, **kw})


_TK = {}


def _ticket():
    if "t" not in _TK:
        _TK["t"] = construct(_target(), density=0.5, eps=0.1, width_multiplier=4,
                             generator=torch.Generator().manual_seed(0))
    return _TK["t"]

ALIASES = {"p": ("p ", "p=", "density", "p must"), "widths": ("widths", "target_widths"),
           "dataset": ("dataset", "name"), "model": ("model",), "mlp(": ("mlp(",),
           "name": ("name", "figure"), "root": ("root", "missing"),
           "spec": ("spec",), "state_dict": ("state_dict", "spec", "list"), "label": ("label",),
           "data": ("data", "examples"), "er_source": ("ER source",), "configs": ("configs",),
           "n": ("n must", "n="), "d": ("d must",), "anneal": ("anneal",), "column": ("column",)}


def classify(arg: str, call, value, seconds: int = 30) -> str:
    """'clear' (ValueError/TypeError naming the argument), 'unnamed' (right type, no name), 'other'
    (another exception), 'accepted' (no error) or 'hang' (still running after ``seconds``)."""
    def alarm(*_):
        raise TimeoutError

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        call(value)
        return "accepted"
    except TimeoutError:
        return "hang"
    except (ValueError, TypeError, FileNotFoundError) as e:  # a missing file is its own clear error
        names = ALIASES.get(arg, (arg,))
        return "clear" if any(n in str(e) for n in names) else f"unnamed: {type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001
        return f"other: {type(e).__name__}: {e}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


ALL = [(fam, arg, v, call) for fam, arg, vals, call in CASES for v in vals]


@pytest.mark.parametrize("fam, arg, value, call", ALL, ids=[f"{f}-{a}-{v!r}"[:60] for f, a, v, _ in ALL])
def test_bad_input_gives_a_clear_error(fam, arg, value, call):
    assert classify(arg, call, value) == "clear"


if __name__ == "__main__":  # counts for the closing note
    from collections import Counter

    res = [(f, a, v, classify(a, c, v)) for f, a, v, c in ALL]
    print(Counter(r[3].split(":")[0] for r in res), f"{len(res)} cases over {len({r[0] for r in res})} functions")
    for f, a, v, r in res:
        if r != "clear":
            print(f"{f}({a}={v!r}): {r}")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# density-type arguments of functions that take one density (not arrays): anything outside (0, 1] must be refused
SCALAR_DENSITY = [c for c in CASES if c[1] in ("density", "start") and c[2] is DENSITY]
NOT_A_DENSITY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not 0 < v <= 1),
    st.integers().filter(lambda v: v not in (1,)), st.text(max_size=5), st.none(), st.booleans(),
    st.binary(max_size=3))  # (lists are per-layer densities for some of these functions, so not drawn here)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(SCALAR_DENSITY), NOT_A_DENSITY)
def test_property_no_bad_density_is_accepted(case, value):
    fam, arg, _, call = case
    assert classify(arg, call, value) == "clear", (fam, value)


def test_strict_json_and_float64_targets():
    import json

    from lottery_theory.cli import _json_safe

    out = json.dumps(_json_safe({"a": math.inf, "b": [np.float64(-math.inf), np.int64(3)], "c": math.nan}),
                     allow_nan=False)
    assert json.loads(out) == {"a": "inf", "b": ["-inf", 3], "c": "nan"}
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    tk = construct(t, density=0.5, eps=0.1, width_multiplier=8, generator=torch.Generator().manual_seed(0))
    err = tk.measure_error(torch.rand(20, 3) * 2 - 1)  # a float64 target no longer raises a dtype error
    assert err["max"] <= tk.certified_error + 1e-5


def test_inf_pruned_weight_gives_zero_not_nan():
    m = mlp([3, 2], generator=torch.Generator().manual_seed(0))
    lay = m[0]
    with torch.no_grad():
        lay.weight[0, 0] = math.inf
    lay.set_mask(torch.tensor([[False, True, True], [True, True, True]]))
    assert torch.isfinite(m(torch.ones(4, 3))).all()
    with pytest.raises(ValueError, match="0/1"):
        lay.set_mask(torch.full((2, 3), 0.5))


def test_numpy_scalars_are_numbers():
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    tk = construct(t, density=np.float32(0.5), eps=np.float32(0.1), delta=np.float32(0.01),
                   width_multiplier=np.int64(4), max_items=np.int64(20), generator=torch.Generator().manual_seed(0))
    assert tk.n_instances == 38  # 2x(4x3 signed first layer) + 4 biases + 2x4 + 2 biases: 24 + 4 + 8 + 2
    assert er_mask((np.int64(3), 4), np.float32(0.5)).sum() == 6
    assert bounds.required_width([np.int64(4), 8, 1], np.float32(0.01), 0.01, np.float64(0.5))[0] == 4
