"""Built-in experiments (registered configs + run functions) and named sweeps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from .config import ExperimentConfig, register_experiment
from .sweep import BUILTIN_SWEEPS


# ----------------------------------------------------------------------------- selftest (for the store's tests)
@dataclass(frozen=True)
class SelftestConfig(ExperimentConfig):
    """A cheap deterministic experiment: rows derived from the seed, after an optional sleep."""
    experiment: ClassVar[str] = "selftest"
    x: float = 1.0
    sleep_s: float = 0.0


@register_experiment(SelftestConfig)
def run_selftest(cfg: SelftestConfig) -> list[dict]:
    import time

    time.sleep(cfg.sleep_s)
    rng = np.random.default_rng(cfg.seed)
    return [{"metric": "value", "value": float(cfg.x * rng.uniform())}, {"metric": "x2", "value": cfg.x * 2}]


# ----------------------------------------------------------------------------- constructive tickets
def spectral_target(widths, seed: int, bias: bool = True) -> torch.nn.Sequential:
    """Random MLP with U[-1,1] weights (and biases), each weight matrix scaled to spectral norm <= 1."""
    from ..nets import mlp

    t = mlp(list(widths), init="uniform", bias=bias, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for m in t:
            if isinstance(m, torch.nn.Linear):
                s = torch.linalg.matrix_norm(m.weight, ord=2)
                m.weight /= max(1.0, float(s))
    return t


@dataclass(frozen=True)
class TicketConfig(ExperimentConfig):
    """One constructive ticket for a random spectral-norm-1 MLP target inside an ER source."""
    experiment: ClassVar[str] = "ticket"
    target_widths: tuple = (10, 20, 20, 1)
    density: float = 0.5
    width_multiplier: int = 16
    construction: str = "2L"
    max_items: int = 20
    n_eval: int = 2000
    eps: float = 0.01
    attack_restarts: int = 8
    attack_steps: int = 60
    assignment: str | None = None  # None = "fixed" (the layout before assignments existed; keeps old hashes)
    objective: str | None = None  # None = "min_error" (the solver objective before "fewest" existed)


@register_experiment(TicketConfig)
def run_ticket(cfg: TicketConfig) -> list[dict]:
    from ..tickets import construct

    target = spectral_target(cfg.target_widths, cfg.seed)
    tk = construct(target, density=cfg.density, eps=cfg.eps, construction=cfg.construction,
                   width_multiplier=cfg.width_multiplier, max_items=cfg.max_items,
                   assignment=cfg.assignment or "fixed", objective=cfg.objective or "min_error",
                   generator=torch.Generator().manual_seed(10_000 + cfg.seed))
    g = torch.Generator().manual_seed(20_000 + cfg.seed)
    br = tk.sup_error((-1.0, 1.0), generator=g, restarts=cfg.attack_restarts, steps=cfg.attack_steps,
                      samples=cfg.n_eval)
    vals = {"lower": br.lower, "upper": br.upper, "random_max": br.random_max, "certified_error": tk.certified_error,
            "failures": tk.failures, "n_instances": tk.n_instances, "source_params": tk.source_params,
            "kept_params": tk.kept_params, "target_params": tk.target_params, "t_total_s": tk.timings["t_total_s"],
            "median_instance_error": float(np.median(tk.instance_errors))}
    return [{"metric": k, "value": float(v)} for k, v in vals.items()]


@dataclass(frozen=True)
class LenetTicketConfig(ExperimentConfig):
    """A ticket for LeNet-300-100 trained on real MNIST (mnist5k); test accuracy of target and ticket, each run
    alone, and the sup-error bracket over [0, 1]^784."""
    experiment: ClassVar[str] = "ticket_lenet"
    density: float = 0.5
    width_multiplier: int = 160
    max_items: int = 20
    epochs: int = 15
    dataset: str | None = None  # None = "digits28" (before mnist5k existed; keeps old hashes)
    assignment: str | None = None  # None = "fixed"
    objective: str | None = None  # None = "min_error"


@register_experiment(LenetTicketConfig)
def run_ticket_lenet(cfg: LenetTicketConfig) -> list[dict]:
    from ..data import load
    from ..nets import mlp
    from ..search.train import evaluate, train
    from ..tickets import construct

    g = torch.Generator().manual_seed(cfg.seed)
    data = load(cfg.dataset or "digits28", generator=g)
    target = mlp([784, 300, 100, 10], generator=g)
    train(target, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, generator=g, progress=False)
    tk = construct(target, density=cfg.density, eps=0.01, width_multiplier=cfg.width_multiplier,
                   max_items=cfg.max_items, assignment=cfg.assignment or "fixed",
                   objective=cfg.objective or "min_error", generator=torch.Generator().manual_seed(10_000 + cfg.seed))
    acc_t = evaluate(target, data.test)["accuracy"]
    acc_k = evaluate(tk.network, data.test)["accuracy"]  # the rebuilt ticket, evaluated on its own
    err = tk.measure_error(data.test[0])
    br = tk.sup_error((0.0, 1.0), generator=torch.Generator().manual_seed(20_000 + cfg.seed), restarts=8, steps=60)
    vals = {"target_test_accuracy": acc_t, "ticket_test_accuracy": acc_k, "max_output_gap": err["max"],
            "lower_01": br.lower, "upper_01": br.upper, "random_max_01": br.random_max,
            "mean_output_gap": err["mean"], "certified_error": tk.certified_error, "kept_params": tk.kept_params,
            "source_params": tk.source_params, "target_params": tk.target_params,
            "t_total_s": tk.timings["t_total_s"], "failures": tk.failures, "n_instances": tk.n_instances}
    return [{"metric": k, "value": float(v)} for k, v in vals.items()]


TICKET_PS = [1.0, 0.5, 0.2, 0.1, 0.05]  # quick and full
TICKET_SEEDS = {True: [0, 1, 2], False: [0, 1, 2, 3, 4]}
TICKET_ITEMS = {True: (8, 48), False: (4, 64)}  # expected present items per subset sum spanned by the k grid
TICKET_BOUND_MIN_P = {True: 0.1, False: 0.0}  # quick: the bound's k (75,221 units per input at p = 0.05, fixed
#                                              layout) is built for p >= 0.1 only


def item_presence(p: float, assignment: str, n_in: int = 10) -> float:
    """Probability that a block unit is a present item of one subset sum (sign included): fixed p^2/2,
    adaptive (1 - (1-p)^n_in) p/2 (the unit must reach some input; docs/theory.md)."""
    return p * p / 2 if assignment == "fixed" else (1 - (1 - p) ** n_in) * p / 2


def ticket_grid(quick: bool, assignment: str = "fixed") -> dict:
    """Width multipliers k = round(2^(i/2)) per density where the expected present items per subset sum,
    k x item_presence(p), lie in TICKET_ITEMS (k_min has ~20-30); plus the bound's k for eps = 0.01
    (default C). ``assignment="fixed"`` is stored as None (the original layout, old hashes)."""
    from ..bounds import required_width

    lo, hi = TICKET_ITEMS[quick]
    configs = []
    for p in TICKET_PS:
        q = item_presence(p, assignment)
        ks = sorted({round(2 ** (i / 2)) for i in range(2, 40) if lo <= 2 ** (i / 2) * q <= hi})
        if p >= TICKET_BOUND_MIN_P[quick]:
            ks.append(required_width([10, 20, 20, 1], 0.01, 0.01, p, assignment=assignment)[1] // 11)
        configs += [{"density": p, "width_multiplier": k, "seed": s} for k in sorted(set(ks))
                    for s in TICKET_SEEDS[quick]]
    fixed = {"target_widths": [10, 20, 20, 1]}
    if assignment != "fixed":
        fixed["assignment"] = assignment
    return {"experiment": "ticket", "fixed": fixed, "configs": configs}


# ----------------------------------------------------------------------------- edge-popup
@dataclass(frozen=True)
class EdgePopupTeacherConfig(ExperimentConfig):
    """Edge-popup in an ER source (exact-count masks) for a random teacher (no biases, U[-1,1] weights at
    spectral norm 1, output rescaled to unit RMS on the box); the ticket keeps half of the support in
    every layer (final density = density / 2). Source init ``init`` with hidden-networks' scale-fan."""
    experiment: ClassVar[str] = "edge_popup_teacher"
    target_widths: tuple = (20, 40, 40, 1)
    density: float = 1.0
    width_multiplier: int = 1
    epochs: int = 20
    n_train: int = 4000
    lr: float = 0.1
    init: str = "signed_constant"


@register_experiment(EdgePopupTeacherConfig)
def run_edge_popup_teacher(cfg: EdgePopupTeacherConfig) -> list[dict]:
    from ..data import load
    from ..nets import er_source
    from ..search.edge_popup import edge_popup

    target = spectral_target(cfg.target_widths, cfg.seed, bias=False)
    g = torch.Generator().manual_seed(30_000 + cfg.seed)
    with torch.no_grad():  # unit RMS output on the box (a positive rescaling of a bias-free ReLU net)
        probe = torch.rand(4000, cfg.target_widths[0], generator=g) * 2 - 1
        last = [m for m in target if isinstance(m, torch.nn.Linear)][-1]
        last.weight /= target(probe).pow(2).mean().sqrt()
    data = load("teacher", target=target, n_train=cfg.n_train, n_test=2000, generator=g)
    src = er_source(target, width_multiplier=cfg.width_multiplier, density=cfg.density, init=cfg.init,
                    exact=True, bias=False, scale_fan=cfg.density / 2, generator=g)
    res = edge_popup(src, data.train, density=cfg.density / 2, epochs=cfg.epochs, lr=cfg.lr, val_data=data.val,
                     weight_decay=0.0, generator=g, progress=False)
    with torch.no_grad():
        gap = (res.network(data.test[0]) - data.test[1]).abs()
        rel = float(gap.pow(2).mean() / data.test[1].pow(2).mean())
    return [{"metric": "sup_error", "value": float(gap.max())}, {"metric": "mean_error", "value": float(gap.mean())},
            {"metric": "relative_mse", "value": rel}]


@dataclass(frozen=True)
class EdgePopupClassConfig(ExperimentConfig):
    """Classification (mlp: LeNet-300-100 on mnist5k; conv: small conv net on digits): edge-popup inside an ER
    source of ``source_density`` down to
    ``final_density`` (method "edge_popup"), or the dense network trained with Adam ("dense_train")."""
    experiment: ClassVar[str] = "edge_popup_class"
    arch: str = "mlp"
    method: str = "edge_popup"
    source_density: float = 0.5
    final_density: float = 0.1
    width_multiplier: int = 2
    epochs: int = 15
    dataset: str | None = None  # mlp only: None = 64-100-100-10 on "digits" (old hashes); "mnist5k" = LeNet-300-100


@register_experiment(EdgePopupClassConfig)
def run_edge_popup_class(cfg: EdgePopupClassConfig) -> list[dict]:
    from ..data import load
    from ..nets import conv_net, er_source, mlp
    from ..search.edge_popup import edge_popup
    from ..search.train import evaluate, train

    g = torch.Generator().manual_seed(cfg.seed)
    flat = cfg.arch == "mlp"
    lenet = flat and cfg.dataset == "mnist5k"
    data = load("mnist5k" if lenet else "digits", generator=g, flatten=flat)
    if lenet:  # LeNet-300-100 on real MNIST
        target = mlp([784, 300, 100, 10], bias=False, generator=g)
    elif flat:
        target = mlp([64, 100, 100, 10], bias=False, generator=g)
    elif cfg.arch == "conv":
        target = conv_net(1, 10, channels=(16, 32), image_size=8, hidden=64, bias=False, generator=g)
    else:
        raise ValueError(f"arch must be 'mlp' or 'conv', got {cfg.arch!r}")
    if cfg.method == "dense_train":
        train(target, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
              progress=False)
        net, best = target, None
    elif cfg.method == "edge_popup":
        src = er_source(target, width_multiplier=cfg.width_multiplier, density=cfg.source_density,
                        init="signed_constant", exact=True, bias=False, scale_fan=cfg.final_density, generator=g)
        res = edge_popup(src, data.train, density=cfg.final_density, epochs=cfg.epochs, val_data=data.val,
                         generator=g, progress=False)
        net, best = res.network, res.best_val
    else:
        raise ValueError(f"method must be 'edge_popup' or 'dense_train', got {cfg.method!r}")
    acc = evaluate(net, data.test)["accuracy"]  # test split: final report only
    rows = [{"metric": "test_accuracy", "value": acc}]
    if best is not None:
        rows.append({"metric": "best_val_accuracy", "value": best})
    return rows


def edge_popup_grids(quick: bool) -> tuple[dict, dict]:
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    ks = [1, 2, 4, 8, 16] if quick else [1, 2, 4, 8, 16, 32]
    teacher = {"experiment": "edge_popup_teacher", "fixed": {"epochs": 20 if quick else 40},
               "grid": {"density": [1.0, 0.5, 0.2, 0.1], "width_multiplier": ks, "seed": seeds}}
    cls = []
    for arch in ["mlp", "conv"]:
        for s in seeds:
            ds = {"dataset": "mnist5k"} if arch == "mlp" else {}  # LeNet-300-100 on real MNIST
            cls += [{"arch": arch, "method": "edge_popup", "source_density": p, "seed": s, **ds} for p in (1.0, 0.5, 0.2)]
            cls.append({"arch": arch, "method": "dense_train", "source_density": 1.0, "seed": s, **ds})
    classification = {"experiment": "edge_popup_class", "fixed": {"epochs": 10 if quick else 40}, "configs": cls}
    return teacher, classification


BUILTIN_SWEEPS["edge-popup-teacher-quick"], BUILTIN_SWEEPS["edge-popup-class-quick"] = edge_popup_grids(True)
BUILTIN_SWEEPS["edge-popup-teacher"], BUILTIN_SWEEPS["edge-popup-class"] = edge_popup_grids(False)
# ----------------------------------------------------------------------------- training inside random masks
def _arch_and_data(arch: str, g: torch.Generator, dataset: str | None = None):
    from ..data import load
    from ..nets import conv_net

    if arch == "mlp":
        return [784, 300, 100, 10], load(dataset or "digits28", generator=g)
    if arch == "conv":
        return conv_net(1, 10, channels=(16, 32), image_size=8, hidden=64, generator=g), load("digits", generator=g,
                                                                                               flatten=False)
    raise ValueError(f"arch must be 'mlp' (LeNet-300-100 on mnist5k) or 'conv' (digits 8x8), got {arch!r}")


@dataclass(frozen=True)
class RatioTrainConfig(ExperimentConfig):
    """Train a network inside an ER mask of global ``density`` distributed by layer-wise ``ratio``."""
    experiment: ClassVar[str] = "ratio_train"
    arch: str = "mlp"
    density: float = 0.1
    ratio: str = "erk"
    epochs: int = 10
    dataset: str | None = None  # mlp only: None = "digits28" (old hashes), or "mnist5k"


@register_experiment(RatioTrainConfig)
def run_ratio_train(cfg: RatioTrainConfig) -> list[dict]:
    from ..nets import er_source
    from ..search.train import evaluate, train

    g = torch.Generator().manual_seed(cfg.seed)
    target, data = _arch_and_data(cfg.arch, g, cfg.dataset)
    net = er_source(target, width_multiplier=1, density=cfg.density, ratio=cfg.ratio, exact=True,
                    init="kaiming_uniform", generator=g)
    res = train(net, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
                progress=False)
    history = [{"metric": f"history_{k}", "epoch": h["epoch"], "value": v} for h in res.history
               for k, v in h.items() if k != "epoch"]
    return history + [{"metric": "test_accuracy", "value": evaluate(net, data.test)["accuracy"]}]


@dataclass(frozen=True)
class SparseToSparseConfig(ExperimentConfig):
    """Dense-to-sparse methods from a dense start (start_density 1) or inside an ER mask (start_density < 1,
    ``start_ratio``). ``imp``: rounds of 20% magnitude pruning with rewinding to init, one row per round;
    other methods: one-shot prune to each of ``densities`` from the start support, then train."""
    experiment: ClassVar[str] = "sparse_to_sparse"
    arch: str = "mlp"
    method: str = "imp"
    start_density: float = 1.0
    start_ratio: str = "balanced"
    densities: tuple = (0.2, 0.1, 0.05, 0.02)
    epochs: int = 10
    dataset: str | None = None  # mlp only: None = "digits28" (old hashes), or "mnist5k"


@register_experiment(SparseToSparseConfig)
def run_sparse_to_sparse(cfg: SparseToSparseConfig) -> list[dict]:
    import copy

    from ..nets import enforce_masks, er_source, masks
    from ..search.prune import imp_schedule, prune
    from ..search.train import evaluate, train
    from ..sparsity import density as density_of

    g = torch.Generator().manual_seed(cfg.seed)
    target, data = _arch_and_data(cfg.arch, g, cfg.dataset)
    base = er_source(target, width_multiplier=1, density=cfg.start_density, ratio=cfg.start_ratio, exact=True,
                     init="kaiming_uniform", generator=g)
    n_weights = sum(v.numel() for v in masks(base).values())
    rows = []

    def fit_and_score(net, d, cost):
        train(net, data.train, epochs=cfg.epochs, lr=1e-3, val_data=data.val, keep_best=True, generator=g,
              progress=False)
        rows.append({"metric": "test_accuracy", "density_point": d, "value": evaluate(net, data.test)["accuracy"],
                     "trained_param_epochs": cost + density_of(net) * n_weights * cfg.epochs})
        return rows[-1]["trained_param_epochs"]

    if cfg.method == "imp":
        net = copy.deepcopy(base)
        init = {k: v.clone() for k, v in net.state_dict().items() if not k.endswith("mask")}
        cost = fit_and_score(net, cfg.start_density, 0.0)
        for d in imp_schedule(cfg.start_density, min(cfg.densities)):
            prune(net, method="magnitude", density=d)  # inside the current masks
            net.load_state_dict({**net.state_dict(), **init})  # rewind to init, keep the masks
            enforce_masks(net)
            cost = fit_and_score(net, d, cost)
    else:
        for d in cfg.densities:
            if d > cfg.start_density:
                continue
            net = copy.deepcopy(base)
            prune(net, method=cfg.method, density=d, data=data.train, generator=g)
            fit_and_score(net, d, 0.0)
    return rows


def prune_grids(quick: bool) -> tuple[dict, dict]:
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    epochs = 8 if quick else 15
    data = {"mlp": {"dataset": "mnist5k"}, "conv": {}}  # LeNet-300-100 on real MNIST; conv net on digits
    grid = (0.5, 0.1, 0.01) if quick else (0.5, 0.2, 0.1, 0.05, 0.01)
    ratio = {"experiment": "ratio_train", "fixed": {"epochs": epochs},
             "configs": [{"arch": arch, "density": d, "ratio": r, "seed": s, **data[arch]} for arch in ("mlp", "conv")
                         for d in grid for r in ("uniform", "er", "erk", "balanced", "pyramidal") for s in seeds]}
    dens = [0.1, 0.05] if quick else [0.2, 0.1, 0.05, 0.02]
    s2s = []
    for arch in ["mlp", "conv"]:
        for method in ["imp", "snip", "synflow", "magnitude"]:
            for start in (1.0, 0.5):
                s2s += [{"arch": arch, "method": method, "start_density": start, "seed": s, "densities": dens,
                         **data[arch]} for s in seeds]
    return ratio, {"experiment": "sparse_to_sparse", "fixed": {"epochs": 6 if quick else epochs}, "configs": s2s}


BUILTIN_SWEEPS["ratios-quick"], BUILTIN_SWEEPS["sparse-to-sparse-quick"] = prune_grids(True)
BUILTIN_SWEEPS["ratios"], BUILTIN_SWEEPS["sparse-to-sparse"] = prune_grids(False)
BUILTIN_SWEEPS["tickets-quick"] = ticket_grid(quick=True)
BUILTIN_SWEEPS["tickets"] = ticket_grid(quick=False)
BUILTIN_SWEEPS["tickets-adaptive-quick"] = ticket_grid(quick=True, assignment="adaptive")
BUILTIN_SWEEPS["tickets-adaptive"] = ticket_grid(quick=False, assignment="adaptive")
BUILTIN_SWEEPS["ticket-lenet"] = {"experiment": "ticket_lenet", "fixed": {"dataset": "mnist5k"},
                                  "configs": [{"density": 0.5}, {"density": 1.0}]}
BUILTIN_SWEEPS["ticket-lenet-check"] = {"experiment": "ticket_lenet", "fixed": {"dataset": "mnist5k"},
                                        "configs": [{"density": 0.5}]}
BUILTIN_SWEEPS["selftest"] = {"experiment": "selftest", "grid": {"seed": list(range(6)), "sleep_s": [0.3]}}
