"""construct(executor=...) (issue 17): subset sums solved on a process pool or a Dask cluster give the
serial ticket bit for bit."""
import numpy as np
import pytest
import torch

from lottery_theory.nets import mlp
from lottery_theory.nets.masked import masks
from lottery_theory.tickets import construct
from lottery_theory.tickets import distribute


def _ticket(executor, monkeypatch=None):
    t = mlp([5, 6, 2], generator=torch.Generator().manual_seed(0))
    return construct(t, density=0.5, eps=0.05, width_multiplier=24, executor=executor, workers=2,
                     generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_executor_ticket_is_bit_identical(executor, monkeypatch):
    serial = _ticket(None)
    monkeypatch.setattr(distribute, "CHUNK", 16)  # many chunks even for a small target
    monkeypatch.setattr(distribute.solve_on, "__defaults__", (16,))
    other = _ticket(executor)
    assert serial.n_instances > 4 * 16
    np.testing.assert_array_equal(serial.instance_errors, other.instance_errors)
    for k, v in masks(serial.network).items():
        assert torch.equal(v, masks(other.network)[k])
    for a, b in zip(serial.network.state_dict().values(), other.network.state_dict().values()):
        assert torch.equal(a, b)
    assert serial.certified_error == other.certified_error


def test_bad_executor_and_workers():
    t = mlp([3, 2], generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="executor must be"):
        construct(t, density=0.5, eps=0.1, executor="slurm")
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        construct(t, density=0.5, eps=0.1, executor="local", workers=0)
