"""Configs, result store, resume after SIGKILL, Dask vs local, figures from stored results."""
import json
import os
import signal
import time

import pandas as pd
import pytest

from lottery_theory.experiments import (
    ResultStore,
    available_experiments,
    config_from_dict,
    config_hash,
    grid,
    load_sweep_file,
    run_sweep,
)
from lottery_theory.experiments.builtin import SelftestConfig, TicketConfig
from lottery_theory.plotting import available_figures, render


def test_hash_regression():
    # Known hashes: if these change, every stored result folder is orphaned. Do not update casually.
    assert config_hash(SelftestConfig()) == config_hash(SelftestConfig(x=1.0, sleep_s=0.0, seed=0))
    # the documented rule, by hand: sha256 of the sorted, compact JSON of experiment + non-None fields
    import hashlib
    by_hand = hashlib.sha256(b'{"experiment":"selftest","seed":0,"sleep_s":0.0,"x":1.0}').hexdigest()[:12]
    assert config_hash(SelftestConfig()) == by_hand == "d1c204861020"
    # Changed deliberately on 2026-11-27 (was 43c4c039ed40): ticket rows gained the sup-error bracket (lower,
    # upper) and the config its eps and attack settings; folders without the bracket must be recomputed.
    # On 2026-12-02 TicketConfig's defaults became construct()'s (max_items 24, adaptive, fewest); the published
    # settings, given by name, keep that hash (assignment and objective at their legacy values hash as absent).
    # On 2026-12-02 (night) the config gained cert_boxes (256; legacy 32, the published full grids pin it).
    assert config_hash(TicketConfig(max_items=20, assignment="fixed", objective="min_error",
                                    cert_boxes=32)) == "7d15b3045a24"
    assert config_hash(TicketConfig()) != "7d15b3045a24"
    assert config_hash(TicketConfig(max_items=20, assignment="fixed", objective="min_error")) != "7d15b3045a24"
    assert config_hash(SelftestConfig(seed=1)) != config_hash(SelftestConfig())


def test_hash_ignores_none_fields_so_new_fields_keep_old_hashes():
    import dataclasses
    from typing import ClassVar

    @dataclasses.dataclass(frozen=True)
    class Extended(SelftestConfig):
        experiment: ClassVar[str] = "selftest"
        new_option: str | None = None  # a field added later: None means "old behaviour"

    assert config_hash(Extended()) == config_hash(SelftestConfig())
    assert config_hash(Extended(new_option="x")) != config_hash(SelftestConfig())


def test_legacy_values_hash_as_absent_and_stored_none_reads_as_legacy():
    """A field added later may default to the library's current value: its ``legacy`` value (the behaviour before
    it existed) hashes as if the field were absent, and a stored record's None reads as that value."""
    import dataclasses
    import hashlib
    from typing import ClassVar

    @dataclasses.dataclass(frozen=True)
    class Extended(SelftestConfig):
        experiment: ClassVar[str] = "selftest"
        legacy: ClassVar[dict] = {"mode": "old"}
        mode: str = "new"

    assert config_hash(Extended(mode="old")) == config_hash(SelftestConfig()) == "d1c204861020"
    assert Extended(mode=None).mode == "old" and config_hash(Extended(mode=None)) == "d1c204861020"
    by_hand = hashlib.sha256(b'{"experiment":"selftest","mode":"new","seed":0,"sleep_s":0.0,"x":1.0}').hexdigest()
    assert config_hash(Extended()) == by_hand[:12]
    # the ticket experiment's stored records (assignment/objective None, no cert_boxes: written before it existed)
    # read as the published layout and certificate
    from lottery_theory.experiments.config import config_from_stored

    old = config_from_stored("ticket", {"assignment": None, "objective": None, "max_items": 20})
    assert (old.assignment, old.objective, old.cert_boxes) == ("fixed", "min_error", 32)
    assert old.hash() == "7d15b3045a24"


def test_renamed_values_keep_their_stored_name_in_hash_and_store(tmp_path):
    """A value renamed after results were stored hashes and is written under its stored name, and reads back under
    its current one: on 2026-12-02 the greedy layout (stored as "adaptive") took the name "greedy" and the matched
    layout (stored as "matched") the name "adaptive"."""
    import dataclasses
    import hashlib
    import json
    from typing import ClassVar

    from lottery_theory.experiments import ResultStore

    @dataclasses.dataclass(frozen=True)
    class Renamed(SelftestConfig):
        experiment: ClassVar[str] = "selftest"
        stored_names: ClassVar[dict] = {"mode": {"new": "old"}}
        mode: str = "new"

    by_hand = hashlib.sha256(b'{"experiment":"selftest","mode":"old","seed":0,"sleep_s":0.0,"x":1.0}').hexdigest()
    assert config_hash(Renamed()) == by_hand[:12]
    # the ticket experiment, by hand: the greedy layout hashes as the "adaptive" it was stored under ...
    greedy = TicketConfig(max_items=20, assignment="greedy", objective="min_error", cert_boxes=32)
    text = ('{"assignment":"adaptive","attack_restarts":8,"attack_steps":60,"construction":"2L","density":0.5,'
            '"eps":0.01,"experiment":"ticket","max_items":20,"n_eval":2000,"seed":0,"target_widths":[10,20,20,1],'
            '"width_multiplier":16}')
    assert greedy.hash() == hashlib.sha256(text.encode()).hexdigest()[:12]
    # ... the matched layout, now "adaptive" (and "matched", its former name), as "matched"
    for name in ("adaptive", "matched"):
        cfg = TicketConfig(max_items=20, assignment=name, objective="min_error", cert_boxes=32)
        assert cfg.assignment == "adaptive"
        assert cfg.hash() == hashlib.sha256(text.replace('"adaptive"', '"matched"').encode()).hexdigest()[:12]
    store = ResultStore(tmp_path)
    for cfg in (greedy, TicketConfig(max_items=20, objective="min_error", cert_boxes=32)):
        folder = store.write(cfg, [{"metric": "m", "value": 1.0}])
        stored = json.loads((folder / "config.json").read_text())["config"]["assignment"]
        assert stored == {"greedy": "adaptive", "adaptive": "matched"}[cfg.assignment]
        assert store.done(cfg)
    assert sorted(store.load("ticket")["assignment"]) == ["adaptive", "greedy"]  # current names on the way out


def test_ticket_defaults_are_one_set_api_experiment_and_command():
    """construct()'s ConstructConfig, the ticket experiment's TicketConfig and the ``ticket`` command take their
    defaults from one table (lottery_theory._construct_options); the command's one departure, --budget norms, is
    named there."""
    from lottery_theory.cli import build_parser
    from lottery_theory.experiments.builtin.ticket_lenet import LenetTicketConfig
    from lottery_theory.tickets import CONSTRUCTIONS, ConstructConfig
    from lottery_theory._construct_options import CLI_DEFAULTS

    api = ConstructConfig(density=0.5, eps=0.01)
    args = build_parser().parse_args(["ticket", "--target", "x.pt", "--density", "0.5", "--eps", "0.01"])
    for cfg in (TicketConfig(), LenetTicketConfig()):
        assert (cfg.max_items, cfg.assignment) == (api.max_items, api.assignment) == (24, "adaptive")
        assert cfg.objective == CONSTRUCTIONS.get_checked(api.construction).default_objective == "fewest"
    assert (args.max_items, args.assignment, args.retries, args.delta) == (24, "adaptive", 1, 0.01)
    assert args.objective is api.objective is None  # None: the layout's own (fewest)
    assert (api.budget, args.budget) == ("assumed", "norms") and CLI_DEFAULTS == {"budget": "norms"}


def test_config_from_dict_validation():
    with pytest.raises(ValueError, match="unknown field"):
        config_from_dict("selftest", {"nope": 1})
    with pytest.raises(ValueError, match="available: .*ticket"):
        config_from_dict("no-such-experiment", {})
    assert {"selftest", "ticket", "ticket_lenet"} <= set(available_experiments())


def test_store_roundtrip_and_layout(tmp_path):
    store = ResultStore(tmp_path)
    cfgs = grid("selftest", {"x": 2.0}, seed=[0, 1, 2])
    counts = run_sweep(cfgs, store=store, executor="serial", progress=False)
    assert counts == {"total": 3, "skipped": 0, "done": 3}
    folder = store.folder(cfgs[0])
    assert folder == tmp_path / "selftest" / config_hash(cfgs[0])
    meta = json.loads((folder / "config.json").read_text())
    assert meta["config"]["x"] == 2.0 and meta["hash"] == config_hash(cfgs[0])
    df = store.load("selftest")
    assert len(df) == 6 and set(df["seed"]) == {0, 1, 2} and set(df["metric"]) == {"value", "x2"}
    assert (df[df.metric == "x2"]["value"] == 4.0).all()
    assert run_sweep(cfgs, store=store, executor="serial", progress=False)["skipped"] == 3
    assert not list(tmp_path.rglob("*.tmp"))


def test_resume_after_sigkill(tmp_path, selftest_sweep):
    proc = selftest_sweep(tmp_path, n=8, sleep_s=0.4)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(tmp_path.rglob("manifest.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # kill mid-sweep, possibly mid-write
    proc.wait()
    finished = len(list(tmp_path.rglob("manifest.json")))  # the manifest is written last: done = manifest
    assert 3 <= finished < 8
    store = ResultStore(tmp_path)
    counts = run_sweep(grid("selftest", {"sleep_s": 0.4}, seed=list(range(8))), store=store, executor="serial",
                       progress=False)
    assert counts["skipped"] == finished and counts["done"] == 8 - finished
    df = store.load("selftest")
    assert len(df) == 16 and df.groupby("seed").size().eq(2).all()  # nothing lost, nothing duplicated


def test_dask_localcluster_matches_local(tmp_path):
    cfgs = grid("selftest", {"x": 3.0}, seed=[0, 1, 2, 3])
    run_sweep(cfgs, store=ResultStore(tmp_path / "a"), executor="local", workers=2, progress=False)
    run_sweep(cfgs, store=ResultStore(tmp_path / "b"), executor="dask", workers=2, scheduler="local", progress=False)
    cols = ["seed", "metric", "value"]
    a = ResultStore(tmp_path / "a").load("selftest")[cols].sort_values(cols[:2]).reset_index(drop=True)
    b = ResultStore(tmp_path / "b").load("selftest")[cols].sort_values(cols[:2]).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_sweep_files_json_and_toml(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"experiment": "selftest", "fixed": {"x": 5.0},
                                                 "grid": {"seed": [1, 2]}}))
    (tmp_path / "s.toml").write_text('experiment = "selftest"\n[[configs]]\nseed = 7\nx = 1.5\n')
    a = load_sweep_file(tmp_path / "s.json")
    b = load_sweep_file(tmp_path / "s.toml")
    assert [c.seed for c in a] == [1, 2] and a[0].x == 5.0
    assert b == [SelftestConfig(seed=7, x=1.5)]
    with pytest.raises(FileNotFoundError):
        load_sweep_file(tmp_path / "missing.json")


def test_cli_sweep(tmp_path, capsys):
    from lottery_theory.cli import main
    (tmp_path / "s.json").write_text(json.dumps({"experiment": "selftest", "grid": {"seed": [1, 2]}}))
    assert main(["sweep", str(tmp_path / "s.json"), "--executor", "serial", "--results", str(tmp_path / "r")]) == 0
    assert "2 run, 0 already stored" in capsys.readouterr().out
    assert main(["sweep", "nope-sweep"]) == 2


FIGURE_DATA = {
    "layer_ratios": pd.DataFrame({"arch": ["a"] * 4, "method": ["uniform", "uniform", "er", "er"],
                                  "layer": [0, 1, 0, 1], "density": [0.1, 0.1, 0.05, 0.2], "global_density": 0.1}),
    "lueker": pd.DataFrame({"eps": [0.1] * 4, "p": [1, 1, 0.5, 0.5], "n": [1, 2, 1, 2],
                            "success": [0.2, 1, 0, 0.5], "bound_n": [2, 2, 4, 4]}),
    "lueker_scaling": pd.DataFrame({"eps": [0.1, 0.1], "p": [1.0, 0.5], "n_emp": [10, 25]}),
    "representation": pd.DataFrame({"p": [0.5] * 2, "K": [2, 4], "k1": [2, 2], "exact_failure": [0.5, 0.1],
                                    "union_bound": [0.9, 0.2], "sim_failure": [0.48, 0.11], "ci_lo": [0.4, 0.08],
                                    "ci_hi": [0.55, 0.14]}),
    "lower_bound": pd.DataFrame({"kind": ["curve", "curve", "scaling", "scaling"], "p1": [0.5, 0.5, 0.1, 0.2],
                                 "p2": [1.0, 1.0, 1.0, 1.0], "n": [2, 4, 40, 20], "exact": [0.2, 0.8, 1.0, 1.01],
                                 "sim": [0.21, 0.79, None, None], "n_star": [4, 4, 40, 20]}),
    "ticket_error_width": pd.DataFrame({"density": [1.0, 1.0, 0.5], "width_multiplier": [2, 4, 4], "seed": 0,
                                        "lower": [0.3, 0.0005, 0.1], "upper": [0.9, 0.002, 0.4],
                                        "bound_k": [8, 8, 30]}),
    "ticket_width_scaling": pd.DataFrame({"eps": [0.01, 0.01], "density": [1.0, 0.5], "k_min": [8, 30], "seed": 0,
                                          "kept_ratio": [10, 12], "source_ratio": [100, 300]}),
}
FIGURE_DATA["ticket_sparsity"] = FIGURE_DATA["ticket_width_scaling"].assign(layout="fixed")
FIGURE_DATA["construction_scaling"] = pd.DataFrame({
    "layout": ["fixed", "fixed", "adaptive", "adaptive", None], "density": [1.0, 0.5, 1.0, 0.5, 0.5],
    "seed": [0, 0, 0, 0, None], "k_min": [45, 181, 45, 90, None], "eps": 0.01,
    "lower_bound_per_input": [None, None, None, None, 1.2]})
FIGURE_DATA["ticket_wide"] = pd.DataFrame({"density": [0.5, 0.5, 0.1, 0.1], "width_multiplier": [64, 128, 512, 724],
                                          "seed": 0, "eps": 0.01, "upper": [0.02, 0.005, 0.03, 0.02]})
FIGURE_DATA["ticket_l1_width"] = pd.DataFrame({"n_in": [4, 4, 4, 4, 16, 16, 16, 16],
                                               "density": [1.0, 1.0, 0.5, 0.5] * 2,
                                               "width_multiplier": [16, 32, 64, 91] * 2, "seed": 0, "eps": 0.05,
                                               "upper": [0.1, 0.01, 0.2, 0.03, 0.01, 0.01, 0.1, 0.2]})
FIGURE_DATA["edge_popup_teacher"] = pd.DataFrame({"density": [1.0, 1.0, 0.5], "width_multiplier": [1, 2, 2],
                                                  "seed": 0, "relative_mse": [0.3, 0.2, 0.5],
                                                  "sup_error": [1.5, 1.2, 2.0]})
FIGURE_DATA["ratio_comparison"] = pd.DataFrame({"arch": ["mlp"] * 8, "ratio": ["erk", "erk", "balanced", "balanced"] * 2,
                                                "density": [0.1, 0.5, 0.1, 0.5] * 2, "seed": [0] * 4 + [1] * 4,
                                                "value": [0.8, 0.9, 0.85, 0.9, 0.82, 0.88, 0.84, 0.91]})
FIGURE_DATA["sparse_to_sparse"] = pd.DataFrame({"arch": ["mlp"] * 5, "method": ["imp"] * 4 + ["snip"],
                                                "start_density": [1.0, 1.0, 0.5, 0.5, 0.5], "seed": 0,
                                                "density_point": [1.0, 0.1, 0.5, 0.1, 0.1],
                                                "trained_param_epochs": [1.0, 2.0, 0.5, 1.0, 0.5],
                                                "value": [0.9, 0.8, 0.9, 0.8, 0.7]})
FIGURE_DATA["dst"] = pd.DataFrame({"arch": ["mlp"] * 8, "density": 0.05, "seed": [0, 1] * 4,
                                   "method": ["static", "static", "rigl", "rigl", "rigl", "rigl", "rigl", "rigl"],
                                   "start": ["erk", "erk", "erk", "erk", "snip", "snip", "balanced", "balanced"],
                                   "support_density": [None] * 6 + [0.5, 0.5],
                                   "value": [0.80, 0.81, 0.84, 0.85, 0.85, 0.86, 0.83, 0.84]})
FIGURE_DATA["edge_popup_class"] = pd.DataFrame({"arch": ["mlp", "mlp", "conv", "conv"] * 2, "seed": [0] * 4 + [1] * 4,
                                                "label": ["a", "b", "a", "b"] * 2,
                                                "value": [0.9, 0.95, 0.92, 0.96, 0.91, 0.94, 0.93, 0.95]})


@pytest.mark.parametrize("name", sorted(FIGURE_DATA))
def test_every_figure_renders_from_stored_data(name, tmp_path):
    """Each figure renders from a synthetic table of its CSV's columns: the PNG is written, and every panel draws
    the data it was given (points or curves within the data's range) under labelled axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    from lottery_theory.plotting import draw

    path = tmp_path / f"{name}.csv"
    FIGURE_DATA[name].to_csv(path, index=False)
    out = render(name, path)
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = draw(name, FIGURE_DATA[name])
    try:
        panels = [ax for ax in fig.axes if ax.get_visible() and (ax.lines or ax.collections or ax.patches)]
        assert panels, f"{name}: no panel draws anything"
        for ax in panels:
            assert ax.get_xlabel() or fig._supxlabel, (name, "x label")
            ys = np.concatenate([np.asarray(ln.get_ydata(), float).ravel() for ln in ax.lines] or [np.zeros(0)])
            assert ax.collections or ax.patches or np.isfinite(ys).any(), (name, "no finite data drawn")
        assert fig._supylabel or any(ax.get_ylabel() for ax in panels), (name, "y label")  # shared y: one label
    finally:
        plt.close(fig)


def test_all_registered_figures_have_a_test():
    missing = set(available_figures()) - set(FIGURE_DATA) - set(EXTRA_FIGURES)
    assert not missing, f"figures without a render test: {missing}"


EXTRA_FIGURES: set = set()


def test_every_builtin_sweep_builds_valid_configs():
    """Full-size sweeps are not run in CI; at least every config they name must be valid."""
    from lottery_theory.experiments.sweep import BUILTIN_SWEEPS, sweep_from_spec
    for name, spec in BUILTIN_SWEEPS.items():
        cfgs = sweep_from_spec(spec)
        assert cfgs, name
        assert len({config_hash(c) for c in cfgs}) == len(cfgs), f"{name}: duplicate configs"


def test_lenet_eps_field_keeps_old_hashes_and_grids_read_config_defaults():
    from lottery_theory.experiments.builtin.ticket import TicketConfig, ticket_grid
    from lottery_theory.experiments.builtin.ticket_lenet import LenetTicketConfig
    assert config_hash(LenetTicketConfig(eps=None)) == config_hash(LenetTicketConfig())
    assert config_hash(LenetTicketConfig(eps=0.02)) != config_hash(LenetTicketConfig())
    assert ticket_grid(True)["fixed"]["target_widths"] == list(TicketConfig.target_widths)


def test_rows_at_refuses_a_missing_grid_point():
    import pandas as pd

    from lottery_theory.verdicts import rows_at
    t = pd.DataFrame({"density": [0.5, 0.1, 0.1], "value": [1, 2, 3]})
    assert rows_at(t, "density", 0.1)["value"].tolist() == [2, 3]
    with pytest.raises(ValueError, match="no density = 0.01"):
        rows_at(t, "density", 0.01)
