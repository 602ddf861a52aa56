"""Root conftest: nbval compares floats *rounded* to 5 decimals, not truncated.

nbval's sanitizer file (tests/sanitize.cfg) holds only regex replacements, which can
cut digits but not round them: a stored 0.1234569999 and a fresh 0.1234570001 would
truncate to 0.12345 and 0.12345|7 and fail although they agree to 1e-10. When nbval
runs with ``--nbval-sanitize-with``, every decimal number with more than 5 decimals in
a text output is first rounded to 5 (``1.2345678e-05`` -> ``1.23457e-05``), on both the
stored and the fresh side; then the file's patterns apply.
"""
from __future__ import annotations

import re

_LONG_DECIMAL = re.compile(r"(?<![\w.])(\d+\.\d{6,})(?![\d.])")


def round_floats(text: str, decimals: int = 5) -> str:
    """Every decimal number with more than ``decimals`` decimals, rounded to them."""
    return _LONG_DECIMAL.sub(lambda m: f"{float(m.group(1)):.{decimals}f}", text)


def pytest_configure(config):
    if not getattr(config.option, "nbval_sanitize_with", None):
        return
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:  # nbval not installed: nothing to patch
        return
    if getattr(IPyNbCell.sanitize, "_rounds_floats", False):
        return
    original = IPyNbCell.sanitize

    def sanitize(self, s):
        return original(self, round_floats(s) if isinstance(s, str) else s)

    sanitize._rounds_floats = True
    IPyNbCell.sanitize = sanitize
