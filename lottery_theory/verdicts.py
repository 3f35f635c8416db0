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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

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

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def finding(row: str, claim: str, measured: str, note: str = "-", seeds: str = "") -> Verdict:
    """A descriptive result (no threshold, cannot fail): reported under "Findings", never as a verdict."""
    return Verdict(claim, measured, note, "finding", row=row, seeds=seeds)


@dataclass(frozen=True)
class Row:
    """A decision row. ``decide(table) -> (verdict, measured, extras)`` is pure (extras: optional ``seeds``,
    ``interval``); ``claim_table(rng)`` / ``alt_table(rng)`` make synthetic tables under the claim and under
    ``alternative``; ``bound`` states the fixed threshold and its rationale."""
    id: str
    claim: str
    bound: str
    decide: Callable
    claim_table: Callable
    alt_table: Callable
    alternative: str

    def judge(self, table, check: str = "") -> Verdict:
        verdict, measured, extra = self.decide(table)
        return Verdict(self.claim, measured, self.bound, verdict, check, self.id, str(extra.get("seeds", "")),
                       str(extra.get("interval", "")))


def mean_interval(x, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval of ``x`` (needs >= 2 values)."""
    import numpy as np
    from scipy import stats

    x = np.asarray(x, float)
    if x.size < 2:
        raise ValueError(f"an interval needs >= 2 seeds, got {x.size}")
    m = float(x.mean())
    h = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - h, m + h


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


def seeds_of(table) -> str:
    """The seeds a results table rests on, as ``"0,1,2"`` (empty when it has no ``seed`` column)."""
    return ",".join(str(int(s)) for s in sorted(table["seed"].unique())) if "seed" in table else ""


def slope_band(x, step: float) -> float:
    """Worst error of the least-squares slope of ``y`` on ``x`` when every ``y`` is off by at most ``step``
    (a grid's resolution): :math:`\\text{step} \\sum_i |x_i - \\bar x| / \\sum_i (x_i - \\bar x)^2`."""
    import numpy as np

    xc = np.asarray(x, float) - np.mean(x)
    return float(np.abs(xc).sum() * step / (xc ** 2).sum())


def paired_margin(a, b, margin: float) -> tuple[str, float, float, float]:
    """Claim ``a - b >= margin`` on seed-paired values (``a``, ``b``: Series indexed by seed): the verdict of
    :func:`margin_verdict` on the 95% t-interval of the mean difference; returns (verdict, mean, lo, hi)."""
    d = (a - b).dropna()
    m, lo, hi = mean_interval(d.to_numpy())
    return margin_verdict(lo, hi, margin), m, lo, hi


def paired_power(d, margin: float, n_sim: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Power and size of :func:`paired_margin`'s decision on ``len(d)`` seeds with the measured noise (the sample
    standard deviation of the seed-paired differences ``d``): the share of simulated tables that "hold" when the
    true mean difference is 0 (no gap: the claim), and when it sits exactly at ``margin`` (the nearest rival: a gap
    as large as the claim tolerates). Normal noise; ``seed`` fixes the simulation."""
    import numpy as np
    from scipy import stats

    d = np.asarray(d, float)
    n = d.size
    if n < 2:
        raise ValueError(f"power needs >= 2 seeds, got {n}")
    sd = max(float(d.std(ddof=1)), 1e-12)
    rng = np.random.default_rng(seed)
    q = stats.t.ppf(0.975, n - 1)

    def holds(mu: float) -> float:
        x = rng.normal(mu, sd, size=(n_sim, n))
        lo = x.mean(1) - q * x.std(1, ddof=1) / np.sqrt(n)
        return float((lo >= margin).mean())

    return holds(0.0), holds(margin)


def powered(verdict: str, power: float, floor: float = 0.9) -> str:
    """A "holds" whose power against the nearest rival is below ``floor`` is only "inconclusive"."""
    return "inconclusive" if verdict == "holds" and power < floor else verdict


def combine(verdicts: Sequence[str]) -> str:
    """Several sub-claims of one row: "violated" if any is, "holds" if all do, else "inconclusive"."""
    if "violated" in verdicts:
        return "violated"
    return "holds" if all(v == "holds" for v in verdicts) else "inconclusive"


def self_test(names: Sequence[str] | None = None, seed: int = 0) -> list[tuple[str, str, str, str, bool]]:
    """Feed every row its synthetic tables: ``(check, row, verdict under claim, verdict under alternative, ok)``."""
    import numpy as np

    out = []
    for name, path in discover_checks().items():
        if names and name not in names:
            continue
        for row in getattr(load_check(path), "ROWS", []):
            v1 = row.decide(row.claim_table(np.random.default_rng(seed)))[0]
            v2 = row.decide(row.alt_table(np.random.default_rng(seed + 1)))[0]
            out.append((name, row.id, v1, v2, v1 == "holds" and v2 == "violated", row.alternative))
    return out


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


def discover_checks(root: Path | None = None) -> dict[str, Path]:
    folder = root / "proofs_checks" if root is not None else checks_folder()
    if not folder.is_dir():
        raise FileNotFoundError(f"no proofs_checks/ folder under {folder.parent}")
    return {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}


def load_check(path: Path):
    spec = importlib.util.spec_from_file_location(f"proofs_checks.{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run_checks(names: Sequence[str] | None = None, *, quick: bool = True, out_dir: Path | None = None,
               progress: Callable | None = None, debug: bool = False) -> list[Verdict]:
    """Run the named checks (all by default); a check that raises gives an "error" row, not a crash."""
    checks = discover_checks()
    if names:
        missing = sorted(set(names) - set(checks))
        if missing:
            raise ValueError(f"unknown check(s) {missing}; available: {', '.join(checks)}")
        checks = {k: v for k, v in checks.items() if k in names}
    out = Path(out_dir) if out_dir else repo_root() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    rows: list[Verdict] = []
    items = list(checks.items())
    for name, path in (progress(items) if progress else items):
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
    return rows


def format_table(rows: Sequence[Verdict]) -> str:
    """Markdown: the verdict table (check | row | claim | measured | bound | seeds | verdict), then findings."""
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    ver = [r for r in rows if r.verdict != "finding"]
    fin = [r for r in rows if r.verdict == "finding"]
    out = "| check | row | claim | measured | bound (fixed in advance) | seeds | verdict |\n|---|---|---|---|---|---|---|\n"
    out += "".join(f"| {esc(r.check)} | {esc(r.row)} | {esc(r.claim)} | {esc(r.measured)} | {esc(r.bound)} | "
                   f"{esc(r.seeds)} | **{r.verdict}** |\n" for r in ver)
    if fin:
        out += "\n### Findings (descriptive, no decision)\n\n| check | row | what | measured | note |\n|---|---|---|---|---|\n"
        out += "".join(f"| {esc(r.check)} | {esc(r.row)} | {esc(r.claim)} | {esc(r.measured)} | {esc(r.bound)} |\n"
                       for r in fin)
    return out


def script_main(module_globals: dict) -> None:
    """Entry point for ``python proofs_checks/<name>.py [--full]``."""
    quick = "--full" not in sys.argv[1:]
    out = repo_root() / "figures"
    out.mkdir(exist_ok=True)
    print(module_globals["STATEMENT"].strip(), "\n")
    rows = module_globals["check"](quick=quick, out_dir=out)
    print(format_table(rows))
    sys.exit(1 if any(r.verdict in ("violated", "error") for r in rows) else 0)


def as_dicts(rows: Sequence[Verdict]) -> list[dict]:
    return [asdict(r) for r in rows]


def write_outputs(rows: Sequence[Verdict], out: Path, mode: str, only: Sequence[str] | None = None) -> list[Verdict]:
    """Write ``verdicts.json`` and ``verdicts.md`` under ``out``. With ``only``, rows of those checks replace
    their old rows in an existing ``verdicts.json`` and every other check's rows are kept. Returns all rows."""
    import json

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
