"""lottery-theory: verify the theory of random sparse networks and strong lottery tickets.

Conventions (used everywhere in the package):

* **density** = fraction of weights kept (the ER edge probability ``p``);
* **sparsity** = ``1 - density``.

Public functions take ``density``. Sub-packages are imported lazily so that
``import lottery_theory.bounds`` does not import torch.
"""

__version__ = "0.1.0"
