import numpy as np
import pytest

from dlmath import data


def test_digits_split_is_deterministic_and_complete():
    a = data.load_digits()
    b = data.load_digits()
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    X_train, y_train, X_test, y_test = a
    assert X_train.shape[1] == 64 and X_train.dtype == np.float64
    assert len(X_train) + len(X_test) == 1797
    assert len(X_test) == round(0.25 * 1797)
    assert 0.0 <= X_train.min() and X_train.max() <= 1.0
    assert set(np.unique(y_train)) == set(range(10)) and y_train.dtype == np.int64
    assert data.load_digits(images=True).X_train.shape[1:] == (8, 8)
    c = data.load_digits(seed=1)
    assert not np.array_equal(a.y_train, c.y_train)


@pytest.mark.parametrize("make", [data.make_blobs, data.make_moons, data.make_spirals])
def test_generators_are_seeded(make):
    X1, y1 = make(n=50, seed=3)
    X2, y2 = make(n=50, seed=3)
    X3, _ = make(n=50, seed=4)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (50, 2) and y1.shape == (50,)
    assert not np.array_equal(X1, X3)


def test_linear_regression_truth_is_recoverable():
    X, y, w, b = data.make_linear_regression(n=2000, d=3, noise=0.01, seed=0)
    A = np.hstack([X, np.ones((len(X), 1))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(coef, np.r_[w, b], atol=5e-3)


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        data.train_test_split(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(np.zeros((3, 2)), np.zeros(3), test_fraction=1.5)
    with pytest.raises(TypeError, match="n must be an int"):
        data.make_moons(n=2.5)
    with pytest.raises(ValueError, match="centers must have 2 dims"):
        data.make_blobs(centers=np.zeros(3))


def test_stored_tables_are_package_data_and_bad_names_are_refused():
    """Notebooks read their stored tables from the package (as on Colab)."""
    import pytest

    from dlmath.data import stored_table

    assert stored_table("gpt_vs_lstm")["rows"]
    assert stored_table("plain_vs_residual")["rows"]
    with pytest.raises(ValueError, match="expected one of .*got 'nope'"):
        stored_table("nope")
    with pytest.raises(TypeError, match="must be a str"):
        stored_table(3)
