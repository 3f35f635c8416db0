"""Any feed-forward module as an ``nn.Sequential``: trace its forward with ``torch.fx`` and keep it only when the
graph is one chain of Linear / Conv2d / ReLU / Flatten / pooling / Identity steps (modules, or the functions
``torch.relu``, ``F.relu``, ``torch.flatten``, ``Tensor.relu``, ``Tensor.flatten``, ``Tensor.view(n, -1)``).
Residual or branching graphs, other operations and data-dependent control flow are refused with the node that
breaks the chain, so a ticket is never built for a function other than the model's.
"""
from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import nn

CHAIN_MODULES = (nn.Linear, nn.Conv2d, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.Flatten, nn.MaxPool2d,
                 nn.AvgPool2d, nn.Identity)


def _as_module(node, modules: dict) -> nn.Module:
    """The ``nn.Module`` a chain node computes, or a ``TypeError`` naming the node."""
    if node.op == "call_module":
        m = modules[node.target]
        if type(m) not in CHAIN_MODULES:
            raise TypeError(f"node {node.name!r} calls {node.target!r}, a {type(m).__name__}: only Linear, Conv2d, "
                            "ReLU, Tanh, Sigmoid, LeakyReLU, Flatten, pooling and Identity (exact classes) can be "
                            "chained into a target")
        return m
    fn, args, kwargs = node.target, node.args[1:], node.kwargs
    if node.op == "call_function" and fn in (torch.relu, F.relu) or node.op == "call_method" and fn == "relu":
        return nn.ReLU()
    if node.op == "call_function" and fn in (torch.tanh, F.tanh) or node.op == "call_method" and fn == "tanh":
        return nn.Tanh()
    if node.op == "call_function" and fn in (torch.sigmoid, F.sigmoid) or node.op == "call_method" and fn == "sigmoid":
        return nn.Sigmoid()
    flat = node.op == "call_function" and fn is torch.flatten or node.op == "call_method" and fn == "flatten"
    if flat:
        start = args[0] if args else kwargs.get("start_dim", 0)
        if start != 1 or (len(args) > 1 and args[1] != -1):
            raise TypeError(f"node {node.name!r}: only flatten(x, 1) (keeping the batch dimension) is supported")
        return nn.Flatten()
    if node.op == "call_method" and fn in ("view", "reshape") and len(args) == 2 and args[1] == -1:
        return nn.Flatten()  # x.view(x.size(0), -1)
    what = getattr(fn, "__name__", fn)
    raise TypeError(f"node {node.name!r} ({node.op} {what}) is not a step of a Linear/ReLU chain")


def _is_shape(node) -> bool:
    """``x.size(...)``, ``x.shape`` or an index into them: bookkeeping for a view, not a data step."""
    if node.op == "call_method" and node.target == "size":
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
        return True
    return node.op == "call_function" and node.target is operator.getitem and _is_shape(node.args[0])


def as_sequential(model: nn.Module) -> nn.Sequential:
    """``model`` itself if it is an ``nn.Sequential``, else the chain its forward computes (module docstring),
    sharing the model's layers (no copy)."""
    if isinstance(model, nn.Sequential):
        return model
    if not isinstance(model, nn.Module):
        raise TypeError(f"target must be a torch.nn.Module, got {type(model).__name__}")
    if type(model) in CHAIN_MODULES:
        return nn.Sequential(model)  # one layer is a chain of one
    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception as e:  # noqa: BLE001 - control flow or unsupported Python in forward
        raise TypeError(f"cannot trace {type(model).__name__}.forward with torch.fx ({type(e).__name__}: {e}); give "
                        "an nn.Sequential or a module whose forward is a plain chain of layers") from None
    modules = dict(gm.named_modules())
    chain, prev = [], None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if prev is not None:
                raise TypeError(f"{type(model).__name__}.forward takes more than one input ({node.name!r})")
            prev = node
            continue
        if node.op == "output":
            if node.args[0] is not prev:
                raise TypeError(f"the output of {type(model).__name__}.forward is not the end of one chain")
            break
        if _is_shape(node):
            continue  # x.size(0) / x.shape[0] feeding a view: no step of its own
        if node.op == "get_attr":
            raise TypeError(f"node {node.name!r} reads the tensor {node.target!r} directly: only calls of layer "
                            "modules (and relu/flatten) can be chained")
        data_inputs = [a for a in node.all_input_nodes if not _is_shape(a)]
        if data_inputs != [prev]:
            raise TypeError(f"node {node.name!r} reads {[a.name for a in data_inputs]}, not just the previous step "
                            f"{prev.name!r}: residual or branching graphs are not a chain")
        users = [u for u in prev.users if not _is_shape(u)]
        if len(users) > 1:
            raise TypeError(f"node {prev.name!r} feeds several nodes ({[u.name for u in users]}): a branch")
        chain.append(_as_module(node, modules))
        prev = node
    if not any(isinstance(m, (nn.Linear, nn.Conv2d)) for m in chain):
        raise TypeError(f"{type(model).__name__} computes no Linear or Conv2d layer")
    return nn.Sequential(*chain)
