"""Targets in and out: a safe checkpoint format for ``nn.Sequential`` targets (architecture spec + state_dict).

``save_target(model, path)`` writes ``{"format": FORMAT, "layers": [...], "state_dict": {...}}`` with
``torch.save``; ``load_target(path)`` reads it with ``torch.load(weights_only=True)`` (tensors, lists and
numbers only: nothing in the file can run code) and rebuilds the module from the spec. A file holding a
whole pickled module is refused unless ``trust=True`` (unpickling runs whatever the file contains).

Spec entries: ``["Linear", in, out, bias]``, ``["Conv2d", in, out, [kh, kw], [sh, sw], [ph, pw], bias]``,
``["ReLU"]``, ``["Flatten"]``, ``["MaxPool2d", k, stride]``, ``["AvgPool2d", k, stride]``, ``["Identity"]``.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

FORMAT = "lottery-theory/sequential-v1"


def target_spec(model: nn.Module) -> list:
    """The architecture of ``model`` as plain lists (see the module docstring); a module other than
    ``nn.Sequential`` must compute one chain of layers (:func:`~lottery_theory.nets.chain.as_sequential`)."""
    from .chain import as_sequential

    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    model = as_sequential(model)
    spec = []
    for m in model:
        if isinstance(m, nn.Linear):
            spec.append(["Linear", m.in_features, m.out_features, m.bias is not None])
        elif isinstance(m, nn.Conv2d):
            if m.groups != 1 or m.dilation != (1, 1) or isinstance(m.padding, str):
                raise ValueError("conv layers must have groups=1, dilation=1 and numeric padding")
            spec.append(["Conv2d", m.in_channels, m.out_channels, list(m.kernel_size), list(m.stride),
                         list(m.padding), m.bias is not None])
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
            spec.append([type(m).__name__, m.kernel_size, m.stride])
        elif isinstance(m, nn.LeakyReLU):
            spec.append(["LeakyReLU", float(m.negative_slope)])
        elif isinstance(m, (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.Flatten, nn.Identity)):
            spec.append([type(m).__name__])
        else:
            raise TypeError(f"cannot describe a {type(m).__name__} layer (Linear, Conv2d, ReLU, Tanh, Sigmoid, "
                            f"LeakyReLU, Flatten, pooling only)")
    return spec


_SPEC_ARGS = {"Linear": 3, "Conv2d": 6, "MaxPool2d": 2, "AvgPool2d": 2, "ReLU": 0, "Tanh": 0, "Sigmoid": 0,
              "LeakyReLU": 1, "Flatten": 0, "Identity": 0}
MAX_PARAMS = 2**31  # ~8 GiB of float32: a spec declaring more is refused before anything is allocated


def _pos_int(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ValueError(f"{what} must be a positive integer, got {v!r}")
    return v


def _pair(v, what: str, zero_ok: bool = False) -> tuple[int, int]:
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise ValueError(f"{what} must be a pair [a, b], got {v!r}")
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int) or x < (0 if zero_ok else 1):
            raise ValueError(f"{what} must hold {'non-negative' if zero_ok else 'positive'} integers, got {v!r}")
    return int(v[0]), int(v[1])


def _flag(v, what: str) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{what} must be true or false, got {v!r}")
    return v


def check_spec(spec) -> int:
    """Validate an architecture spec without allocating anything; returns its parameter count. Every entry must
    have exactly its kind's fields with their types (positive ints, ``[a, b]`` pairs, booleans)."""
    if not isinstance(spec, list) or not spec:
        raise ValueError("spec must be a non-empty list of layer entries")
    n_params = 0
    for i, entry in enumerate(spec):
        if not isinstance(entry, (list, tuple)) or not entry or not isinstance(entry[0], str):
            raise ValueError(f"spec entry {i} must be a list starting with a layer kind, got {entry!r}")
        kind, args = entry[0], list(entry[1:])
        if kind not in _SPEC_ARGS:
            raise ValueError(f"spec entry {i}: unknown layer kind {kind!r} (known: {', '.join(_SPEC_ARGS)})")
        if len(args) != _SPEC_ARGS[kind]:
            raise ValueError(f"spec entry {i} ({kind}) needs {_SPEC_ARGS[kind]} fields after the kind, got {len(args)}: "
                             f"{entry!r}")
        at = f"spec entry {i} ({kind})"
        if kind == "Linear":
            a, b = _pos_int(args[0], f"{at} in_features"), _pos_int(args[1], f"{at} out_features")
            n_params += a * b + (b if _flag(args[2], f"{at} bias") else 0)
        elif kind == "Conv2d":
            a, b = _pos_int(args[0], f"{at} in_channels"), _pos_int(args[1], f"{at} out_channels")
            kh, kw = _pair(args[2], f"{at} kernel_size")
            _pair(args[3], f"{at} stride")
            _pair(args[4], f"{at} padding", zero_ok=True)
            n_params += a * b * kh * kw + (b if _flag(args[5], f"{at} bias") else 0)
        elif kind == "LeakyReLU":
            v = args[0]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise ValueError(f"{at} negative_slope must be a number in [0, 1], got {v!r}")
        elif kind in ("MaxPool2d", "AvgPool2d"):
            for j, name in enumerate(("kernel_size", "stride")):
                v = args[j]
                if isinstance(v, (list, tuple)):
                    _pair(v, f"{at} {name}")
                else:
                    _pos_int(v, f"{at} {name}")
    if n_params > MAX_PARAMS:
        raise ValueError(f"spec declares {n_params:,} parameters, more than the limit {MAX_PARAMS:,}")
    return n_params


def build_target(spec: list, device: str | torch.device | None = None) -> nn.Sequential:
    """An ``nn.Sequential`` of plain layers from a spec (checked first by :func:`check_spec`; weights
    uninitialised: load a state_dict next). ``device="meta"`` allocates nothing."""
    check_spec(spec)
    mods = []
    for entry in spec:
        kind, args = entry[0], list(entry[1:])
        if kind == "Linear":
            mods.append(nn.Linear(args[0], args[1], bias=args[2], device=device))
        elif kind == "Conv2d":
            mods.append(nn.Conv2d(args[0], args[1], tuple(args[2]), stride=tuple(args[3]), padding=tuple(args[4]),
                                  bias=args[5], device=device))
        elif kind in ("MaxPool2d", "AvgPool2d"):
            mods.append(getattr(nn, kind)(*(tuple(a) if isinstance(a, list) else a for a in args)))
        elif kind == "LeakyReLU":
            mods.append(nn.LeakyReLU(float(args[0])))
        else:
            mods.append(getattr(nn, kind)())
    return nn.Sequential(*mods)


MAX_FILE_BYTES_ENV = "LOTTERY_THEORY_MAX_CHECKPOINT_BYTES"
MAX_RATIO = 16  # decompressed / on-disk size accepted beyond 64 MiB (torch.save stores its entries uncompressed)


def _byte_limit() -> int:
    """Largest decompressed checkpoint accepted: ``$LOTTERY_THEORY_MAX_CHECKPOINT_BYTES`` or half the available
    memory."""
    import os

    from .._validation import available_memory

    raw = os.environ.get(MAX_FILE_BYTES_ENV)
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"${MAX_FILE_BYTES_ENV} must be an integer number of bytes, got {raw!r}") from None
    return available_memory() // 2


def safe_torch_load(path: Path, *, trust: bool = False):
    """``torch.load`` after checking the file: a zip archive (torch's format since 1.6) whose declared,
    decompressed entry sizes sum to at most :func:`_byte_limit` and to at most ``MAX_RATIO`` times the file size
    plus 64 MiB (a decompression bomb is refused from its directory, before anything is inflated);
    ``weights_only`` unless ``trust``."""
    import zipfile

    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a torch zip archive (torch.save's format since torch 1.6; the legacy format "
                         "declares sizes that cannot be checked before allocating): re-save it with torch.save")
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path} is a damaged zip archive ({e})") from None
    limit = _byte_limit()
    if total > limit:
        raise ValueError(f"{path} declares {total:,} bytes once decompressed, more than the limit {limit:,} "
                         f"(half the available memory, or ${MAX_FILE_BYTES_ENV})")
    ratio_cap = MAX_RATIO * path.stat().st_size + (64 << 20)
    if total > ratio_cap:  # torch.save stores entries uncompressed: a high ratio is a decompression bomb
        raise ValueError(f"{path} declares {total:,} bytes once decompressed from {path.stat().st_size:,} on disk, "
                         f"more than the limit {ratio_cap:,} ({MAX_RATIO}x the file + 64 MiB; torch.save does not "
                         "compress, so this is a decompression bomb or not torch's file)")
    return torch.load(path, map_location="cpu", weights_only=not trust)


def _fill(model: nn.Module, state_dict: dict, what: str) -> nn.Module:
    """Load ``state_dict`` into a meta-device ``model`` by assignment: keys and shapes are compared first (one
    error naming every missing, unexpected and mis-shaped key), then the tensors are taken as they are (nothing
    is allocated beyond what the file holds); float tensors must be finite."""
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    bad_types = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    if bad_types:
        raise ValueError(f"{what}: entries {bad_types[:5]} are not tensors")
    missing = sorted(set(want) - set(state_dict))
    extra = sorted(set(state_dict) - set(want))
    shapes = [f"{k}: {tuple(state_dict[k].shape)} (spec {want[k]})" for k in want
              if k in state_dict and tuple(state_dict[k].shape) != want[k]]
    if missing or extra or shapes:
        parts = ([f"missing keys {missing}"] if missing else []) + ([f"unexpected keys {extra}"] if extra else []) + \
            ([f"shapes differ: {'; '.join(shapes)}"] if shapes else [])
        raise ValueError(f"{what} does not fit the spec: " + ", ".join(parts))
    for k, v in state_dict.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise ValueError(f"{what}: tensor {k!r} holds NaN or inf")
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state_dict.items()},
                          strict=True, assign=True)
    return model


def _try_safe_load(path: Path, what: str):
    """``(object, None)`` from :func:`safe_torch_load` (``weights_only``), or ``(None, exception)`` when torch
    refuses the file; a missing file is a FileNotFoundError naming ``what``, and the archive checks' ValueErrors
    pass through unchanged."""
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {path}")
    try:
        return safe_torch_load(path), None
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller words the refusal
        return None, exc


def target_from_state_dict(state_dict, spec: list) -> nn.Sequential:
    """A target from a ``state_dict`` (a mapping, or a path to a ``torch.save``-d one, read with
    ``weights_only=True``) and an architecture ``spec`` (:func:`target_spec`'s format, e.g.
    ``[["Linear", 784, 300, True], ["ReLU"], ["Linear", 300, 10, True]]``); keys and shapes must match exactly."""
    check_spec(spec)
    if isinstance(state_dict, (str, Path)):
        path = Path(state_dict)
        state_dict, exc = _try_safe_load(path, "state_dict file")
        if exc is not None:  # corrupt or unsafe file: one clear error
            raise ValueError(f"{path} is not a readable state_dict ({type(exc).__name__}: {exc})") from None
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict must be a mapping of tensors or a path, got {type(state_dict).__name__}")
    return _fill(build_target(spec, device="meta"), state_dict, "state_dict")


def save_target(model: nn.Sequential, path: str | Path) -> Path:
    """Write ``model`` (plain or masked layers; masks folded into the weights) in the safe format."""
    from .chain import as_sequential

    spec = target_spec(model)
    model = as_sequential(model)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path {path} is a directory; give a file name, e.g. {path / 'target.pt'}")
    plain = build_target(spec)
    sd = {}
    for i, m in enumerate(model):
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            w = m.weight.detach().clone()
            if hasattr(m, "mask") and m.mask is not None:
                w = w * m.mask
            sd[f"{i}.weight"] = w.cpu()
            if m.bias is not None:
                b = m.bias.detach().clone()
                if getattr(m, "bias_mask", None) is not None:
                    b = b * m.bias_mask
                sd[f"{i}.bias"] = b.cpu()
    plain.load_state_dict(sd)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "layers": spec, "state_dict": plain.state_dict()}, path)
    return path


def load_target(path: str | Path, *, trust: bool = False) -> nn.Sequential:
    """Read a target saved by :func:`save_target` (safe: ``weights_only=True``; declared sizes checked before
    anything is allocated). ``trust=True`` (a bool: anything else is a TypeError) also accepts a whole pickled
    ``nn.Sequential`` (unpickling runs code from the file: only for files you made)."""
    if not isinstance(trust, bool):
        raise TypeError(f"trust must be True or False, got {trust!r} (a truthy string would unpickle the file)")
    path = Path(path)
    obj, exc = _try_safe_load(path, "checkpoint")
    if exc is not None:  # a pickled module, or not a torch file at all
        if not trust:
            raise ValueError(f"{path} is not a safe lottery-theory checkpoint ({type(exc).__name__}); if it is a "
                             "whole pickled nn.Sequential you made yourself, pass trust=True (--trust)") from None
        obj = safe_torch_load(path, trust=True)
    if isinstance(obj, nn.Sequential):
        return obj
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} holds neither a {FORMAT} checkpoint nor an nn.Sequential; a plain state_dict "
                         f"(torch.save(model.state_dict())) loads with target_from_state_dict(path, spec) or "
                         f"`lottery-theory ticket --target PATH --spec SPEC.json`")
    extra = sorted(set(obj) - {"format", "layers", "state_dict"})
    if extra or "layers" not in obj or "state_dict" not in obj:
        raise ValueError(f"{path}: a {FORMAT} checkpoint holds exactly format, layers and state_dict "
                         f"(missing: {sorted({'layers', 'state_dict'} - set(obj))}, unexpected: {extra})")
    if not isinstance(obj["state_dict"], dict):
        raise ValueError(f"{path}: state_dict must be a mapping of tensors")
    return _fill(build_target(obj["layers"], device="meta"), obj["state_dict"], f"{path}")
