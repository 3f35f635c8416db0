"""Store integrity under fault injection (issue 15): damaged, incomplete, renamed or swapped results are
reported and recomputed, never dropped silently or attributed to the wrong config; stale temporaries are
cleaned; two sweeps share the work; pool workers die with a killed sweep."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import pytest

from lottery_theory.experiments import ResultStore, grid, run_sweep


def _fresh(tmp_path, n=4, **fixed):
    store = ResultStore(tmp_path)
    cfgs = grid("selftest", {"x": 2.0, **fixed}, seed=list(range(n)))
    assert run_sweep(cfgs, store=store, executor="serial", progress=False)["done"] == n
    return store, cfgs


FAULTS = {
    "config.json deleted": lambda f, other: (f / "config.json").unlink(),
    "rows.csv deleted": lambda f, other: (f / "rows.csv").unlink(),
    "manifest deleted (writer killed)": lambda f, other: (f / "manifest.json").unlink(),
    "rows.csv truncated to its header": lambda f, other: (f / "rows.csv").write_text(
        (f / "rows.csv").read_text().splitlines()[0] + "\n"),
    "rows.csv truncated mid-row": lambda f, other: (f / "rows.csv").write_text((f / "rows.csv").read_text()[:-7]),
    "rows.csv edited": lambda f, other: (f / "rows.csv").write_text((f / "rows.csv").read_text().replace("4.0", "5.0")),
    "another config's config.json": lambda f, other: shutil.copy(other / "config.json", f / "config.json"),
    "manifest garbage": lambda f, other: (f / "manifest.json").write_text("{not json"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_reported_and_recomputed(tmp_path, fault):
    store, cfgs = _fresh(tmp_path)
    victim, other = store.folder(cfgs[1]), store.folder(cfgs[2])
    FAULTS[fault](victim, other)
    assert not store.done(cfgs[1]) and store.done(cfgs[2])
    assert list(store.problems("selftest")) == [victim.name]
    with pytest.warns(UserWarning, match="1 damaged or incomplete"):
        df = store.load("selftest")
    assert set(df["seed"]) == {0, 2, 3}  # left out, not attributed to another config
    counts = run_sweep(cfgs, store=store, executor="serial", progress=False)
    assert counts == {"total": 4, "skipped": 3, "done": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = store.load("selftest")
    assert len(df) == 8 and df.groupby("seed").size().eq(2).all() and not store.problems("selftest")


def test_renamed_folder_is_reported_and_its_config_recomputed(tmp_path):
    store, cfgs = _fresh(tmp_path)
    f = store.folder(cfgs[0])
    f.rename(f.with_name("0" * 12))
    assert "describes config" in store.problems("selftest")["0" * 12]
    with pytest.warns(UserWarning, match="moved to"):
        assert set(store.load("selftest")["seed"]) == {1, 2, 3}
    assert run_sweep(cfgs, store=store, executor="serial", progress=False)["done"] == 1
    # warned once: the renamed folder was moved aside (kept under .damaged/), later loads are silent
    assert (store.root / "selftest" / ".damaged" / ("0" * 12) / "rows.csv").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert set(store.load("selftest")["seed"]) == {0, 1, 2, 3} and not store.problems("selftest")
    with pytest.raises(ValueError, match="experiment name"):
        store.load("..")


def test_stale_tmp_files_are_cleaned_on_rewrite(tmp_path):
    store, cfgs = _fresh(tmp_path, n=1)
    f = store.folder(cfgs[0])
    (f / ".rows.csv.abc.tmp").write_text("half a write")
    (f / "manifest.json").unlink()
    run_sweep(cfgs, store=store, executor="serial", progress=False)
    assert not list(f.glob("*.tmp")) and store.done(cfgs[0])


def test_two_sweeps_on_one_store_share_the_work(tmp_path, selftest_sweep):
    a, b = (selftest_sweep(tmp_path, n=8, sleep_s=0.5, stdout=subprocess.PIPE) for _ in range(2))
    ca, cb = (json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1]) for p in (a, b))
    assert ca["done"] + cb["done"] == 8  # every config computed exactly once (both skip what the other holds)
    assert ca["total"] == cb["total"] == 8
    assert len(ResultStore(tmp_path).load("selftest")) == 16


def _children(pid):
    out = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            out |= {int(x) for x in open(f"/proc/{pid}/task/{task}/children").read().split()}
        except OSError:
            pass
    return out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_pool_workers_exit_when_the_sweep_is_killed(tmp_path, selftest_sweep):
    proc = selftest_sweep(tmp_path, n=6, sleep_s=3.0, executor="local", workers=2)
    deadline = time.time() + 120
    kids = set()
    while time.time() < deadline and len(kids) < 3:  # two workers + the resource tracker
        time.sleep(0.2)
        kids = _children(proc.pid)
    assert len(kids) >= 2, kids
    os.kill(proc.pid, signal.SIGKILL)  # only the main process, as a user's kill would
    proc.wait()
    deadline = time.time() + 30
    alive = kids
    while time.time() < deadline and alive:
        time.sleep(0.2)
        alive = {k for k in alive if os.path.exists(f"/proc/{k}") and
                 open(f"/proc/{k}/stat").read().split()[2] != "Z"}
    for k in alive:  # clean up before failing
        os.kill(k, signal.SIGKILL)
    assert not alive, f"orphaned processes: {alive}"


def test_a_shared_pool_serves_every_sweep_in_its_block_and_leaves_no_worker(tmp_path):
    """verify runs its checks inside shared_pool(): the second sweep reuses the first one's workers (no new
    interpreter start-up), results are the same as without it, and no worker outlives the block."""
    import multiprocessing as mp

    from lottery_theory.experiments.sweep import shared_pool

    store = ResultStore(tmp_path / "a")
    one, two = grid("selftest", {"x": 3.0}, seed=[0, 1, 2]), grid("selftest", {"x": 5.0}, seed=[0, 1])
    with shared_pool(2):
        assert run_sweep(one, store=store, executor="local", workers=2, progress=False)["done"] == 3
        first = {p.pid for p in mp.active_children()}
        assert run_sweep(two, store=store, executor="local", workers=2, progress=False)["done"] == 2
        assert {p.pid for p in mp.active_children()} == first and len(first) >= 2
    assert not mp.active_children()
    ref = ResultStore(tmp_path / "b")
    run_sweep(one + two, store=ref, executor="serial", progress=False)
    key = ["x", "seed", "metric"]
    assert store.load("selftest").sort_values(key)["value"].tolist() == ref.load("selftest").sort_values(key)[
        "value"].tolist()
    with pytest.raises(ValueError, match="workers"):
        with shared_pool(0):
            pass
