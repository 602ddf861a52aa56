"""A reverse-mode automatic differentiation engine over numpy arrays (Chapter 2).

``Tensor`` wraps a numpy array. Every operation on tensors that require a
gradient records a *node* of the computational graph: its value, its parents
and a ``backward`` function that maps the gradient of the output, ``g = ∂L/∂out``,
to the gradient of each parent (the vector-Jacobian product of Chapter 2,
notebook 2):

    ∂L/∂a = Jᵀ g,   J = ∂out/∂a.

``out.backward()`` sorts the graph topologically (iteratively: deep graphs do
not hit Python's recursion limit) and applies the chain rule from the output
back to the leaves, *adding* the contributions of every path into ``.grad``.

Each operation below keeps its forward computation and its backward side by
side; the comment on each backward names the derivative it implements.
Semantics follow PyTorch: numpy broadcasting, gradients summed back to each
operand's shape, ``.grad`` accumulating across ``backward`` calls, the
subgradient 0 of ``relu`` at 0.

    >>> x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([2., 4., 6.])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ._validate import _is_torch_tensor, as_float_array, check_axes

__all__ = ["Tensor", "unbroadcast", "topological_order", "apply_vjp"]

Backward = Callable[[np.ndarray], Sequence[np.ndarray]]


def _as_data(x: Any, fn: str = "Tensor", *, keep_bool: bool = False) -> np.ndarray:
    """A float numpy array from numbers, nested lists or arrays (ints become float64).

    With ``keep_bool`` a boolean array stays boolean, as a torch bool tensor does
    (a mask that indexes by selection, not by the positions 0 and 1).
    """
    if isinstance(x, Tensor):
        return x.data
    if keep_bool and not _is_torch_tensor(x):
        try:
            arr = np.asarray(x)
        except Exception:  # ragged lists: as_float_array words the error
            arr = None
        if arr is not None and arr.dtype == np.bool_:
            return arr
    return as_float_array(x, fn, "data")


def unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum the gradient ``g`` back to the ``shape`` of an operand that was broadcast.

    Broadcasting copies an operand along new leading axes and along axes of
    length 1; the chain rule *adds* the gradients of all copies (each copy
    is one use of the same number), so we sum over exactly those axes.
    """
    g = g0 = np.asarray(g)
    if g.shape == tuple(shape):
        return g
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: gradient of shape {g.shape} has fewer dims "
                         f"than the operand shape {tuple(shape)}")
    g = g.sum(axis=tuple(range(extra))) if extra else g
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    g = g.sum(axis=ones, keepdims=True) if ones else g
    if g.shape != tuple(shape):
        raise ValueError(f"unbroadcast: cannot sum a gradient of shape {g0.shape} "
                         f"to shape {tuple(shape)}")
    return g


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    ``Tensor(data, requires_grad=False)``: ``data`` is anything numpy can
    turn into an array of real numbers (integers become float64, float32
    stays float32). A boolean array stays boolean, like a torch bool tensor:
    ``x[Tensor(mask)]`` selects where ``mask`` is True, and a bool tensor
    cannot require a gradient. ``.grad`` is ``None`` until a
    ``backward`` pass reaches the tensor, then a numpy array of ``.data``'s
    shape. Unlike PyTorch, which keeps ``.grad`` only on leaves, every
    tensor that requires a gradient keeps it, which is handy for teaching.
    """

    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data: np.ndarray = _as_data(data, keep_bool=True)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: only floating-point tensors can require a gradient, "
                f"got dtype {self.data.dtype}"
            )
        self.requires_grad: bool = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self._parents: tuple[Tensor, ...] = ()
        self._backward: Backward | None = None
        self.op: str = ""

    # ---- building graph nodes ------------------------------------------------
    @classmethod
    def from_op(cls, data: np.ndarray, parents: Sequence["Tensor"], backward: Backward,
                op: str = "") -> "Tensor":
        """A new node of the graph: value ``data`` computed from ``parents``.

        ``backward(g)`` receives ``g = ∂L/∂out`` (shape of ``data``) and must
        return one gradient per parent, each of that parent's shape. No graph
        is recorded unless some parent requires a gradient.
        """
        out = cls(data)
        if any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = tuple(parents)
            out._backward = backward
            out.op = op
        return out

    # ---- conveniences ----------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        return self.data.item()

    def numpy(self) -> np.ndarray:
        return self.data

    def detach(self) -> "Tensor":
        """The same values, cut off from the graph."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op='{self.op}'" if self.op else ""
        return f"Tensor({np.array2string(self.data, precision=4)}{grad}{op})"

    def _lift(self, other: Any) -> "Tensor":
        """Wrap a number or array as a constant; Python numbers take our dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            dtype = self.data.dtype if self.data.dtype.kind == "f" else np.float64
            return Tensor(np.asarray(other, dtype=dtype))
        return Tensor(_as_data(other, f"Tensor op with {type(other).__name__}"))

    # ---- elementwise binary operations (numpy broadcasting) -------------------
    def _binary(
        self, other: Any, name: str, reflected: bool = False
    ) -> tuple["Tensor", "Tensor"]:
        o = self._lift(other)
        a, b = (o, self) if reflected else (self, o)
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ValueError(
                f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together"
            ) from None
        return a, b

    @staticmethod
    def _add(a: "Tensor", b: "Tensor") -> "Tensor":
        def backward(g):  # ∂(a+b)/∂a = ∂(a+b)/∂b = 1
            return unbroadcast(g, a.shape), unbroadcast(g, b.shape)
        return Tensor.from_op(a.data + b.data, (a, b), backward, "+")

    @staticmethod
    def _sub(a: "Tensor", b: "Tensor") -> "Tensor":
        def backward(g):  # ∂(a-b)/∂a = 1, ∂(a-b)/∂b = -1
            return unbroadcast(g, a.shape), unbroadcast(-g, b.shape)
        return Tensor.from_op(a.data - b.data, (a, b), backward, "-")

    @staticmethod
    def _mul(a: "Tensor", b: "Tensor") -> "Tensor":
        def backward(g):  # product rule: ∂(ab)/∂a = b, ∂(ab)/∂b = a
            return unbroadcast(g * b.data, a.shape), unbroadcast(g * a.data, b.shape)
        return Tensor.from_op(a.data * b.data, (a, b), backward, "*")

    @staticmethod
    def _div(a: "Tensor", b: "Tensor") -> "Tensor":
        def backward(g):  # ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = -a/b²
            return (unbroadcast(g / b.data, a.shape),
                    unbroadcast(-g * a.data / b.data ** 2, b.shape))
        return Tensor.from_op(a.data / b.data, (a, b), backward, "/")

    @staticmethod
    def _pow(a: "Tensor", b: "Tensor") -> "Tensor":
        out = a.data ** b.data

        def backward(g):
            # ∂(aᵇ)/∂a = b aᵇ⁻¹, taken as 0 where b = 0 (like torch); at a = 0 with b <
            # 1
            # it is inf (or nan times 0), as in torch: no warning, that is the value.
            with np.errstate(divide="ignore", invalid="ignore"):
                da = np.where(b.data == 0, 0.0, g * b.data * a.data ** (b.data - 1))
            db = np.zeros(b.shape, dtype=b.dtype)
            if b.requires_grad:
                # ∂(aᵇ)/∂b = aᵇ ln a, taken as 0 where a = 0 and b >= 0 (torch's rule);
                # a = 0, b < 0 gives inf · (-inf) = -inf, as in torch
                with np.errstate(divide="ignore", invalid="ignore"):
                    db = np.where(
                        (a.data == 0) & (b.data >= 0), 0.0, g * out * np.log(a.data)
                    )
                db = unbroadcast(db, b.shape)
            return unbroadcast(da, a.shape), db
        return Tensor.from_op(out, (a, b), backward, "**")

    def __add__(self, other): return Tensor._add(*self._binary(other, "add"))
    def __radd__(self, other): return Tensor._add(*self._binary(other, "add", True))
    def __sub__(self, other): return Tensor._sub(*self._binary(other, "sub"))
    def __rsub__(self, other): return Tensor._sub(*self._binary(other, "sub", True))
    def __mul__(self, other): return Tensor._mul(*self._binary(other, "mul"))
    def __rmul__(self, other): return Tensor._mul(*self._binary(other, "mul", True))
    def __truediv__(self, other): return Tensor._div(*self._binary(other, "div"))
    def __rtruediv__(self, other): return Tensor._div(*self._binary(other, "div", True))
    def __pow__(self, other): return Tensor._pow(*self._binary(other, "pow"))
    def __rpow__(self, other): return Tensor._pow(*self._binary(other, "pow", True))

    def __neg__(self) -> "Tensor":
        def backward(g):  # ∂(-a)/∂a = -1
            return (-g,)
        return Tensor.from_op(-self.data, (self,), backward, "neg")

    # ---- matrix product (numpy.matmul semantics) -------------------------------
    @staticmethod
    def _matmul(a: "Tensor", b: "Tensor") -> "Tensor":
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dim, "
                             f"got shapes {a.shape} and {b.shape}")
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: "
                f"{k_a} (last dim of the left) != {k_b} "
                f"({'only' if b.ndim == 1 else 'second-to-last'} dim of the right)"
            )
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dims of shapes {a.shape} and {b.shape} "
                             f"cannot be broadcast together") from None

        def backward(g):
            # C = A B  ⇒  ∂L/∂A = G Bᵀ,  ∂L/∂B = Aᵀ G  (Chapter 2.4). 1-D operands are
            # promoted to matrices (a row for A, a column for B) as numpy does.
            A = a.data[None, :] if a.ndim == 1 else a.data
            B = b.data[:, None] if b.ndim == 1 else b.data
            G = g.reshape(np.broadcast_shapes(A.shape[:-2], B.shape[:-2])
                          + (A.shape[-2], B.shape[-1]))
            dA = unbroadcast(G @ np.swapaxes(B, -1, -2), A.shape).reshape(a.shape)
            dB = unbroadcast(np.swapaxes(A, -1, -2) @ G, B.shape).reshape(b.shape)
            return dA, dB
        return Tensor.from_op(a.data @ b.data, (a, b), backward, "@")

    def __matmul__(self, other): return Tensor._matmul(self, self._lift(other))
    def __rmatmul__(self, other): return Tensor._matmul(self._lift(other), self)

    # ---- reductions -------------------------------------------------------------
    def _axes(self, axis, fn: str) -> tuple[int, ...]:
        return check_axes(self.shape, axis, fn)

    def sum(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False
    ) -> "Tensor":
        """Sum over ``axis`` (all if None), like ``torch.sum(dim=..., keepdim=...)``."""
        a, axes = self, self._axes(axis, "sum")

        def backward(g):  # ∂(Σᵢ aᵢ)/∂aⱼ = 1: copy g back along the summed axes
            if not keepdims:
                g = np.expand_dims(g, axes)
            return (np.broadcast_to(g, a.shape),)

        return Tensor.from_op(
            a.data.sum(axis=axes, keepdims=keepdims), (a,), backward, "sum"
        )

    def mean(
        self, axis: int | Sequence[int] | None = None, keepdims: bool = False
    ) -> "Tensor":
        """Mean over ``axis``: the sum divided by the number of summed elements."""
        axes = self._axes(axis, "mean")
        count = int(np.prod([self.shape[ax] for ax in axes])) if self.ndim else 1
        return self.sum(axis=axes, keepdims=keepdims) / count

    # ---- elementwise functions -------------------------------------------------------
    def exp(self) -> "Tensor":
        out = np.exp(self.data)

        def backward(g):  # (eˣ)' = eˣ: reuse the output
            return (g * out,)
        return Tensor.from_op(out, (self,), backward, "exp")

    def log(self) -> "Tensor":
        a = self

        def backward(g):  # (ln x)' = 1/x
            return (g / a.data,)
        return Tensor.from_op(np.log(a.data), (a,), backward, "log")

    def tanh(self) -> "Tensor":
        out = np.tanh(self.data)

        def backward(g):  # tanh' = 1 - tanh²
            return (g * (1 - out ** 2),)
        return Tensor.from_op(out, (self,), backward, "tanh")

    def sigmoid(self) -> "Tensor":
        # σ(x) = 1 / (1 + e⁻ˣ), written so that neither branch overflows
        x = self.data
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))

        def backward(g):  # σ' = σ (1 - σ)
            return (g * out * (1 - out),)
        return Tensor.from_op(out, (self,), backward, "sigmoid")

    def relu(self) -> "Tensor":
        a = self

        # relu'(x) = 1 if x > 0 else 0 (the subgradient 0 at 0, like torch)
        def backward(g):
            return (g * (a.data > 0),)
        return Tensor.from_op(np.maximum(a.data, 0), (a,), backward, "relu")

    # ---- shape operations ------------------------------------------------------------
    def reshape(self, *shape) -> "Tensor":
        """Same numbers, new shape (``-1`` allowed); accepts ints or one tuple."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        a = self
        try:
            out = a.data.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {a.shape} "
                             f"({a.data.size} elements) into {tuple(shape)}") from None

        def backward(g):  # reshaping only re-indexes: reshape the gradient back
            return (g.reshape(a.shape),)
        return Tensor.from_op(out, (a,), backward, "reshape")

    def permute(self, *dims) -> "Tensor":
        """Reorder dims like ``torch.permute`` (``np.transpose``): ints or a tuple."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in dims
        ):
            raise TypeError(f"permute: dims must be ints, got {dims!r}")
        perm = tuple(int(d) for d in dims)
        n = max(self.ndim, 1)
        if len(perm) != self.ndim or any(not -n <= d < n for d in perm) \
                or sorted(d % n for d in perm) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {perm} are not a permutation of the "
                             f"{self.ndim} dims of shape {self.shape}")
        perm = tuple(d % n for d in perm)
        a, inverse = self, tuple(np.argsort(perm))

        def backward(g):  # a permutation's inverse moves every gradient back
            return (g.transpose(inverse),)
        return Tensor.from_op(a.data.transpose(perm), (a,), backward, "permute")

    def transpose(self, *dims) -> "Tensor":
        """Swap two dims, like ``torch.transpose(x, dim0, dim1)``
        (``x.transpose(-2, -1)``
        transposes every matrix of a batch). For other orders use ``permute``."""
        if len(dims) != 2:
            raise TypeError(f"transpose: expected two dims (dim0, dim1) to swap, like "
                            f"torch.transpose, got {len(dims)} ({dims!r}); use permute "
                            f"for a full reordering")
        n = max(self.ndim, 1)
        for d in dims:
            if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
                raise TypeError(f"transpose: dims must be ints, got {dims!r}")
            if not -n <= d < n:
                raise ValueError(
                    f"transpose: dim {d} is out of range for shape {self.shape}"
                )
        perm = list(range(self.ndim))
        if self.ndim:
            i, j = int(dims[0]) % n, int(dims[1]) % n
            perm[i], perm[j] = perm[j], perm[i]
        return self.permute(tuple(perm))

    @property
    def T(self) -> "Tensor":
        """All dims reversed (for a matrix: the transpose), like torch's ``.T``."""
        return self.permute(tuple(range(self.ndim))[::-1])

    def __getitem__(self, index) -> "Tensor":
        """Basic, integer-array and boolean-mask indexing, as in torch.

        A repeated index gathers the same number twice. A ``Tensor`` index is a
        mask if it is boolean (``Tensor(x > 0)``), else integer positions.
        """
        if isinstance(index, Tensor):
            index = (
                index.data if index.dtype == np.bool_ else index.data.astype(np.intp)
            )
        a = self

        def backward(g):  # scatter-add: each selected copy sends its gradient home
            full = np.zeros(a.shape, dtype=np.result_type(a.dtype, g.dtype))
            np.add.at(full, index, g)  # np.add.at *accumulates* repeated indices
            return (full,)
        return Tensor.from_op(a.data[index], (a,), backward, "index")

    # ---- the backward pass -----------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Reverse mode: add ``∂self/∂x`` (times ``grad``) into every ``x.grad``.

        A scalar (one-element) output needs no ``grad`` (it defaults to 1);
        otherwise ``grad`` must have ``self``'s shape and the pass computes the
        vector-Jacobian product ``gradᵀ J`` for each input.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no "
                               "graph (create its inputs with requires_grad=True)")
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward: grad can be omitted only for a scalar output; "
                    f"this output has shape {self.shape}, so pass a grad of "
                    f"that shape"
                )
            grad = np.ones(self.shape, dtype=self.dtype)
        else:
            grad = _as_data(grad, "backward")
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward: grad must have the output's shape {self.shape}, "
                    f"got shape {grad.shape}"
                )
        grads: dict[int, np.ndarray] = {id(self): grad}
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            # accumulate, like torch: a second backward() adds to .grad
            node.grad = (np.array(g, dtype=node.dtype) if node.grad is None
                         else node.grad + g)
            if node._backward is None:  # a leaf
                continue
            parent_grads = node._backward(g)
            if len(parent_grads) != len(node._parents):
                raise ValueError(
                    f"backward of op '{node.op}' returned {len(parent_grads)} "
                    f"gradients for {len(node._parents)} inputs"
                )
            for p, gp in zip(node._parents, parent_grads):
                if not p.requires_grad:
                    continue
                gp = np.asarray(gp)
                if gp.shape != p.shape:
                    raise ValueError(
                        f"backward of op '{node.op}' returned a gradient of "
                        f"shape {gp.shape} for an input of shape {p.shape}"
                    )
                # the chain rule sums over all paths: add, never overwrite
                grads[id(p)] = grads[id(p)] + gp if id(p) in grads else gp


def topological_order(root: Tensor) -> list[Tensor]:
    """Every node ``root`` depends on (that requires grad), parents before children.

    Iterative depth-first search with an explicit stack, so a chain of
    100,000 operations needs no recursion. Reversing the list gives the
    order in which ``backward`` visits nodes: each node only after all of
    the nodes that use it, so its gradient is complete when it is passed on.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))  # emit after all parents are emitted
        for p in node._parents:
            if p.requires_grad and id(p) not in visited:
                stack.append((p, False))
    return order


def apply_vjp(fn_vjp: Callable, *args, **kwargs) -> Tensor:
    """A ``(y, vjp)`` function of ``dlmath.functional`` as one node of the graph.

    The layers of Part II derive each backward once, as a VJP closure
    (``dlmath.functional.dense``); this adapter lets the engine use the same
    derivation: ``Tensor`` arguments become the node's parents, other
    arguments are passed through. E.g.
    ``y = apply_vjp(F.linear_vjp, x, W, b)`` then ``y.sum().backward()``.
    """
    parents = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    y, vjp = fn_vjp(*(a.data if isinstance(a, Tensor) else a for a in args), **kwargs)

    def backward(g):
        grads = vjp(g)
        return tuple(np.zeros(args[i].shape) if grads[i] is None else grads[i]
                     for i in parents)
    return Tensor.from_op(np.asarray(y), [args[i] for i in parents], backward,
                          getattr(fn_vjp, "__name__", "vjp"))
