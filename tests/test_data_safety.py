"""Data files are read safely (issue 15): CIFAR pickles through a restricted unpickler (a crafted file cannot
run code), damaged IDX files and mismatched counts give one clear ValueError."""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from lottery_theory.data import load


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _cifar_dir(tmp_path, n=4):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"labels": list(range(n))}
        (d / name).write_bytes(pickle.dumps(batch))
    return d


def test_cifar_batches_load_through_the_safe_unpickler(tmp_path):
    _cifar_dir(tmp_path)
    s = load("cifar10", root=tmp_path, generator=torch.Generator().manual_seed(0))
    assert s.train[0].shape[1:] == (3, 32, 32) and len(s.test[0]) == 4
    assert len(s.train[0]) + len(s.val[0]) == 20


def test_a_crafted_cifar_pickle_cannot_run_code(tmp_path, monkeypatch):
    d = _cifar_dir(tmp_path)
    (d / "data_batch_3").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="refusing to load global (posix|os).system"):
        load("cifar10", root=tmp_path)
    assert not (tmp_path / "pwned").exists()
    (d / "data_batch_3").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="data_batch_3"):
        load("cifar10", root=tmp_path)
    with pytest.raises(TypeError, match="trust must be a bool"):
        load("cifar10", root=tmp_path, trust="yes")


def _idx(path, arr, gz=False):
    head = struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = head + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_damaged_or_mismatched_mnist_files(tmp_path):
    imgs, labels = np.zeros((10, 28, 28)), np.arange(10) % 10
    for stem, a in (("train-images-idx3-ubyte", imgs), ("train-labels-idx1-ubyte", labels),
                    ("t10k-images-idx3-ubyte", imgs[:5]), ("t10k-labels-idx1-ubyte", labels[:5])):
        _idx(tmp_path / stem, a)
    assert len(load("mnist", root=tmp_path).test[0]) == 5
    _idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:4])
    with pytest.raises(ValueError, match="test files disagree: 5 images but 4 labels"):
        load("mnist", root=tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="damaged"):
        load("mnist", root=tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="too short"):
        load("mnist", root=tmp_path)


def test_loops_terminate_on_bad_parameters():
    # each of these used to loop until memory ran out (issue 15); now a ValueError naming the argument
    from lottery_theory.bounds import lower_bound_width, min_density
    from lottery_theory.experiments import run_sweep
    from lottery_theory.experiments.sweep import sweep_from_spec
    from lottery_theory.search.prune import imp_schedule

    for call, msg in [(lambda: imp_schedule(0.5, 0), "density must lie in"),
                      (lambda: imp_schedule(0.5, -0.1), "density must lie in"),
                      (lambda: imp_schedule(0.2, 0.5), "must not exceed start"),
                      (lambda: min_density([4, 8, 1], 10**6, 0.01, 0.01, tol=0), "tol must be"),
                      (lambda: lower_bound_width(784, 0.01, 1e-6, output_density=0.5), "beyond the exact"),
                      (lambda: run_sweep(sweep_from_spec(BUILTIN_SELFTEST), executor="dask", workers=0),
                       "workers must be a positive integer")]:
        with pytest.raises(ValueError, match=msg):
            call()


BUILTIN_SELFTEST = {"experiment": "selftest", "grid": {"seed": [0]}}


def test_idx_bombs_are_refused_from_the_header(tmp_path):
    """A header declaring 65535 x 65535 x 4 bytes (16 GiB) is refused before any data are read; a gzip whose
    header declares 10 bytes but which inflates to 256 MiB is refused after reading 11 bytes of it."""
    import gzip
    import struct
    import time

    from lottery_theory.data.core import read_idx

    big = tmp_path / "big-idx3-ubyte"
    big.write_bytes(struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 65535, 65535, 4))
    with pytest.raises(ValueError, match="more than the limit"):
        read_idx(big)
    bomb = tmp_path / "bomb-idx1-ubyte.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as f:
        f.write(struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 10))
        for _ in range(16):
            f.write(bytes(16 << 20))
    t = time.perf_counter()
    with pytest.raises(ValueError, match="holds more bytes than that"):
        read_idx(bomb)
    assert time.perf_counter() - t < 30  # ~1 ms measured: it never inflates the 256 MiB
