"""Verdict records and discovery of the scripts in ``proofs_checks/``.

Each script in ``proofs_checks/`` defines ``STATEMENT`` (a string) and
``check(quick: bool, out_dir: Path) -> list[Verdict]``; run as a script it
prints its statement and verdicts and exits 1 when any verdict is "violated".
"""
from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

VERDICTS = ("holds", "violated", "inconclusive", "error")


@dataclass(frozen=True)
class Verdict:
    """One row of the verdict table: a claim, what was measured, the bound it is held to, the verdict."""
    claim: str
    measured: str
    bound: str
    verdict: str
    check: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def repo_root() -> Path:
    """The checkout that holds ``proofs_checks/`` (the package's parent), else the working directory."""
    here = Path(__file__).resolve().parent.parent
    if (here / "proofs_checks").is_dir():
        return here
    return Path.cwd()


def discover_checks(root: Path | None = None) -> dict[str, Path]:
    folder = (root or repo_root()) / "proofs_checks"
    if not folder.is_dir():
        raise FileNotFoundError(f"no proofs_checks/ folder under {folder.parent}; run from a checkout of lottery-theory")
    return {p.stem: p for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")}


def load_check(path: Path):
    spec = importlib.util.spec_from_file_location(f"proofs_checks.{path.stem}", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run_checks(names: Sequence[str] | None = None, *, quick: bool = True, out_dir: Path | None = None,
               progress: Callable | None = None) -> list[Verdict]:
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
                rows.append(Verdict(v.claim, v.measured, v.bound, v.verdict, v.check or name))
        except Exception as exc:  # noqa: BLE001 - reported as a row
            rows.append(Verdict(f"{name} ran", f"{type(exc).__name__}: {exc}", "-", "error", name))
            traceback.print_exc(file=sys.stderr)
    return rows


def format_table(rows: Sequence[Verdict]) -> str:
    """A Markdown table: check | claim | measured | bound | verdict."""
    head = "| check | claim | measured | bound | verdict |\n|---|---|---|---|---|\n"
    esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return head + "\n".join(f"| {esc(r.check)} | {esc(r.claim)} | {esc(r.measured)} | {esc(r.bound)} | **{r.verdict}** |"
                            for r in rows) + "\n"


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
