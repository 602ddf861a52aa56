"""Convolution and pooling (Chapter 7), forward and hand-derived backward, with torch's semantics."""
from __future__ import annotations

__all__: list[str] = []
