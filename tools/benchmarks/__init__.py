"""Kernel benchmarks: dlmath's numpy kernels against their torch counterparts.

Each module here (``conv.py``, ``recurrent.py``, ...) defines ``BENCHMARKS``, a
list of ``Case``s; ``timing.compare`` times one case. ``tools/bench.py`` runs
them all (``make bench``).
"""
