"""Stateless building blocks of networks, in numpy, with torch's semantics.

Each function matches its ``torch.nn.functional`` twin (argument names,
layouts, reductions) so the check against PyTorch is one line. The module is
split by chapter, and everything is importable from ``dlmath.functional``:

- ``basic`` (Chapters 1 and 3): ``linear``, ``sigmoid``, ``softmax`` and its
  Jacobian, ``log_softmax``, ``logsumexp``, the cross-entropies, ``entropy``,
  ``kl_divergence``.
- ``dense`` (Chapters 5 and 6): the layers of a feedforward network, each as a
  ``*_vjp`` function returning ``(y, vjp)``: the output and the closure that
  maps an output gradient ``dy`` to the gradients of the inputs. One
  derivation serves the layers of ``dlmath.nn`` and the autodiff engine
  (``dlmath.autodiff.apply_vjp``).
- ``conv`` (Chapter 7), ``recurrent`` (Chapter 8), ``attention`` (Chapter 9).
"""
from __future__ import annotations

from . import attention, basic, conv, dense, recurrent
from .attention import *  # noqa: F401,F403
from .basic import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dense import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403

__all__ = (basic.__all__ + dense.__all__ + conv.__all__ + recurrent.__all__
           + attention.__all__)

# Chapter 11 (graphs): gcn_norm, gcn_conv(_vjp), gat_conv(_vjp), gcn_adjacency
from . import graph  # noqa: E402
from .graph import *  # noqa: F401,F403,E402

__all__ = __all__ + graph.__all__
