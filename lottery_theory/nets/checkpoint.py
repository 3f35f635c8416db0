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


def target_spec(model: nn.Sequential) -> list:
    """The architecture of ``model`` as plain lists (see the module docstring)."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
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
        elif isinstance(m, (nn.ReLU, nn.Flatten, nn.Identity)):
            spec.append([type(m).__name__])
        else:
            raise TypeError(f"cannot describe a {type(m).__name__} layer (Linear, Conv2d, ReLU, Flatten, pooling only)")
    return spec


def build_target(spec: list) -> nn.Sequential:
    """An ``nn.Sequential`` of plain layers from a spec (weights uninitialised: load a state_dict next)."""
    if not isinstance(spec, list) or not spec:
        raise ValueError("spec must be a non-empty list of layer entries")
    mods = []
    for entry in spec:
        if not isinstance(entry, (list, tuple)) or not entry or not isinstance(entry[0], str):
            raise ValueError(f"bad layer entry {entry!r}")
        kind, args = entry[0], list(entry[1:])
        if kind == "Linear":
            mods.append(nn.Linear(int(args[0]), int(args[1]), bias=bool(args[2])))
        elif kind == "Conv2d":
            mods.append(nn.Conv2d(int(args[0]), int(args[1]), tuple(args[2]), stride=tuple(args[3]),
                                  padding=tuple(args[4]), bias=bool(args[5])))
        elif kind in ("MaxPool2d", "AvgPool2d"):
            mods.append(getattr(nn, kind)(args[0], args[1]))
        elif kind in ("ReLU", "Flatten", "Identity"):
            mods.append(getattr(nn, kind)())
        else:
            raise ValueError(f"unknown layer kind {kind!r} in spec")
    return nn.Sequential(*mods)


def target_from_state_dict(state_dict, spec: list) -> nn.Sequential:
    """A target from a ``state_dict`` (a mapping, or a path to a ``torch.save``-d one, read with
    ``weights_only=True``) and an architecture ``spec`` (:func:`target_spec`'s format, e.g.
    ``[["Linear", 784, 300, True], ["ReLU"], ["Linear", 300, 10, True]]``); keys and shapes must match exactly."""
    if isinstance(state_dict, (str, Path)):
        path = Path(state_dict)
        if not path.is_file():
            raise FileNotFoundError(f"no state_dict file at {path}")
        try:
            state_dict = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - corrupt or unsafe file: one clear error
            raise ValueError(f"{path} is not a readable state_dict ({type(e).__name__}: {e})") from None
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict must be a mapping of tensors or a path, got {type(state_dict).__name__}")
    model = build_target(spec)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as e:
        raise ValueError(f"state_dict does not fit the spec: {e}") from None
    return model


def save_target(model: nn.Sequential, path: str | Path) -> Path:
    """Write ``model`` (plain or masked layers; masks folded into the weights) in the safe format."""
    spec = target_spec(model)
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": FORMAT, "layers": spec, "state_dict": plain.state_dict()}, path)
    return path


def load_target(path: str | Path, *, trust: bool = False) -> nn.Sequential:
    """Read a target saved by :func:`save_target` (safe: ``weights_only=True``). ``trust=True`` also accepts a
    whole pickled ``nn.Sequential`` (unpickling runs code from the file: only for files you made)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a pickled module, or not a torch file at all
        if not trust:
            raise ValueError(f"{path} is not a safe lottery-theory checkpoint ({type(exc).__name__}); if it is a "
                             "whole pickled nn.Sequential you made yourself, pass trust=True (--trust)") from None
        obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, nn.Sequential):
        return obj
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} holds neither a {FORMAT} checkpoint nor an nn.Sequential")
    model = build_target(obj["layers"])
    model.load_state_dict(obj["state_dict"], strict=True)
    return model
