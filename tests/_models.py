"""Small models shared by the tests."""
import torch
from torch import nn


class BNNet(nn.Module):
    """Linear -> BatchNorm1d -> ReLU -> Linear: a user's class (not nn.Sequential) with running statistics."""

    def __init__(self, n_in: int = 8, hidden: int = 32, n_out: int = 3):
        super().__init__()
        self.fc1, self.bn, self.fc2 = nn.Linear(n_in, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.bn(self.fc1(x))))
