"""Dense-to-sparse methods from a dense start or inside an ER mask (proofs_checks/prune_er.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..config import ExperimentConfig, register_experiment
from ..sweep import BUILTIN_SWEEPS
from ._data import DATA, er_start


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

    from ...nets import enforce_masks, masks
    from ...search.prune import imp_schedule, prune
    from ...search.train import evaluate, train
    from ...sparsity import density as density_of

    g, base, data = er_start(cfg.arch, cfg.dataset, cfg.start_density, cfg.start_ratio, cfg.seed)
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


IMP_POWER_SEEDS = list(range(5, 15))  # full run: conv IMP (both starts) gets 15 seeds in all (proofs_checks/prune_er.py)


def sparse_to_sparse_grid(quick: bool) -> dict:
    seeds = [0, 1, 2] if quick else [0, 1, 2, 3, 4]
    # quick (a smoke run of the pipeline, about 1 min on 2 cores): IMP down to 0.2 (7 rounds from dense, 3 from
    # the ER start) and one one-shot pruner; the full run goes to 0.02 with SNIP, SynFlow and magnitude
    dens = [0.2] if quick else [0.2, 0.1, 0.05, 0.02]
    methods = ["imp", "snip"] if quick else ["imp", "snip", "synflow", "magnitude"]
    plan = [(arch, method, start, s) for arch in ["mlp", "conv"] for method in methods for start in (1.0, 0.5)
            for s in seeds]
    if not quick:  # row imp-er-vs-dense's conv arms: 5 seeds left its seed-paired difference at power 0.44
        plan += [("conv", "imp", start, s) for start in (1.0, 0.5) for s in IMP_POWER_SEEDS]
    s2s = [{"arch": arch, "method": method, "start_density": start, "seed": s, "densities": dens, **DATA[arch]}
           for arch, method, start, s in plan]
    return {"experiment": "sparse_to_sparse", "fixed": {"epochs": 4 if quick else 15}, "configs": s2s}


BUILTIN_SWEEPS["sparse-to-sparse-quick"] = sparse_to_sparse_grid(True)
BUILTIN_SWEEPS["sparse-to-sparse"] = sparse_to_sparse_grid(False)
