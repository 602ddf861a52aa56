"""A small state-vector simulator of qubit circuits (Chapter 14, notebook 3).

A state of ``n`` qubits is a complex vector of length ``2**n``; qubit 0 is the
most significant bit of the basis index (``|q0 q1 ... q_{n-1}>``), so the
state reshaped to ``(2,) * n`` has qubit ``q`` on axis ``q``. A leading batch
dimension is allowed everywhere: states ``(B, 2**n)``, angles ``(B,)``.

- gates: ``rx``, ``ry``, ``rz`` (``exp(-i theta P / 2)``, eq. (14.3-1)), ``PAULI``,
  ``H`` and ``apply_1q`` / ``apply_cnot``;
- observables: ``pauli_string`` (a Kronecker product such as ``"ZZI"``),
  ``expval`` (``<psi|O|psi>`` for a Hermitian ``O``) and ``expval_z``;
- ``Circuit``: a list of gates whose angles are trainable weights or data
  features, ``run``, ``expval`` and the exact ``parameter_shift`` gradient.

Everything is numpy, complex128; the notebook checks it against a complex
torch implementation and torch autograd.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validate import check_int

__all__ = ["PAULI", "H", "rx", "ry", "rz", "zero_state", "apply_1q", "apply_cnot",
           "pauli_string", "expval", "expval_z", "Circuit"]

_I = np.eye(2, dtype=np.complex128)
PAULI = {
    "I": _I,
    "X": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "Z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}
H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)


def _angles(theta: Any, fn: str) -> np.ndarray:
    t = np.asarray(theta)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{fn}: theta must be real, got dtype {t.dtype}")
    if t.ndim > 1:
        raise ValueError(f"{fn}: theta must be a number or a 1-d batch (B,), "
                         f"got shape {t.shape}")
    return t.astype(np.float64)


def _rotation(theta: Any, pauli: str, fn: str) -> np.ndarray:
    """exp(-i theta P / 2) = cos(theta/2) I - i sin(theta/2) P; (2, 2) or (B, 2, 2)."""
    t = _angles(theta, fn)
    c, s = np.cos(t / 2), np.sin(t / 2)
    U = np.zeros((*t.shape, 2, 2), dtype=np.complex128)
    if pauli == "X":        # [[c, -i s], [-i s, c]]
        U[..., 0, 0] = U[..., 1, 1] = c
        U[..., 0, 1] = U[..., 1, 0] = -1j * s
    elif pauli == "Y":      # [[c, -s], [s, c]]
        U[..., 0, 0] = U[..., 1, 1] = c
        U[..., 0, 1], U[..., 1, 0] = -s, s
    else:                   # diag(c - i s, c + i s)
        U[..., 0, 0], U[..., 1, 1] = c - 1j * s, c + 1j * s
    return U


def rx(theta: Any) -> np.ndarray:
    """RX(theta) = exp(-i theta X / 2): (2, 2), or (B, 2, 2) for angles (B,)."""
    return _rotation(theta, "X", "rx")


def ry(theta: Any) -> np.ndarray:
    """RY(theta) = exp(-i theta Y / 2) = [[c, -s], [s, c]], c = cos(theta/2)."""
    return _rotation(theta, "Y", "ry")


def rz(theta: Any) -> np.ndarray:
    """RZ(theta) = exp(-i theta Z / 2) = diag(exp(-i theta/2), exp(i theta/2))."""
    return _rotation(theta, "Z", "rz")


def zero_state(n_qubits: int, batch: int | None = None) -> np.ndarray:
    """|0...0>: shape (2**n,), or (batch, 2**n)."""
    n = check_int(n_qubits, "zero_state", "n_qubits", minimum=1)
    shape = (1 << n,) if batch is None else (
        check_int(batch, "zero_state", "batch", minimum=1), 1 << n)
    psi = np.zeros(shape, dtype=np.complex128)
    psi[..., 0] = 1.0
    return psi


def _n_qubits(state: Any, fn: str) -> tuple[np.ndarray, int]:
    psi = np.asarray(state)
    if psi.dtype.kind not in "fc":
        raise TypeError(f"{fn}: state must be a complex array, got dtype {psi.dtype}")
    if psi.ndim not in (1, 2):
        raise ValueError(f"{fn}: state must be (2**n,) or (B, 2**n), "
                         f"got shape {psi.shape}")
    dim = psi.shape[-1]
    n = dim.bit_length() - 1
    if dim < 2 or dim != 1 << n:
        raise ValueError(f"{fn}: the state's length must be a power of 2, got {dim}")
    return psi.astype(np.complex128, copy=False), n


def _qubit(q: Any, n: int, fn: str, name: str = "qubit") -> int:
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be an int, got {type(q).__name__}")
    if not 0 <= q < n:
        raise ValueError(f"{fn}: {name} index {q} is out of range for {n} qubits "
                         f"(valid: 0..{n - 1})")
    return int(q)


def apply_1q(state: Any, U: Any, qubit: int) -> np.ndarray:
    """Apply a one-qubit gate ``U`` (2, 2) or a batch (B, 2, 2) to ``qubit``.

    The state viewed as (B, 2**q, 2, 2**(n-q-1)) is contracted with U on its
    third axis: psi'[b, a, i, c] = sum_j U[b, i, j] psi[b, a, j, c] (done as one
    batched matmul with that axis moved first).
    """
    psi, n = _n_qubits(state, "apply_1q")
    q = _qubit(qubit, n, "apply_1q")
    U = np.asarray(U, dtype=np.complex128)
    if U.shape[-2:] != (2, 2) or U.ndim not in (2, 3):
        raise ValueError(f"apply_1q: U must be (2, 2) or (B, 2, 2), got {U.shape}")
    single = psi.ndim == 1 and U.ndim == 2
    a, c = 1 << q, 1 << (n - q - 1)
    # the qubit's axis first: (B, 2, 2**q * 2**(n-q-1)), then one batched matmul
    v = psi.reshape(-1, a, 2, c).transpose(0, 2, 1, 3).reshape(-1, 2, a * c)
    out = U.reshape(-1, 2, 2) @ v                                    # (B, 2, a c)
    out = out.reshape(-1, 2, a, c).transpose(0, 2, 1, 3).reshape(-1, 1 << n)
    return out[0] if single else out


def apply_cnot(state: Any, control: int, target: int) -> np.ndarray:
    """CNOT: flip ``target`` on the basis states where ``control`` is 1."""
    psi, n = _n_qubits(state, "apply_cnot")
    c = _qubit(control, n, "apply_cnot", "control")
    t = _qubit(target, n, "apply_cnot", "target")
    if c == t:
        raise ValueError(f"apply_cnot: control and target must differ, got {c} twice")
    v = psi.reshape(-1, *([2] * n)).copy()
    idx = [slice(None)] * (n + 1)
    idx[c + 1] = 1
    sub = v[tuple(idx)]                    # control = 1: flip the target's axis
    axis = t if t < c else t - 1
    v[tuple(idx)] = np.flip(sub, axis=axis + 1)
    return v.reshape(psi.shape)


def pauli_string(paulis: str) -> np.ndarray:
    """The Kronecker product of one Pauli per qubit, e.g. ``"ZZI"``: (2**n, 2**n)."""
    if not isinstance(paulis, str) or not paulis or set(paulis) - set("IXYZ"):
        raise ValueError(f"pauli_string: expected a string over 'IXYZ' such as "
                         f"'ZI', got {paulis!r}")
    M = np.ones((1, 1), dtype=np.complex128)
    for p in paulis:
        M = np.kron(M, PAULI[p])
    return M


def expval(state: Any, observable: Any, *, atol: float = 1e-10) -> np.ndarray:
    """<psi| O |psi> for a Hermitian ``O`` (2**n, 2**n): a float, or (B,).

    A non-Hermitian matrix is refused: its "expectation" is complex and is not
    the mean of any measurement.
    """
    psi, n = _n_qubits(state, "expval")
    O = np.asarray(observable)
    if O.shape != (1 << n, 1 << n):
        raise ValueError(f"expval: observable must be ({1 << n}, {1 << n}) for {n} "
                         f"qubits, got shape {O.shape}")
    dev = float(np.abs(O - O.conj().T).max())
    if dev > atol:
        raise ValueError(f"expval: observable must be Hermitian (O == O^dagger), "
                         f"but max |O - O^dagger| = {dev:.3g}")
    val = np.einsum("...i,ij,...j->...", psi.conj(), O, psi)
    return val.real


def expval_z(state: Any, qubits: int | Sequence[int]) -> np.ndarray:
    """<Z_q1 Z_q2 ...>: sum over basis states of |psi|^2 times the parity sign."""
    psi, n = _n_qubits(state, "expval_z")
    if isinstance(qubits, (list, tuple, np.ndarray)):
        qs = list(qubits)
    else:
        qs = [qubits]
    if not qs:
        raise ValueError("expval_z: give at least one qubit")
    sign = np.ones(1 << n)
    basis = np.arange(1 << n)
    for q in qs:
        q = _qubit(q, n, "expval_z")
        sign = sign * (1 - 2 * ((basis >> (n - 1 - q)) & 1))
    return (np.abs(psi) ** 2) @ sign


_GATES = {"RX": rx, "RY": ry, "RZ": rz}


class Circuit:
    """A parameterized circuit: gates applied in order to |0...0>.

    ``ops`` is a list of tuples:

    - ``("H", q)``, ``("X", q)``: fixed one-qubit gates;
    - ``("CNOT", control, target)``;
    - ``("RY", q, ("w", i))``: a rotation by trainable weight ``w[i]``;
    - ``("RY", q, ("x", k, scale))``: a rotation by ``scale * x[:, k]`` (data).

    Each weight drives exactly one gate (so the parameter-shift rule applies
    gate by gate). ``run(w, x)`` takes ``w`` of shape (P,) or (B, P) and ``x``
    of shape (B, K) or None, and returns states (2**n,) or (B, 2**n).
    """

    def __init__(self, n_qubits: int, ops: Sequence[tuple]) -> None:
        self.n_qubits = check_int(n_qubits, "Circuit", "n_qubits", minimum=1)
        n, used = self.n_qubits, []
        self.ops: list[tuple] = []
        for op in ops:
            if not isinstance(op, tuple) or not op:
                raise TypeError(f"Circuit: each op must be a tuple, got {op!r}")
            name = op[0]
            if name in ("H", "X"):
                if len(op) != 2:
                    raise ValueError(f"Circuit: {name} takes one qubit, got {op!r}")
                _qubit(op[1], n, "Circuit", f"{name} qubit")
            elif name == "CNOT":
                if len(op) != 3 or op[1] == op[2]:
                    raise ValueError(f"Circuit: CNOT takes (control, target), "
                                     f"distinct, got {op!r}")
                _qubit(op[1], n, "Circuit", "CNOT control")
                _qubit(op[2], n, "Circuit", "CNOT target")
            elif name in _GATES:
                if len(op) != 3 or not isinstance(op[2], tuple):
                    raise ValueError(f"Circuit: {name} takes (qubit, source), got "
                                     f"{op!r}")
                _qubit(op[1], n, "Circuit", f"{name} qubit")
                src = op[2]
                if src[0] == "w" and len(src) == 2:
                    check_int(src[1], "Circuit", "weight index", minimum=0)
                    used.append(int(src[1]))
                elif src[0] == "x" and len(src) == 3:
                    check_int(src[1], "Circuit", "feature index", minimum=0)
                else:
                    raise ValueError(f"Circuit: a rotation's source is ('w', i) or "
                                     f"('x', k, scale), got {src!r}")
            else:
                raise ValueError(f"Circuit: unknown gate {name!r}; known: H, X, "
                                 f"CNOT, RX, RY, RZ")
            self.ops.append(op)
        if sorted(used) != list(range(len(used))):
            raise ValueError(f"Circuit: weights must be indexed 0..P-1, each used by "
                             f"exactly one gate; got indices {sorted(used)}")
        self.n_params = len(used)

    def run(self, w: Any, x: Any = None) -> np.ndarray:
        """The final state (2**n,) or (B, 2**n)."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape[-1:] != (self.n_params,) or w.ndim > 2:
            raise ValueError(f"Circuit.run: w must be ({self.n_params},) or "
                             f"(B, {self.n_params}), got shape {w.shape}")
        if x is not None:
            x = np.asarray(x, dtype=np.float64)
            if x.ndim != 2:
                raise ValueError(f"Circuit.run: x must be (B, K), got shape {x.shape}")
        B = max(w.shape[0] if w.ndim == 2 else 1, 1 if x is None else x.shape[0])
        batched = w.ndim == 2 or x is not None
        psi = zero_state(self.n_qubits, B)
        for op in self.ops:
            name = op[0]
            if name in ("H", "X"):
                psi = apply_1q(psi, H if name == "H" else PAULI["X"], op[1])
            elif name == "CNOT":
                psi = apply_cnot(psi, op[1], op[2])
            else:
                src = op[2]
                if src[0] == "w":
                    angle = w[..., src[1]]
                else:
                    if x is None or src[1] >= x.shape[1]:
                        raise ValueError(f"Circuit.run: op {op!r} needs feature "
                                         f"{src[1]} of x")
                    angle = src[2] * x[:, src[1]]
                psi = apply_1q(psi, _GATES[name](angle), op[1])
        return psi if batched else psi[0]

    def expval(self, w: Any, observable: Any, x: Any = None) -> np.ndarray:
        """f(w) = <psi(w, x)| O |psi(w, x)>, O a Hermitian matrix or Z-qubit list."""
        psi = self.run(w, x)
        if isinstance(observable, (int, np.integer, list, tuple)):
            return expval_z(psi, observable)
        return expval(psi, observable)

    def parameter_shift(self, w: Any, observable: Any, x: Any = None,
                        shift: float = np.pi / 2) -> np.ndarray:
        """df/dw_i = [f(w + s e_i) - f(w - s e_i)] / (2 sin s), exact for s = pi/2.

        Eq. (eq-qnn-shift) of notebook 14.3: for a gate exp(-i w P / 2) with P a
        Pauli, f is a + b cos w + c sin w in w, hence exact. Returns (P,) or
        (B, P): two circuit runs per weight.
        """
        w = np.asarray(w, dtype=np.float64)
        P = self.n_params
        if w.shape[-1:] != (P,) or w.ndim > 2:
            raise ValueError(f"Circuit.parameter_shift: w must be ({P},) or (B, {P}),"
                             f" got shape {w.shape}")
        batched = w.ndim == 2 or x is not None
        B = x.shape[0] if x is not None else (w.shape[0] if w.ndim == 2 else 1)
        W = np.broadcast_to(w, (B, P))
        E = shift * np.eye(P)[:, None, :]                    # (P, 1, P)
        W_all = np.concatenate([W + E, W - E]).reshape(2 * P * B, P)
        x_all = None if x is None else np.tile(np.asarray(x, dtype=np.float64),
                                               (2 * P, 1))
        # all 2P shifted circuits in one batched run: f of shape (2, P, B)
        f = self.expval(W_all, observable, x_all).reshape(2, P, B)
        grad = ((f[0] - f[1]) / (2 * np.sin(shift))).T       # (B, P)
        return grad if batched else grad[0]
