"""dlmath.quantum against a complex128 torch simulator built from full Kronecker
matrices (another algorithm), the parameter-shift rule against torch autograd,
and bad inputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmath import quantum as Q
from dlmath.check import assert_close

C128 = torch.complex128


def t_rot(theta, pauli):
    """exp(-i theta P / 2) in torch, differentiable in theta."""
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    P = torch.tensor(Q.PAULI[pauli], dtype=C128)
    return c.to(C128) * torch.eye(2, dtype=C128) - 1j * s.to(C128) * P


def t_full(U, q, n):
    """U on qubit q of n as a (2**n, 2**n) matrix: I ⊗ .. ⊗ U ⊗ .. ⊗ I."""
    M = torch.ones(1, 1, dtype=C128)
    for j in range(n):
        M = torch.kron(M, U if j == q else torch.eye(2, dtype=C128))
    return M


def t_cnot(c, t, n):
    M = torch.zeros(2 ** n, 2 ** n, dtype=C128)
    for i in range(2 ** n):
        bits = [(i >> (n - 1 - k)) & 1 for k in range(n)]
        if bits[c]:
            bits[t] ^= 1
        M[sum(b << (n - 1 - k) for k, b in enumerate(bits)), i] = 1
    return M


def t_run(circuit, w):
    n = circuit.n_qubits
    psi = torch.zeros(2 ** n, dtype=C128)
    psi[0] = 1
    for op in circuit.ops:
        if op[0] == "CNOT":
            psi = t_cnot(op[1], op[2], n) @ psi
        elif op[0] in ("H", "X"):
            U = torch.tensor(Q.H if op[0] == "H" else Q.PAULI["X"], dtype=C128)
            psi = t_full(U, op[1], n) @ psi
        else:
            psi = t_full(t_rot(w[op[2][1]], op[0][1]), op[1], n) @ psi
    return psi


def random_circuit(n, layers, g):
    ops, k = [("H", 0)], 0
    for _ in range(layers):
        for q in range(n):
            ops.append((str(g.choice(["RX", "RY", "RZ"])), q, ("w", k)))
            k += 1
        for q in range(n - 1):
            ops.append(("CNOT", q, q + 1))
    return Q.Circuit(n, ops)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), layers=st.integers(1, 3), seed=st.integers(0, 2**31))
def test_circuit_state_and_parameter_shift_match_torch(n, layers, seed):
    g = np.random.default_rng(seed)
    circ = random_circuit(n, layers, g)
    w = g.uniform(-np.pi, np.pi, circ.n_params)
    O = g.standard_normal((2 ** n, 2 ** n)) + 1j * g.standard_normal((2 ** n, 2 ** n))
    O = O + O.conj().T                                   # a random Hermitian matrix
    wt = torch.tensor(w, requires_grad=True)
    psi_t = t_run(circ, wt)
    f = (psi_t.conj() @ torch.tensor(O) @ psi_t).real
    f.backward()
    psi = circ.run(w)
    assert_close(psi.real, psi_t.real.detach(), rtol=1e-12, atol=1e-12, verbose=False)
    assert_close(psi.imag, psi_t.imag.detach(), rtol=1e-12, atol=1e-12, verbose=False)
    assert_close(circ.expval(w, O), f.detach(), rtol=1e-11, atol=1e-11, verbose=False)
    assert_close(circ.parameter_shift(w, O), wt.grad, rtol=1e-10, atol=1e-11,
                 verbose=False)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**31))
def test_expval_z_is_the_pauli_string_expectation(n, seed):
    g = np.random.default_rng(seed)
    psi = g.standard_normal(2 ** n) + 1j * g.standard_normal(2 ** n)
    psi /= np.linalg.norm(psi)
    qs = sorted(set(g.integers(0, n, size=g.integers(1, n + 1)).tolist()))
    label = "".join("Z" if q in qs else "I" for q in range(n))
    assert_close(Q.expval_z(psi, qs), Q.expval(psi, Q.pauli_string(label)),
                 rtol=1e-12, atol=1e-12, verbose=False)


def test_batched_run_equals_one_by_one():
    g = np.random.default_rng(0)
    circ = Q.Circuit(2, [("RY", 0, ("x", 0, 1.0)), ("RY", 1, ("x", 1, 0.5)),
                         ("RY", 0, ("w", 0)), ("CNOT", 0, 1), ("RX", 1, ("w", 1))])
    x, w = g.standard_normal((5, 2)), g.standard_normal(2)
    batch = circ.run(w, x)
    for i in range(5):
        assert_close(batch[i].real, circ.run(w, x[i:i + 1])[0].real, rtol=0,
                     atol=1e-15, verbose=False)


def test_rotations_are_unitary_and_half_angle():
    for gate in (Q.rx, Q.ry, Q.rz):
        U = gate(0.7)
        assert_close(np.abs(U.conj().T @ U), np.eye(2), rtol=0, atol=1e-15,
                     verbose=False)
        assert_close(np.abs(gate(2 * np.pi) + np.eye(2)), np.zeros((2, 2)), rtol=0,
                     atol=1e-15, verbose=False)       # exp(-i pi P) = -I


def test_bad_inputs_are_refused():
    psi = Q.zero_state(2)
    with pytest.raises(ValueError, match="out of range for 2 qubits"):
        Q.apply_1q(psi, Q.H, 2)
    with pytest.raises(ValueError, match="out of range"):
        Q.apply_cnot(psi, 0, 5)
    with pytest.raises(ValueError, match="must differ"):
        Q.apply_cnot(psi, 1, 1)
    with pytest.raises(ValueError, match="out of range for 3 qubits"):
        Q.Circuit(3, [("RY", 3, ("w", 0))])
    with pytest.raises(ValueError, match="Hermitian"):
        Q.expval(psi, np.triu(np.ones((4, 4))))
    with pytest.raises(ValueError, match="power of 2"):
        Q.expval_z(np.ones(3, dtype=complex), 0)
    with pytest.raises(ValueError, match="observable must be"):
        Q.expval(psi, np.eye(2))
    with pytest.raises(ValueError, match="exactly one gate"):
        Q.Circuit(1, [("RY", 0, ("w", 0)), ("RX", 0, ("w", 0))])
    with pytest.raises(ValueError, match="unknown gate"):
        Q.Circuit(1, [("T", 0)])
    with pytest.raises(ValueError, match="over 'IXYZ'"):
        Q.pauli_string("ZQ")
    with pytest.raises(TypeError, match="must be an int"):
        Q.expval_z(psi, 0.5)
