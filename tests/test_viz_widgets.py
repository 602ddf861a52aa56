"""The figure and widget helpers draw, and reject bad input clearly."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlmath import viz, widgets  # noqa: E402


def test_helpers_draw():
    ax = viz.plot_transform([[2.0, 1.0], [0.0, 1.0]])
    assert len(ax.lines) > 20
    viz.plot_vectors([[1, 0], [0, 1]], labels=["a", "b"])
    viz.heatmap(np.eye(3), annotate=True)
    viz.plot_curves({"a": [1, 2, 3], "b": [3, 2, 1]}, logy=True)
    fig = viz.image_grid(np.zeros((5, 8, 8)), titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6
    from dlmath.landscapes import rosenbrock
    ax = viz.contour(None, rosenbrock, ((-2, 2), (-1, 3)), log=True, n=50)
    assert ax.get_xlim() == (-2, 2) and ax.get_xlabel() == "$x_1$"
    plt.close("all")


def test_helpers_reject_bad_shapes():
    with pytest.raises(ValueError, match=r"plot_transform: A must be \(2, 2\)"):
        viz.plot_transform(np.eye(3))
    with pytest.raises(ValueError, match=r"plot_vectors: vectors must be \(k, 2\)"):
        viz.plot_vectors(np.ones((2, 3)))
    with pytest.raises(ValueError, match="image_grid: images must have 3 dims"):
        viz.image_grid(np.ones((8, 8)))


def test_widgets_build():
    box = widgets.transform_explorer()
    assert len(box.children) == 3  # two rows of sliders and the plot
    image = box.children[-1]
    first = image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    box.children[0].children[0].value = -1.0  # moving a slider redraws
    assert image.value != first
    with pytest.raises(ValueError, match="slider: value must lie in"):
        widgets.slider(5, 0, 1)
    with pytest.raises(TypeError, match="draw must be callable"):
        widgets.interactive_plot(3, {})
    with pytest.raises(TypeError, match="controls must be a non-empty dict"):
        widgets.interactive_plot(lambda ax: None, {})
    plt.close("all")
