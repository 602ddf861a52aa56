"""Layers with hand-derived backward passes, mirroring ``torch.nn`` (Part II).

Every layer has torch's parameter names, layouts and initialization, so the
check of a derivation is always the same: same weights, same input, same
output and same gradients (``dlmath.check.check_layer``)::

    tl = torch.nn.Linear(4, 3).double()
    layer = dlmath.nn.Linear.from_torch(tl)      # or dlmath.nn.from_torch(tl)
    y = layer.forward(x)
    dx = layer.backward(dy)                      # fills layer.grads["weight"], ["bias"]

Chapters 5-6: ``Linear``, ``ReLU``, ``Sigmoid``, ``Tanh``, ``GELU``,
``Dropout``, ``BatchNorm1d``, ``LayerNorm``, ``Sequential``,
``CrossEntropyLoss``, ``MSELoss``, ``init``, ``clip_grad_norm_``.
Chapter 7 adds convolution and pooling, 8 recurrent layers, 9 attention.
"""
from __future__ import annotations

from . import init
from .activation import GELU, ReLU, Sigmoid, Tanh
from .attention import MultiheadAttention, TransformerEncoderLayer
from .container import Sequential
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .convert import from_torch, register
from .dropout import Dropout
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module
from .norm import BatchNorm1d, LayerNorm
from .recurrent import GRU, LSTM, RNN
from .utils import clip_grad_norm_

__all__ = ["Module", "Linear", "ReLU", "Sigmoid", "Tanh", "GELU", "Dropout",
           "BatchNorm1d", "LayerNorm", "Sequential", "CrossEntropyLoss", "MSELoss",
           "init", "clip_grad_norm_", "from_torch", "register"]
__all__ += ["MultiheadAttention", "TransformerEncoderLayer"]
__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]
__all__ += ["RNN", "LSTM", "GRU"]

for _cls in (Linear, ReLU, Sigmoid, Tanh, GELU, Dropout, BatchNorm1d, LayerNorm,
             Sequential, CrossEntropyLoss, MSELoss):
    register(_cls.__name__, _cls)
register("MultiheadAttention", MultiheadAttention)
register("TransformerEncoderLayer", TransformerEncoderLayer)
for _cls in (Conv2d, MaxPool2d, AvgPool2d, Flatten):
    register(_cls.__name__, _cls)
del _cls
for _cls in (RNN, LSTM, GRU):
    register(_cls.__name__, _cls)
del _cls
# issue 24 (conformance with torch.nn): the layers a course on Chapters 5-9 expects
from .activation import LeakyReLU, LogSoftmax, SiLU, Softmax  # noqa: E402
from .attention import TransformerDecoderLayer  # noqa: E402
from .conv import AdaptiveAvgPool2d, ConvTranspose2d  # noqa: E402
from .embedding import Embedding  # noqa: E402
from .norm import BatchNorm2d  # noqa: E402

_NEW = (BatchNorm2d, TransformerDecoderLayer, ConvTranspose2d, AdaptiveAvgPool2d,
        Embedding, Softmax, LogSoftmax, LeakyReLU, SiLU)
__all__ += [c.__name__ for c in _NEW]
for _cls in _NEW:
    register(_cls.__name__, _cls)
del _cls

# Chapter 11 (graphs): GCNConv, GATConv, twins of torch_geometric.nn's
from .graph import GATConv, GCNConv  # noqa: E402

__all__ += ["GCNConv", "GATConv"]
register("GCNConv", GCNConv)
register("GATConv", GATConv)
