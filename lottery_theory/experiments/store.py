"""Content-addressed result store: ``<root>/<experiment>/<hash>/{config.json, rows.csv, manifest.json}``.

Writes are atomic: each file is written to a temporary name in the same folder and renamed (``os.replace``),
``manifest.json`` last. A result counts as done only when its manifest matches what is on disk: the SHA-256
and row count of ``rows.csv``, the SHA-256 of ``config.json``, and a config whose hash is the folder's name.
Anything else (a missing or edited file, a truncated ``rows.csv``, a renamed folder, another config's
``config.json``) is *damaged*: :meth:`ResultStore.problems` reports it, ``load`` leaves it out with a
warning, and a sweep recomputes it. A per-config lock (``.lock``, :mod:`filelock`) lets two sweeps on one
store share the work, and stale ``*.tmp`` files (from a killed writer) are removed under that lock.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from filelock import FileLock

from .config import ExperimentConfig, config_from_stored, config_hash


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha256(path: Path) -> str:
    return _digest(path.read_bytes())


class ResultStore:
    """Finished results by config; ``load`` joins every row with its config's fields."""

    def __init__(self, root: str | Path = "results") -> None:
        self.root = Path(root)

    def folder(self, cfg: ExperimentConfig) -> Path:
        return self.root / type(cfg).experiment / config_hash(cfg)

    def lock(self, cfg: ExperimentConfig, timeout: float = -1) -> FileLock:
        """The config's lock (``timeout=-1``: wait; ``0``: fail at once with ``filelock.Timeout``)."""
        folder = self.folder(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        return FileLock(str(folder / ".lock"), timeout=timeout)

    def _inspect(self, folder: Path, experiment: str | None = None):
        """``(problem, config, rows.csv bytes)`` of a result folder, each file read once; ``problem`` is None
        for a finished, intact result (then the config and the rows are returned too)."""
        manifest, rows, cfg_path = folder / "manifest.json", folder / "rows.csv", folder / "config.json"
        if not manifest.exists():
            return "incomplete: no manifest.json (the writer stopped before the end)", None, None
        try:
            m = json.loads(manifest.read_text())
            cfg_bytes = cfg_path.read_bytes()
            cfg = config_from_stored(experiment or folder.parent.name, json.loads(cfg_bytes)["config"])
        except FileNotFoundError as e:
            return f"damaged: {Path(e.filename).name} is missing", None, None
        except (ValueError, KeyError, TypeError) as e:
            return f"damaged: unreadable manifest or config ({type(e).__name__}: {e})", None, None
        if config_hash(cfg) != folder.name:
            return f"damaged: config.json describes config {config_hash(cfg)}, not this folder's {folder.name}", \
                None, None
        if not rows.exists():
            return "damaged: rows.csv is missing", None, None
        if _digest(cfg_bytes) != m.get("config_sha256"):
            return "damaged: config.json does not match its manifest", None, None
        raw = rows.read_bytes()
        if _digest(raw) != m.get("rows_sha256"):
            return "damaged: rows.csv does not match its manifest (edited or truncated)", None, None
        return None, cfg, raw

    def problem(self, folder: Path, experiment: str | None = None) -> str | None:
        """Why ``folder`` is not a finished, intact result (None: it is)."""
        return self._inspect(folder, experiment)[0]

    def done(self, cfg: ExperimentConfig) -> bool:
        folder = self.folder(cfg)
        return folder.is_dir() and self.problem(folder, type(cfg).experiment) is None

    def _folders(self, experiment: str) -> list[Path]:
        """The result folders of ``experiment`` (hidden ones, e.g. ``.damaged``, excluded); the name must be a
        plain experiment name (``..`` or a path would read outside the store)."""
        if not isinstance(experiment, str) or not experiment or experiment.startswith(".") or "/" in experiment \
                or "\\" in experiment:
            raise ValueError(f"experiment must be an experiment name (e.g. 'ticket'), got {experiment!r}")
        base = self.root / experiment
        return sorted(f for f in base.glob("*/") if not f.name.startswith(".")) if base.exists() else []

    def problems(self, experiment: str) -> dict[str, str]:
        """Folder name -> problem, for every result folder of ``experiment`` that is not intact."""
        out = {}
        for folder in self._folders(experiment):
            why = self.problem(folder, experiment)
            if why is not None:
                out[folder.name] = why
        return out

    def clean_tmp(self, cfg: ExperimentConfig) -> int:
        """Remove leftover ``*.tmp`` files of ``cfg``'s folder; call with the config's lock held."""
        n = 0
        for tmp in self.folder(cfg).glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
            n += 1
        return n

    def write(self, cfg: ExperimentConfig, rows: list[dict]) -> Path:
        if not rows:
            raise ValueError("an experiment must return at least one row")
        folder = self.folder(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").unlink(missing_ok=True)  # from here until the end the result is not done
        _atomic_write(folder / "config.json", json.dumps({"experiment": type(cfg).experiment, "hash": config_hash(cfg),
                                                          "config": cfg.stored_dict()}, indent=2, sort_keys=True))
        _atomic_write(folder / "rows.csv", pd.DataFrame(rows).to_csv(index=False))
        _atomic_write(folder / "manifest.json", json.dumps({
            "hash": config_hash(cfg), "rows": len(rows), "rows_sha256": _sha256(folder / "rows.csv"),
            "config_sha256": _sha256(folder / "config.json"), "pid": os.getpid()}, indent=2, sort_keys=True))
        return folder

    def read(self, cfg: ExperimentConfig) -> pd.DataFrame:
        return pd.read_csv(self.folder(cfg) / "rows.csv")

    def load(self, experiment: str) -> pd.DataFrame:
        """All intact results of ``experiment``: rows joined with config fields and the hash. Damaged or
        incomplete folders are left out with one warning listing them (a sweep recomputes them)."""
        frames = []
        bad = {}
        base = self.root / experiment
        for folder in self._folders(experiment):
            why, cfg, raw = self._inspect(folder, experiment)
            if why is not None:
                bad[folder.name] = why
                continue
            df = pd.read_csv(io.BytesIO(raw))
            for k, v in cfg.to_dict().items():
                if k not in df.columns:
                    df[k] = [v] * len(df) if not isinstance(v, list) else [tuple(v)] * len(df)
            df["hash"] = folder.name  # checked: the config in config.json hashes to the folder's name
            frames.append(df)
        if bad:
            moved = self._quarantine(base, bad)
            warnings.warn(f"{len(bad)} damaged or incomplete result(s) of {experiment!r} under {self.root} left out "
                          f"(a sweep recomputes them): " + "; ".join(f"{k}: {v}" for k, v in sorted(bad.items()))
                          + (f"; moved to {base / '.damaged'} (kept, not read again)" if moved else ""), stacklevel=2)
        if not frames:
            raise FileNotFoundError(f"no finished results for experiment {experiment!r} under {self.root}")
        return pd.concat(frames, ignore_index=True)


    @staticmethod
    def _quarantine(base: Path, bad: dict) -> bool:
        """Move damaged folders that have a manifest and no writer holding their lock (an edited, broken or renamed
        result) to ``base/.damaged/`` so that they warn once, not on every load; nothing is deleted. Incomplete
        folders (no manifest: killed or in progress) stay, a sweep recomputes them in place. Returns whether any
        moved."""
        from filelock import Timeout

        moved = False
        for name in bad:
            src = base / name
            if not (src / "manifest.json").exists():
                continue  # incomplete (killed or in progress): a sweep recomputes it in place
            dst = base / ".damaged" / name
            try:
                with FileLock(str(src / ".lock"), timeout=0):  # no writer is redoing it right now
                    dst.parent.mkdir(exist_ok=True)
                    if dst.exists():
                        dst = dst.with_name(f"{name}.{os.getpid()}")
                    os.replace(src, dst)
                moved = True
            except (OSError, Timeout):  # a read-only store, or a writer holds it: keep warning, change nothing
                pass
        return moved


def default_store() -> ResultStore:
    """``$LOTTERY_THEORY_RESULTS`` or ``results/`` beside ``proofs_checks/``."""
    env = os.environ.get("LOTTERY_THEORY_RESULTS")
    if env:
        return ResultStore(env)
    from ..verdicts import repo_root
    return ResultStore(repo_root() / "results")


def results_root(given: str | None = None) -> str:
    """``--results`` if given, else ``$LOTTERY_THEORY_RESULTS``, else ``./results``."""
    import os

    return given or os.environ.get("LOTTERY_THEORY_RESULTS") or "results"
