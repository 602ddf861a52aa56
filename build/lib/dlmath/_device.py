"""Where the PyTorch reference computations run."""
from __future__ import annotations


def device():
    """``torch.device('cuda')`` when a GPU is visible, else ``cpu``.

    Every torch reference check in the book runs on this device, so the same
    notebook checks CPU numpy against a GPU kernel when one is present.
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
