"""Content-addressed result store: ``<root>/<experiment>/<hash>/{config.json, rows.csv}``.

Writes are atomic: each file is written to a temporary name in the same folder and renamed
(``os.replace``), ``rows.csv`` last, so a folder with ``rows.csv`` is a finished result and a
SIGKILL at any moment leaves either nothing or a complete result.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from .config import ExperimentConfig, config_from_dict, config_hash


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


class ResultStore:
    """Finished results by config; ``load`` joins every row with its config's fields."""

    def __init__(self, root: str | Path = "results") -> None:
        self.root = Path(root)

    def folder(self, cfg: ExperimentConfig) -> Path:
        return self.root / type(cfg).experiment / config_hash(cfg)

    def done(self, cfg: ExperimentConfig) -> bool:
        return (self.folder(cfg) / "rows.csv").exists()

    def write(self, cfg: ExperimentConfig, rows: list[dict]) -> Path:
        if not rows:
            raise ValueError("an experiment must return at least one row")
        folder = self.folder(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "config.json", json.dumps({"experiment": type(cfg).experiment, "hash": config_hash(cfg),
                                                          "config": cfg.to_dict()}, indent=2, sort_keys=True))
        _atomic_write(folder / "rows.csv", pd.DataFrame(rows).to_csv(index=False))
        return folder

    def read(self, cfg: ExperimentConfig) -> pd.DataFrame:
        return pd.read_csv(self.folder(cfg) / "rows.csv")

    def load(self, experiment: str) -> pd.DataFrame:
        """All finished results of ``experiment``: rows joined with config fields and the hash."""
        frames = []
        base = self.root / experiment
        for folder in sorted(base.glob("*/")) if base.exists() else []:
            rows_path, cfg_path = folder / "rows.csv", folder / "config.json"
            if not rows_path.exists() or not cfg_path.exists():
                continue
            meta = json.loads(cfg_path.read_text())
            cfg = config_from_dict(experiment, meta["config"])
            df = pd.read_csv(rows_path)
            for k, v in cfg.to_dict().items():
                if k not in df.columns:
                    df[k] = [v] * len(df) if not isinstance(v, list) else [tuple(v)] * len(df)
            df["hash"] = meta["hash"]
            frames.append(df)
        if not frames:
            raise FileNotFoundError(f"no finished results for experiment {experiment!r} under {self.root}")
        return pd.concat(frames, ignore_index=True)


def default_store() -> ResultStore:
    """``$LOTTERY_THEORY_RESULTS`` or ``results/`` beside ``proofs_checks/``."""
    env = os.environ.get("LOTTERY_THEORY_RESULTS")
    if env:
        return ResultStore(env)
    from ..verdicts import repo_root
    return ResultStore(repo_root() / "results")
