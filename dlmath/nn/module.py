"""The base of every layer: parameters, gradients, children, train/eval, torch interop.

A layer is its derivation in code. ``forward`` computes the output and keeps
the closure of its hand-derived backward (a vector-Jacobian product, see
``dlmath.functional.dense``); ``backward(dout)`` applies it, stores the
parameter gradients in ``grads`` and returns the gradient w.r.t. the input.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from .._validate import as_float_array

__all__ = ["Module"]


class Module:
    """A layer with torch's parameter names and a hand-derived backward.

    - ``params`` / ``grads``: dicts keyed by the torch module's
      ``named_parameters()`` names (``weight``, ``0.bias``, ``layers.1.weight`` ...);
      ``grads`` is filled by ``backward``. For a layer with sub-layers they are
      gathered from the children (the arrays are shared, the dict is new).
    - ``buffers``: non-trainable state such as batch norm's running statistics.
    - ``forward(*inputs)`` takes torch's positional inputs in torch's layout;
      ``backward(dout)`` returns the input gradient (a tuple for several inputs).
      One backward per forward; ``backward`` overwrites ``grads`` (like
      ``zero_grad()`` followed by ``loss.backward()`` in torch).
    - ``parameters()`` / ``gradients()``: lists in the same order, so
      ``dlmath.optim`` steps a model directly: ``opt = Adam(model.parameters())``,
      then ``opt.step(model.gradients())`` after each backward.
    - ``from_torch(module)``: the same layer with the torch module's parameters
      and buffers, copied as float64.
    """

    def __init__(self) -> None:
        self._params: dict[str, np.ndarray] = {}
        self._grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self._children: dict[str, Module] = {}
        self.training = True
        self._ctx: tuple[Any, Callable] | None = None
        self.frozen: set[str] = set()   # own parameters torch holds requires_grad=False

    # ------------------------------------------------------------------ structure
    def add_module(self, name: str, module: "Module") -> "Module":
        if not isinstance(module, Module):
            raise TypeError(f"{self._name}: child {name!r} must be a dlmath.nn.Module, "
                            f"got {type(module).__name__}")
        self._children[name] = module
        return module

    def children(self) -> dict[str, "Module"]:
        return dict(self._children)

    def __getattr__(self, name: str) -> "Module":
        """Child layers as attributes, as in torch: ``block.norm1``,
        ``attn.out_proj``."""
        children = self.__dict__.get("_children", {})
        if name in children:
            return children[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def _named(self, attr: str) -> Iterator[tuple[str, np.ndarray]]:
        own = getattr(self, attr).items()
        if attr == "_grads" and self.frozen:     # a frozen parameter has no gradient
            own = [(k, v) for k, v in own if k not in self.frozen]
        yield from own
        for cname, child in self._children.items():
            for name, value in child._named(attr):
                yield f"{cname}.{name}", value

    def named_parameters(self) -> list[tuple[str, np.ndarray]]:
        """(name, array) pairs in torch's order: own parameters, then each child's."""
        return list(self._named("_params"))

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self._params if not self._children else dict(self._named("_params"))

    @property
    def grads(self) -> dict[str, np.ndarray]:
        if not self._children and not self.frozen:
            return self._grads
        return dict(self._named("_grads"))

    def parameters(self) -> list[np.ndarray]:
        return [p for _, p in self.named_parameters()]

    def gradients(self) -> list[np.ndarray | None]:
        """The gradient of each parameter, in ``parameters()`` order (None before
        backward)."""
        grads = self.grads
        return [grads.get(name) for name, _ in self.named_parameters()]

    def zero_grad(self) -> None:
        self._grads.clear()
        for child in self._children.values():
            child.zero_grad()

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> "Module":
        self.training = bool(mode)
        for child in self._children.values():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    # ------------------------------------------------------------ forward and backward
    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    def forward(self, *inputs):  # pragma: no cover - every layer defines it
        raise NotImplementedError

    def _save(self, output: Any, vjp: Callable) -> Any:
        """Remember the output's shape(s) and the VJP closure for ``backward``."""
        self._ctx = (_shapes(output), vjp)
        return output

    def backward(self, dout):
        """Apply the saved VJP: fill ``grads``, return the input gradient(s).

        Layers whose VJP closure returns ``(dinputs, dparams)`` (a tuple of input
        gradients and a dict of parameter gradients) need not override this.
        """
        shapes, vjp = self._pop_ctx()
        dout = _check_like(dout, shapes, self._name)
        dinputs, dparams = vjp(dout)
        self._grads.update(dparams)
        return dinputs[0] if len(dinputs) == 1 else tuple(dinputs)

    def _pop_ctx(self):
        if self._ctx is None:
            raise RuntimeError(f"{self._name}.backward called before forward "
                               f"(or twice after one forward)")
        ctx, self._ctx = self._ctx, None
        return ctx

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, keyed by torch's names."""
        state = {name: v.copy() for name, v in self._named("_params")}
        state.update({name: np.copy(v) for name, v in self._named("buffers")})
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy ``state`` into the parameters and buffers in place (same names, same
        shapes).

        In place, so an optimizer built on ``parameters()`` keeps stepping the model.
        Accepts numpy arrays or torch tensors (copied as float64).
        """
        own = dict(self._named("_params"))
        own.update(self._named("buffers"))
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f"{self._name}.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, target in own.items():
            value = _as_array(state[name])
            if value.shape != target.shape:
                raise ValueError(f"{self._name}.load_state_dict: {name} must have "
                                 f"shape {target.shape}, got {value.shape}")
            np.copyto(target, value, casting="unsafe")

    @classmethod
    def from_torch(cls, module) -> "Module":  # pragma: no cover - each layer defines it
        raise NotImplementedError(f"{cls.__name__}.from_torch is not implemented")

    def _load_torch(self, module) -> "Module":
        """Load a torch module's parameters and buffers (names must match exactly)."""
        state = {k: v for k, v in module.state_dict().items()}
        frozen = {k for k, p in module.named_parameters() if not p.requires_grad}
        for k in frozen:                       # requires_grad=False: no gradient
            *path, leaf = k.split(".")
            owner = self
            for c in path:
                owner = owner._children.get(c, owner)
            owner.frozen.add(leaf)
        try:
            self.load_state_dict(state)
        except KeyError as e:                  # an attribute dlmath does not mirror
            raise ValueError(f"{self._name}.from_torch: the torch module's state does "
                             f"not match this layer's: {e.args[0]}") from None
        self.train(module.training)
        return self

    # ------------------------------------------------------------------ helpers
    @property
    def _name(self) -> str:
        return type(self).__name__

    def _input(self, x, name: str = "x", *, ndim=None, layout: str = "") -> np.ndarray:
        return as_float_array(x, self._name, name, ndim=ndim, layout=layout)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._children:
            return f"{self._name}({self.extra_repr()})"
        lines = [f"  ({k}): " + repr(m).replace("\n", "\n  ")
                 for k, m in self._children.items()]
        return f"{self._name}(\n" + "\n".join(lines) + "\n)"


def _as_array(v) -> np.ndarray:
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        v = v.detach().cpu()
        return v.double().numpy() if v.is_floating_point() else v.numpy()
    return np.asarray(v)


def _shapes(out):
    """The shape structure of an output: a shape tuple, None, or a tuple of those."""
    if out is None:
        return None
    if isinstance(out, tuple):
        return tuple(_shapes(o) for o in out)
    return ("array", np.shape(out))


def _check_like(dout, shapes, fn: str):
    """``dout`` shaped like the output; a ``None`` part of a tuple is taken as zeros."""
    if shapes is None:
        return None
    if shapes[0] == "array":
        if dout is None:
            return np.zeros(shapes[1])
        dout = as_float_array(dout, fn, "dout")
        if dout.shape != shapes[1]:
            raise ValueError(f"{fn}.backward: dout must have the output's shape "
                             f"{shapes[1]}, got {dout.shape}")
        return dout
    if dout is None:
        dout = (None,) * len(shapes)
    if not isinstance(dout, tuple) or len(dout) != len(shapes):
        raise ValueError(f"{fn}.backward: dout must be a tuple like the output "
                         f"({len(shapes)} parts), got {type(dout).__name__}")
    return tuple(_check_like(d, s, fn) for d, s in zip(dout, shapes))
