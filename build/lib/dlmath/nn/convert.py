"""``from_torch(module)``: the dlmath layer for any supported torch module."""
from __future__ import annotations

__all__ = ["from_torch", "register"]

_REGISTRY: dict[str, type] = {}


def register(torch_name: str, layer_cls: type) -> None:
    """Map a ``torch.nn`` class name to the dlmath layer class that mirrors it."""
    _REGISTRY[torch_name] = layer_cls


def from_torch(module):
    """The dlmath twin of a torch module, with its parameters copied as float64."""
    name = type(module).__name__
    if name not in _REGISTRY:
        raise TypeError(f"from_torch: no dlmath layer for torch.nn.{name}; "
                        f"supported: {sorted(_REGISTRY)}")
    return _REGISTRY[name].from_torch(module)
