"""Verdict records, decision rows and discovery of the scripts in ``proofs_checks/``.

Each script in ``proofs_checks/`` defines ``STATEMENT`` (a string), ``ROWS`` (a list of :class:`Row`: the
row's claim, its threshold with the rationale, a **pure** decision function of a results table, and
synthetic tables made under the claim and under a named alternative that breaks it) and
``check(quick: bool, out_dir: Path) -> list[Verdict]``, which measures, builds each row's table and
calls :meth:`Row.judge`. ``verify --self-test`` feeds every row both synthetic tables and fails unless
the row says "holds" under the claim and "violated" under the alternative: a row that cannot fail is a
defect. Descriptive results without a decision are :func:`finding` rows, listed apart from verdicts.
Run as a script, a check prints its statement and verdicts and exits 1 when any verdict is "violated".
"""
from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .evidence import paired_power, powered  # noqa: F401 - re-exported for the checks

if TYPE_CHECKING:
    import numpy as np

VERDICTS = ("holds", "violated", "inconclusive", "error", "finding")


@dataclass(frozen=True)
class Verdict:
    """One row of the verdict table: a claim, what was measured, the bound it is held to, the verdict;
    ``row`` a stable id, ``seeds`` the seeds it rests on, ``interval`` a 95% interval where one applies.
    ``verdict == "finding"`` marks a descriptive row (no decision; listed apart)."""
    claim: str
    measured: str
    bound: str
    verdict: str
    check: str = ""
    row: str = ""
    seeds: str = ""
    interval: str = ""
    rival: str = ""
    power: str = ""
    size: str = ""
    near: bool = False
    rejudged: bool = False  # a quick run's smoke-run row decided from the published CSV, not retrained here

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def finding(row: str, claim: str, measured: str, note: str = "-", seeds: str = "") -> Verdict:
    """A descriptive result (no threshold, cannot fail): reported under "Findings", never as a verdict."""
    return Verdict(claim, measured, note, "finding", row=row, seeds=seeds)


@dataclass(frozen=True)
class Row:
    """A decision row. ``decide(table) -> (verdict, measured, extras)`` is pure (extras: optional ``seeds``,
    ``interval``, ``power``, ``size``); ``claim_table(rng)`` / ``alt_table(rng)`` make synthetic tables under the
    claim and under ``alternative`` (a clear-cut alternative for the self-test); ``bound`` states the fixed
    threshold and its rationale. ``rival`` names the nearest rival a referee would raise first: a statistical row
    measures its power against it on the real table (:mod:`lottery_theory.evidence`); an ``exact`` row (every case
    must pass, no sampling in the decision) leaves it empty. ``source`` names the CSV(s) the row's table is read
    from (docs/verdicts.md)."""
    id: str
    claim: str
    bound: str
    decide: Callable[[object], tuple]
    claim_table: Callable[[np.random.Generator], object]
    alt_table: Callable[[np.random.Generator], object]
    alternative: str
    rival: str = ""
    source: str = ""
    calibration: str = ""

    @property
    def kind(self) -> str:
        """"statistical" (a rival and its power), "calibrated" (a sampled check whose threshold is set by a stated
        false-alarm rate) or "exact" (every case must pass, no sampling in the decision)."""
        return "statistical" if self.rival else "calibrated" if self.calibration else "exact"

    def judge(self, table, check: str = "") -> Verdict:
        verdict, measured, extra = self.decide(table)
        fmt = lambda k: "" if extra.get(k) is None else f"{float(extra[k]):.2f}"  # noqa: E731
        return Verdict(self.claim, measured, self.bound, verdict, check, self.id, str(extra.get("seeds", "")),
                       str(extra.get("interval", "")), self.rival, fmt("power"), fmt("size"), bool(extra.get("near")))


def judge_rows(rows: Sequence[Row], tables: dict) -> list[Verdict]:
    """Every row judged on its own table, looked up by row id (never by list position): a row without a table, or
    a table for no row, is a ValueError naming it, so every row of a check gets a verdict."""
    ids = [r.id for r in rows]
    missing, extra = [i for i in ids if i not in tables], sorted(set(tables) - set(ids))
    if missing or extra:
        raise ValueError(f"row tables do not match the rows: missing {missing}, unknown {extra}")
    return [r.judge(tables[r.id]) for r in rows]


def mean_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of ``x`` (needs >= 2 values; :func:`evidence.t_interval`)."""
    import numpy as np

    from .evidence import t_interval

    if np.asarray(x).size < 2:
        raise ValueError(f"an interval needs >= 2 seeds, got {np.asarray(x).size}")
    return t_interval(x, level)


def margin_verdict(lo: float, hi: float, margin: float) -> str:
    """Claim ``value >= margin``: "holds" when the whole interval is at or above it, "violated" when it is
    wholly below, "inconclusive" when it straddles."""
    if lo >= margin:
        return "holds"
    if hi < margin:
        return "violated"
    return "inconclusive"


def rows_at(table, column: str, value: float):
    """The rows of ``table`` whose ``column`` equals ``value`` (float-tolerant). A grid without that value is an
    error naming the values it has, never an empty table that a check would silently judge."""
    import numpy as np

    hit = np.isclose(table[column].astype(float), value)
    if not hit.any():
        raise ValueError(f"the stored sweep has no {column} = {value:g} (it has {sorted(set(table[column]))}); "
                         f"the check's statement needs it")
    return table[hit]


def read_csv(path: Path, columns: Sequence[str]):
    """A published table: the CSV at ``path`` with at least ``columns`` (an error names the file and what is
    missing, never a KeyError deep in a decision)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (the check writes it; run `verify` or pass the folder "
                                f"that holds it)")
    t = pd.read_csv(path)
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise ValueError(f"{path.name} lacks column(s) {missing} (it has {list(t.columns)})")
    if t.empty:
        raise ValueError(f"{path.name} has no rows")
    return t


def seeds_of(table) -> str:
    """The seeds a results table rests on, as ``"0,1,2"`` (empty when it has no ``seed`` column)."""
    return ",".join(str(int(s)) for s in sorted(table["seed"].unique())) if "seed" in table else ""


def paired_margin(a, b, margin: float) -> tuple[str, float, float, float]:
    """Claim ``a - b >= margin`` on seed-paired values (``a``, ``b``: Series indexed by seed): the verdict of
    :func:`margin_verdict` on the 95% t-interval of the mean difference; returns (verdict, mean, lo, hi)."""
    d = (a - b).dropna()
    m, lo, hi = mean_interval(d.to_numpy())
    return margin_verdict(lo, hi, margin), m, lo, hi


class Paired(NamedTuple):
    """A seed-paired margin decision (:func:`paired_vs_margin`)."""
    verdict: str
    mean: float
    lo: float
    hi: float
    power: float
    size: float
    near: bool


def paired_vs_margin(a, b, margin: float) -> Paired:
    """Claim ``a - b >= margin`` on seed-paired values: the interval verdict of :func:`paired_margin`, gated by the
    power against the nearest rival (the difference at ``margin``) from the measured spread
    (:func:`~lottery_theory.evidence.paired_power`, :func:`~lottery_theory.evidence.powered`), and whether the
    decision is within its own noise of flipping (:func:`~lottery_theory.evidence.near_margin`)."""
    import numpy as np

    from .evidence import near_margin

    v, m, lo, hi = paired_margin(a, b, margin)
    pw, sz = paired_power((a - b).dropna(), margin)
    return Paired(powered(v, pw), m, lo, hi, pw, sz, near_margin(lo, hi, (margin,), pw if v == "holds" else np.nan))


def combine(verdicts: Sequence[str]) -> str:
    """Several sub-claims of one row: "violated" if any is, "holds" if all do, else "inconclusive"."""
    if "violated" in verdicts:
        return "violated"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"


def selected_checks(names: Sequence[str] | None = None) -> dict[str, Path]:
    """The named checks (all when ``names`` is empty); an unknown name is an error listing the available ones."""
    checks = discover_checks()
    if names:
        missing = sorted(set(names) - set(checks))
        if missing:
            raise ValueError(f"unknown check(s) {missing}; available: {', '.join(checks)}")
        checks = {k: v for k, v in checks.items() if k in names}
    return checks


def judge_checks(folder: Path, names: Sequence[str] | None = None, debug: bool = False) -> list[Verdict]:
    """Re-decide every row from the CSVs in ``folder`` (``figures/``, ``figures/full`` or a ``verify --out``
    folder) with each check's ``judge(folder)``: nothing is measured. A check whose CSV is missing or malformed
    gives an "error" row naming the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"--from {folder}: no such folder")
    checks = selected_checks(names)
    rows: list[Verdict] = []
    for name, path in checks.items():
        try:
            mod = load_check(path)
            if not hasattr(mod, "judge"):
                raise TypeError(f"proofs_checks/{name}.py has no judge(out_dir) function")
            rows += [replace(v, check=v.check or name) for v in mod.judge(folder)]
        except Exception as exc:  # noqa: BLE001 - reported as a row
            rows.append(Verdict(f"{name} judged", f"{type(exc).__name__}: {exc}", "-", "error", name, "judged"))
            if debug:
                traceback.print_exc(file=sys.stderr)
    return rows


def power_report(folder: Path, names: Sequence[str] | None = None) -> list[Verdict]:
    """The decided rows of :func:`judge_checks` on ``folder`` (power and size vs each row's nearest rival are in
    ``Verdict.power`` / ``Verdict.size``; exact rows leave them empty). Checks that ``folder``'s verdicts.json has
    never published (a new check of your own) are left out; a published check whose CSV is missing is an error."""
    import json

    published = None
    if (Path(folder) / "verdicts.json").is_file():
        published = {r["check"] for r in json.loads((Path(folder) / "verdicts.json").read_text())["rows"]}
    names = list(names or discover_checks())
    if published is not None:
        names = [n for n in names if n in published]
    return [r for r in judge_checks(folder, names) if r.verdict != "finding"] if names else []


class SelfTestRow(NamedTuple):
    """One row of :func:`self_test`: its verdicts on a table drawn under the claim and under the clear-cut
    ``alternative``; ``ok`` when they are "holds" and "violated"."""
    check: str
    row: str
    under_claim: str
    under_alternative: str
    ok: bool
    alternative: str


def self_test(names: Sequence[str] | None = None, seed: int = 0) -> list[SelfTestRow]:
    """Feed every row its synthetic tables (one drawn under its claim, one under its alternative)."""
    import numpy as np

    out = []
    for name, path in discover_checks().items():
        if names and name not in names:
            continue
        for row in getattr(load_check(path), "ROWS", []):
            v1 = row.decide(row.claim_table(np.random.default_rng(seed)))[0]
            v2 = row.decide(row.alt_table(np.random.default_rng(seed + 1)))[0]
            out.append(SelfTestRow(name, row.id, v1, v2, v1 == "holds" and v2 == "violated", row.alternative))
    return out


_TRAIN_SMOKE = [False]


@contextmanager
def smoke_training(train: bool = True) -> Iterator[None]:
    """Within this block a quick run's trained checks train their smoke sweeps (``verify --quick --train``);
    outside it (the default) they re-judge the published smoke-run CSVs: those runs decide no ER-factor row (most
    of their rows are below power 0.9 by design; the full run decides), and they would double the main job's time."""
    old = _TRAIN_SMOKE[0]
    _TRAIN_SMOKE[0] = bool(train)
    try:
        yield
    finally:
        _TRAIN_SMOKE[0] = old


def trains_smoke(quick: bool) -> bool:
    """Whether a check runs its trained sweeps: always on the full grid; on the quick grid only inside
    :func:`smoke_training` (``verify --quick --train``)."""
    return not quick or _TRAIN_SMOKE[0]


def published_smoke(out_dir: Path, csvs: Sequence[str]) -> None:
    """Bring the published quick smoke-run tables ``csvs`` (``figures/`` of the checkout, made by
    ``verify --quick --train``) into ``out_dir`` for a quick run that does not train, and draw each one's figure
    (the figure named as the CSV); a missing table is a FileNotFoundError naming it and ``--train``."""
    import shutil

    from .plotting import render

    src = repo_root() / "figures"
    for name in csvs:
        p, dest = src / name, Path(out_dir) / name
        if not p.is_file():
            raise FileNotFoundError(f"no published smoke-run table {p}: `lottery-theory verify --quick --train` "
                                    "trains the quick sweeps and writes it")
        if p.resolve() != dest.resolve():
            shutil.copyfile(p, dest)
        render(Path(name).stem, dest)


def mark_rejudged(rows: Sequence[Verdict], ids: Sequence[str] | None = None) -> list[Verdict]:
    """``rows`` with the rows ``ids`` (all when None) marked as re-judged from published CSVs (not retrained)."""
    return [replace(v, rejudged=True) if ids is None or v.row in ids else v for v in rows]


def repo_root() -> Path:
    """The checkout this package runs from (the package's parent, if it holds ``proofs_checks/`` and
    ``pyproject.toml``), else the working directory (an installed wheel: figures and results go there)."""
    here = Path(__file__).resolve().parent.parent
    if (here / "proofs_checks").is_dir() and (here / "pyproject.toml").is_file():
        return here
    return Path.cwd()


def checks_folder() -> Path:
    """``proofs_checks/`` of the checkout, else of the installed ``proofs_checks`` package (shipped in the
    wheel beside ``lottery_theory``)."""
    folder = repo_root() / "proofs_checks"
    if folder.is_dir():
        return folder
    spec = importlib.util.find_spec("proofs_checks")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    raise FileNotFoundError("no proofs_checks/ folder in the working directory and no installed proofs_checks "
                            "package; reinstall lottery-theory or run from a checkout")


CHECKS_ENV = "LOTTERY_THEORY_CHECKS"  # extra folders of check scripts (os.pathsep-separated), beside proofs_checks/


def discover_checks(root: Path | None = None) -> dict[str, Path]:
    """Every check script: ``proofs_checks/*.py`` of the checkout (or of ``root``), then those of the folders in
    ``$LOTTERY_THEORY_CHECKS`` (your own checks, run by ``verify`` like the built-in ones without editing the
    package). A name used twice is an error naming both files."""
    import os

    folder = root / "proofs_checks" if root is not None else checks_folder()
    if not folder.is_dir():
        raise FileNotFoundError(f"no proofs_checks/ folder under {folder.parent}")
    found = {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}
    for extra in filter(None, os.environ.get(CHECKS_ENV, "").split(os.pathsep)):
        if not Path(extra).is_dir():
            raise FileNotFoundError(f"${CHECKS_ENV} names {extra!r}, which is not a folder")
        for p in sorted(Path(extra).glob("*.py")):
            if p.name.startswith("_"):
                continue
            if p.stem in found:
                raise ValueError(f"check {p.stem!r} is defined twice: {found[p.stem]} and {p}")
            found[p.stem] = p
    return found


_LOADED: dict[Path, tuple[tuple, object]] = {}


def load_check(path: Path):
    """The check module at ``path``, executed once per process while the file is unchanged (a check may register
    figures or sweeps, which must not be registered twice)."""
    path = Path(path).resolve()
    st = path.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    if path in _LOADED and _LOADED[path][0] == stamp:
        return _LOADED[path][1]
    spec = importlib.util.spec_from_file_location(f"proofs_checks.{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    _LOADED[path] = (stamp, mod)
    return mod


def run_checks(names: Sequence[str] | None = None, *, quick: bool = True, out_dir: Path | None = None,
               progress: Callable | None = None, debug: bool = False) -> list[Verdict]:
    """Run the named checks (all by default); a check that raises gives an "error" row, not a crash. Each check's
    wall time goes to stderr as it finishes."""
    import time

    from tqdm import tqdm

    checks = selected_checks(names)
    out = Path(out_dir) if out_dir else repo_root() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Verdict] = []
    items = list(checks.items())
    for name, path in (progress(items) if progress else items):
        t0 = time.perf_counter()
        try:
            mod = load_check(path)
            for v in mod.check(quick=quick, out_dir=out):
                rows.append(replace(v, check=v.check or name))
        except Exception as exc:  # noqa: BLE001 - reported as a row
            rows.append(Verdict(f"{name} ran", f"{type(exc).__name__}: {exc}", "-", "error", name, "ran"))
            if debug:
                traceback.print_exc(file=sys.stderr)
            else:
                print(f"check {name} failed: {type(exc).__name__}: {exc} (--debug shows the traceback)",
                      file=sys.stderr)
        tqdm.write(f"check {name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)  # above the progress bar
    return rows


REJUDGED = " (published smoke run, re-judged)"  # the table's mark of a Verdict.rejudged row


def format_table(rows: Sequence[Verdict]) -> str:
    """Markdown: the verdict table (check | row | claim | measured | bound | seeds | verdict), then findings."""
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    ver = [r for r in rows if r.verdict != "finding"]
    fin = [r for r in rows if r.verdict == "finding"]
    out = "| check | row | claim | measured | bound (fixed in advance) | seeds | verdict |\n|---|---|---|---|---|---|---|\n"
    out += "".join(f"| {esc(r.check)} | {esc(r.row)} | {esc(r.claim)} | {esc(r.measured)} | {esc(r.bound)} | "
                   f"{esc(r.seeds)} | **{r.verdict}**{' (near the margin)' if r.near else ''}"
                   f"{REJUDGED if r.rejudged else ''} |\n" for r in ver)
    if any(r.rejudged for r in rows):
        out += ("\nRows marked \"published smoke run, re-judged\" (" + ", ".join(
            f"{r.check}/{r.row}" for r in rows if r.rejudged) + ") were decided from the published quick CSVs in "
            "figures/ (written by `verify --quick --train`), not retrained in this run; `lottery-theory verify "
            "--quick --train` retrains them (about 360 more core-seconds).\n")
    if fin:
        out += "\n### Findings (descriptive, no decision)\n\n| check | row | what | measured | note |\n|---|---|---|---|---|\n"
        out += "".join(f"| {esc(r.check)} | {esc(r.row)} | {esc(r.claim)} | {esc(r.measured)} | {esc(r.bound)}"
                       f"{REJUDGED if r.rejudged else ''} |\n" for r in fin)
    return out


def script_main(module_globals: dict) -> None:
    """Entry point for ``python proofs_checks/<name>.py [--full] [--out DIR]``."""
    import argparse

    ap = argparse.ArgumentParser(description=(module_globals.get("STATEMENT") or "").strip().split("\n")[0])
    ap.add_argument("--full", action="store_true", help="the large grids (default: quick)")
    ap.add_argument("--out", help="folder for CSVs and figures (default: figures/ of the checkout)")
    ap.add_argument("--train", action="store_true", help="quick grid: retrain the smoke runs (default: re-judge "
                    "their published CSVs in figures/)")
    ap.add_argument("--calibrate", action="store_true", help=argparse.SUPPRESS)  # subset_sum_lueker handles it
    args = ap.parse_args()
    quick = not args.full
    out = Path(args.out) if args.out else repo_root() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    print(module_globals["STATEMENT"].strip(), "\n")
    with smoke_training(args.train):
        rows = module_globals["check"](quick=quick, out_dir=out)
    print(format_table(rows))
    sys.exit(1 if any(r.verdict in ("violated", "error") for r in rows) else 0)


def as_dicts(rows: Sequence[Verdict]) -> list[dict]:
    return [asdict(r) for r in rows]


def write_outputs(rows: Sequence[Verdict], out: Path, mode: str, only: Sequence[str] | None = None) -> list[Verdict]:
    """Write ``verdicts.json`` and ``verdicts.md`` under ``out``. With ``only``, rows of those checks replace
    their old rows in an existing ``verdicts.json`` and every other check's rows are kept. Returns all rows."""
    import json

    Path(out).mkdir(parents=True, exist_ok=True)  # `verify --from DIR --out NEW` may name a folder not made yet
    path = Path(out) / "verdicts.json"
    rows = list(rows)
    if only and path.exists():
        old = json.loads(path.read_text())
        keep = [Verdict(**{k: r[k] for k in Verdict.__dataclass_fields__ if k in r})
                for r in old.get("rows", []) if r.get("check") not in set(only)]
        order = {n: i for i, n in enumerate(discover_checks())}
        rows = sorted(keep + rows, key=lambda r: order.get(r.check, len(order)))
        mode = old.get("mode", mode) if old.get("mode") == mode else "mixed"
    path.write_text(json.dumps({"mode": mode, "rows": as_dicts(rows)}, indent=1) + "\n")
    (Path(out) / "verdicts.md").write_text(f"# Verdicts ({mode} run)\n\n{format_table(rows)}")
    return rows


def document() -> str:
    """docs/verdicts.md: per check and row, the CSV it reads, the decision rule with its constants and the nearest
    rival, so that a referee can re-judge a published table by hand (``docs/build_verdicts.py`` writes it)."""
    from . import evidence

    out = ["# How every verdict row is decided\n",
           "Generated from the rows in `proofs_checks/` by `python docs/build_verdicts.py` (a test keeps it current). "
           "`lottery-theory verify --from DIR` re-decides every row from the CSVs in DIR (`figures/`, `figures/full` "
           "or a `verify --out` folder) without computing anything, and writes `verdicts.json` there.\n",
           "## Rules shared by the statistical rows\n", (evidence.__doc__ or "").strip() + "\n",
           "Seed-paired margin rows: the mean difference over seeds with its 95% Student-t interval; \"holds\" when "
           "the whole interval is at or above the margin and the power (P(holds) when the arms are equal, by "
           "simulation with the measured spread) is >= 0.9; \"violated\" when the whole interval is below the margin; "
           "the size is P(holds) when the difference sits exactly at the margin (the nearest rival).\n",
           "Exact rows: every case must pass (no sampling in the decision), so they hold or fail with certainty on "
           "the published table; they have no rival and no power. Calibrated rows compare a simulation with an "
           "exact value; their threshold is set by the false-alarm rate they state.\n",
           "Smoke runs: a plain `verify --quick` does not retrain the quick grids of `dst_er`, `prune_er` and the "
           "classification part of `edge_popup_er`; it copies their published CSVs from `figures/` and decides "
           "their rows by the same rules, marked \"published smoke run, re-judged\" (`rejudged` in verdicts.json). "
           "`verify --quick --train` retrains them; the full run always trains.\n"]
    for name, path in discover_checks().items():
        mod = load_check(path)
        rows = getattr(mod, "ROWS", [])
        if not rows:
            continue
        out.append(f"## `{name}`\n")
        for r in rows:
            out.append(f"### `{r.id}` ({r.kind})\n")
            out.append(f"- **Claim:** {r.claim}")
            out.append(f"- **Reads:** {r.source or '-'} (the table is built by `tables()`/`judge()` in "
                       f"`proofs_checks/{name}.py`)")
            out.append(f"- **Decision rule (fixed in advance):** {r.bound}")
            if r.rival:
                out.append(f"- **Nearest rival:** {r.rival}")
            if r.calibration:
                out.append(f"- **Calibration:** {r.calibration}")
            out.append(f"- **Clear-cut alternative of the self-test:** {r.alternative}\n")
    return "\n".join(out)


README_BEGIN = "<!-- verdict-table:begin (generated by `python docs/build_readme.py` from figures/ and figures/full) -->"
README_END = "<!-- verdict-table:end -->"


def readme_table(root: Path | None = None) -> str:
    """The README's verdict table, generated from the published ``verdicts.json`` of the quick run (``figures/``)
    and the full run (``figures/full``), so the README's verdicts cannot go stale (a test keeps it current): per
    row, the nearest rival, and the verdict with its power against that rival on each grid ("near": within the
    row's own noise of its threshold)."""
    import json

    root = repo_root() / "figures" if root is None else Path(root)

    def load(folder: Path) -> dict:
        f = folder / "verdicts.json"
        return {(r["check"], r["row"]): r for r in json.loads(f.read_text())["rows"]} if f.is_file() else {}

    def cell(r: dict | None) -> str:
        if r is None:
            return "–"
        v = f"**{r['verdict']}**" if r["verdict"] in ("holds", "violated") else r["verdict"]
        extra = [f"power {r['power']}"] if r.get("power") else []
        if r.get("near"):
            extra.append("near the margin")
        return v + (f" ({', '.join(extra)})" if extra else "")

    quick, full = load(root), load(root / "full")
    keys = list(dict.fromkeys(list(quick) + list(full)))
    lines = [README_BEGIN, "",
             "| check / row | nearest rival | quick run (`figures/`) | full run (`figures/full/`) |",
             "|---|---|---|---|"]
    for k in keys:
        r = full.get(k) or quick.get(k)
        rival = (r.get("rival") or "–").replace("|", "\\|")
        lines.append(f"| `{k[0]}` / `{k[1]}` | {rival} | {cell(quick.get(k))} | {cell(full.get(k))} |")
    n_full = {v: sum(r["verdict"] == v for r in full.values()) for v in ("holds", "violated", "inconclusive",
                                                                         "finding")}
    lines += ["", "A dash in the rival column: an exact or calibrated row (every case must pass; no rival, no power) or "
              "a finding (a measurement reported without a verdict). " + f"Full run: {n_full['holds']} hold, {n_full['violated']} violated, {n_full['inconclusive']} "
              f"inconclusive, {n_full['finding']} findings. "
              "`docs/verdicts.md` gives each row's claim, CSV and decision rule; `lottery-theory verify --from "
              "figures/full` re-judges them from the CSVs in seconds.", "", README_END]
    return "\n".join(lines)


def update_readme(readme: Path, root: Path | None = None) -> bool:
    """Replace the generated block of ``readme`` (between the markers) by :func:`readme_table`; True if it
    changed. A README without the markers is an error naming them."""
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise ValueError(f"{readme} has no generated verdict block (markers {README_BEGIN!r} ... {README_END!r})")
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    new = head + readme_table(root) + tail
    if new != text:
        readme.write_text(new)
    return new != text
