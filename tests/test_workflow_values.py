"""End to end, the values: what the tiny workflow run computed is right, not only present."""
import json

import h5py
import numpy as np
import pandas as pd
import pytest

from support.workflow_helpers import TINY_RESULTS
from unitclust.clustering.objective import adjacency, modularity, modularity_matrix
from unitclust.measures import MEASURES
from unitclust.scorecard import FINDINGS

pytestmark = pytest.mark.e2e
R = TINY_RESULTS
# Trained 16-12 nets on digits reach 0.76-0.85 test accuracy in the tiny config's 40 epochs;
# chance is 0.10.  0.6 is far above chance and below every setting's accuracy.
ACCURACY_FLOOR = 0.6


def models(tiny, trained=None):
    dirs = sorted(p.parent for p in (tiny / R / "models").rglob("model.pt"))
    if trained is None:
        return dirs
    return [d for d in dirs if ("untrained" not in str(d)) == trained]


def test_trained_models_learn_and_untrained_are_at_chance(tiny):
    for d in models(tiny, trained=True):
        m = json.loads((d / "metrics.json").read_text())
        assert m["test_acc"] > ACCURACY_FLOOR, (d, m["test_acc"])
        assert m["train_loss"] < 2.0 and not m["diverged"]
    for d in models(tiny, trained=False):
        m = json.loads((d / "metrics.json").read_text())
        assert m["test_acc"] < 0.3 and m["epochs"] == 0


def test_similarity_matrices_are_symmetric_finite_and_normalized(tiny):
    for d in models(tiny):
        with h5py.File(d / "similarity.h5") as f:
            assert sorted(f) == ["layer1", "layer2"] and f.attrs["status"] == "ok"
            for layer, n in (("layer1", 16), ("layer2", 12)):
                assert sorted(f[layer]) == sorted(MEASURES)
                for m in MEASURES:
                    S = f[layer][m][()]
                    assert S.shape == (n, n) and np.isfinite(S).all() and (S >= 0).all(), (d, layer, m)
                    np.testing.assert_allclose(S, S.T, rtol=1e-12, atol=0)
                    if m.endswith("_norm"):
                        base = np.diag(f[layer][m.removesuffix("_norm")][()])
                        np.testing.assert_allclose(np.diag(S)[base > 1e-12], 1.0, rtol=1e-12)
                        assert S.max() <= 1 + 1e-12


def test_every_q_is_eq8_of_the_stored_labels_and_in_range(tiny):
    """Q* recomputed by eq. 8 from similarity.h5 and the labels in clusters.h5; 0 <= Q(init) <= Q* < 1
    (Algorithm 3 keeps the best state it saw, the spectral start included)."""
    checked = 0
    for d in models(tiny):
        with h5py.File(d / "similarity.h5") as fs, h5py.File(d / "clusters.h5") as fc:
            for layer in ("layer1", "layer2"):
                for m in MEASURES:
                    labels, attrs = fc[layer][m][()], fc[layer][m].attrs
                    A, used = adjacency(fs[layer][m][()])
                    assert np.array_equal(labels < 0, ~used)
                    q = modularity(modularity_matrix(A[np.ix_(used, used)]), labels[used])
                    assert attrs["q"] == pytest.approx(q, abs=1e-12), (d, layer, m)
                    assert -1e-12 <= attrs["q_init"] <= attrs["q"] + 1e-12 < 1
                    sizes = np.bincount(labels[used]) / used.sum()
                    assert attrs["n_clusters"] == pytest.approx(np.exp(-(sizes * np.log(sizes)).sum()))
                    checked += 1
    assert checked == 5 * 2 * 8


def test_cluster_similarity_is_a_similarity_matrix(tiny):
    for d in models(tiny):
        with h5py.File(d / "cluster_similarity.h5") as f:
            for layer in ("layer1", "layer2"):
                M = f[layer][()]
                assert [str(m) for m in f[layer].attrs["measures"]] == list(MEASURES)
                np.testing.assert_allclose(np.diag(M), 1.0)
                np.testing.assert_allclose(M, M.T)
                assert ((M > 0) & (M <= 1 + 1e-12)).all()


def test_tables_agree_with_the_model_files(tiny):
    mod = pd.read_csv(tiny / R / "tables/modularity.csv")
    met = pd.read_csv(tiny / R / "tables/metrics.csv").set_index("model")
    for d in models(tiny):
        model = f"{d.parent.name}/{d.name}"
        m = json.loads((d / "metrics.json").read_text())
        assert met.loc[model, "test_acc"] == pytest.approx(m["test_acc"])
        assert met.loc[model, "valid"] == (not m["trained"] or m["test_acc"] >= 0.7)  # tiny.yaml's cutoff
        with h5py.File(d / "clusters.h5") as f:
            rows = mod[mod["model"] == model].set_index(["layer", "measure"])
            for layer in (1, 2):
                for meas in MEASURES:
                    assert rows.loc[(layer, meas), "q"] == pytest.approx(f[f"layer{layer}"][meas].attrs["q"])
    findings = pd.read_csv(tiny / R / "tables/findings.csv")
    assert set(findings["verdict"]) <= {"yes", "no", "inconclusive", "not applicable"}
    assert len(findings) == len(FINDINGS)
    assert findings.set_index("finding").loc["models_below_cutoff", "value"] == 0.0


def _data_artists(ax) -> int:
    """Lines with at least two finite points, images and non-empty collections on an axes."""
    n = sum(np.isfinite(np.asarray(line.get_ydata(), dtype=float)).sum() >= 2 for line in ax.get_lines())
    n += len(ax.get_images())
    n += sum(len(c.get_paths()) > 0 for c in ax.collections)
    return int(n)


def test_every_figure_draws_data(tiny):
    """Rebuild each figure from the run's tables and look at the figure objects: every panel that
    should show data does, and no panel is a placeholder."""
    from unitclust import figures, io
    from unitclust.tables import n_excluded

    t = io.read_tables(**{n: tiny / R / f"tables/{n}.csv" for n in
                          ("modularity", "sweeps", "metrics", "cluster_similarity", "history")})
    built = {
        "fig3": figures.fig3(t["modularity"], t["sweeps"], n_excluded(t["metrics"])),
        "fig4": figures.fig4(t["cluster_similarity"], n_excluded(t["metrics"])),
        "figS1": figures.figS1(t["metrics"], t["sweeps"]),
        "figS2": figures.figS2(t["modularity"]),
        "figS3": figures.figS3(t["modularity"], t["sweeps"], n_excluded(t["metrics"])),
        "figS4": figures.figS4(t["modularity"], t["sweeps"], n_excluded(t["metrics"])),
        "figS5": figures.figS5(t["cluster_similarity"], t["sweeps"], n_excluded(t["metrics"])),
        "training_curves": figures.training_curves(t["history"], t["sweeps"]),
    }
    for name, fig in built.items():
        axes = [ax for ax in fig.get_axes() if ax.get_label() != "<colorbar>" and ax.axison and ax.get_visible()]
        texts = " ".join(txt.get_text() for ax in axes for txt in ax.texts)
        assert "no valid models" not in texts and "no training history" not in texts, name
        empty = [ax.get_title() or ax.get_ylabel() for ax in axes if not _data_artists(ax)]
        assert axes and not empty, (name, empty)


def test_report_holds_every_caption_and_the_tables(tiny, tmp_path):
    from support.workflow_helpers import snakemake

    report = tmp_path / "report.html"
    snakemake(tiny, "--report", str(report))
    html = report.read_text(errors="replace")
    produced = ({p.stem for p in (tiny / R / "figures").glob("*.png")} | {"findings"}
                | {f"table_{p.stem}" for p in (tiny / R / "tables").glob("*.csv")})
    for caption in sorted((tiny / "workflow/report").glob("*.rst")):
        if caption.stem not in produced:  # workflow.rst, and figures this config does not make
            continue
        first_words = caption.read_text().split("**")[1]  # the bold title, e.g. "Fig. 3."
        assert first_words in html, caption.name
    for table in ("findings", "metrics", "modularity", "cluster_similarity"):
        assert f"{table}.csv" in html, table
