"""``Embedding``: a table of learned vectors looked up by index (Chapters 8-9)."""
from __future__ import annotations

from .. import functional as F
from .._validate import check_int
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """``y = weight[input]``, param ``weight`` (num_embeddings, embedding_dim) ~ N(0, 1)
    as torch initializes it, the ``padding_idx`` row zero.

    The backward is the scatter-add dW = onehot(input)ᵀ dy of
    ``dlmath.functional.embedding_vjp`` (no gradient for the integer input; the
    padding row gets none; ``scale_grad_by_freq`` divides by the batch counts).
    ``max_norm`` and ``sparse`` are refused by name.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int,
                 padding_idx: int | None = None, max_norm=None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False, rng=None):
        super().__init__()
        fn = "Embedding"
        n = self.num_embeddings = check_int(num_embeddings, fn, "num_embeddings",
                                            minimum=1)
        d = self.embedding_dim = check_int(embedding_dim, fn, "embedding_dim",
                                           minimum=1)
        if max_norm is not None:
            raise ValueError(f"{fn}: max_norm={max_norm!r} is not supported (torch "
                             f"rescales the weight rows in place in the forward)")
        if sparse:
            raise ValueError(f"{fn}: sparse=True is not supported (dlmath gradients "
                             f"are dense arrays)")
        if padding_idx is not None:
            check_int(padding_idx, fn, "padding_idx")
            if not -n <= padding_idx < n:
                raise ValueError(f"{fn}: padding_idx must be in [-{n}, {n - 1}], "
                                 f"got {padding_idx}")
            padding_idx %= n
        self.padding_idx = padding_idx
        self.scale_grad_by_freq = bool(scale_grad_by_freq)
        if rng is None:
            from .._random import rng
        W = self._params["weight"] = rng.standard_normal((n, d))
        if padding_idx is not None:
            W[padding_idx] = 0.0

    @classmethod
    def from_torch(cls, module) -> "Embedding":
        layer = cls(module.num_embeddings, module.embedding_dim, module.padding_idx,
                    module.max_norm, module.norm_type, module.scale_grad_by_freq,
                    module.sparse)
        return layer._load_torch(module)

    def forward(self, input):
        y, vjp = F.embedding_vjp(input, self._params["weight"], self.padding_idx,
                                 scale_grad_by_freq=self.scale_grad_by_freq)
        return self._save(y, lambda dy: ((None,), {"weight": vjp(dy)[1]}))

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}"
                    if self.padding_idx is not None else "")
