"""The lesion and planted-module figures draw the numbers of their tables."""
import numpy as np
import pandas as pd
import pytest

from test_lesion_summary import lesions, metrics
from unitclust.figures import lesion_figure, planted_figure
from unitclust.lesion_summary import lesion_table
from unitclust.measures import MEASURES


def plotted_points(ax):
    """(x, y) of every errorbar's marker, in drawing order."""
    return [(float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in ax.lines
            if len(line.get_xdata()) == 1 and line.get_marker() == "o"]


def test_lesion_figure_shows_each_measure_s_mean_z():
    df = lesion_table(lesions(spec_up=0.5, spec_down=2.0, drop_up=1.0, drop_down=-1.0), metrics())
    fig = lesion_figure(df)
    spec_ax, drop_ax = fig.axes[:2]
    spec, drop = plotted_points(spec_ax), plotted_points(drop_ax)
    assert len(spec) == 2 * len(MEASURES)  # trained and untrained, every measure
    trained = sorted(p for p in spec if p[0] % 1 > 0.5)  # trained at x - 0.15
    assert [y for _, y in trained] == pytest.approx([0.5] * 4 + [2.0] * 4)
    assert sorted(y for x, y in drop if x % 1 > 0.5) == pytest.approx([-1.0] * 4 + [1.0] * 4)
    assert [t.get_text() for t in spec_ax.get_xticklabels()][0] == "cov"


def test_lesion_figure_without_valid_models_says_so():
    fig = lesion_figure(lesion_table({}, metrics()))
    assert any("no lesion tests" in t.get_text() for t in fig.axes[0].texts)


def recovery(sides=("both",)):
    rows = []
    for seed in range(3):
        for s in (0.0, 0.5, 1.0):
            for layer in ("layer1", "layer2"):
                for m in MEASURES:
                    for method in ("paper", "leiden"):
                        for side in sides:
                            rows.append({"strength": s, "seed": seed, "layer": layer, "measure": m, "method": method,
                                         "side": side, "element_sim": s * (1.0 if m.startswith("isens") else 0.5)
                                         + 0.01 * seed})
    return pd.DataFrame(rows)


def test_planted_figure_draws_mean_recovery_per_strength():
    fig = planted_figure(recovery())
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "paper clustering"
    lines = [line for line in fig.axes[0].lines if len(line.get_xdata()) == 3 and line.get_marker() == "o"]
    assert len(lines) == len(MEASURES)
    isens = lines[MEASURES.index("isens")]
    assert np.allclose(isens.get_xdata(), [0, 0.5, 1]) and np.allclose(isens.get_ydata(), [0.01, 0.51, 1.01])
    assert np.allclose(lines[MEASURES.index("cov")].get_ydata(), [0.01, 0.26, 0.51])


def test_planted_figure_has_a_row_per_side_when_they_differ():
    fig = planted_figure(recovery(sides=("upstream", "downstream")))
    assert len(fig.axes) == 4 and fig.axes[1].get_title() == "leiden clustering, upstream modules"
