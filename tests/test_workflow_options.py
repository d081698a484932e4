"""Options through the workflow: per_input |.|, sqrt normalization, restarts > 1, unused: shared and
Leiden each change the outputs they should, and only those."""

import h5py
import numpy as np
import pytest

from support.workflow_helpers import (FIGURE_RULES, SUMMARY_RULES, TABLE_RULES, TINY_RESULTS, copy_run,
                                      planned_rules, snakemake, write_config)
from unitclust.clustering.cluster import cluster_matrix
from unitclust.clustering.objective import adjacency, modularity, modularity_matrix
from unitclust.compare import similarity_matrix
from unitclust.measures import BASE_MEASURES, MEASURES
from unitclust.seeds import stable_seed

pytestmark = pytest.mark.e2e
R = TINY_RESULTS
OPTIONS = dict(similarity__abs_placement="per_input", similarity__normalization="sqrt", clustering__restarts=3,
               compare__unused="shared", compare__metrics=["element_sim", "nmi"], compare__n_perm=30,
               significance__n_null=2)
DOWNSTREAM_OF_CLUSTERS = {"cluster", "compare", "table_modularity", "table_cluster_similarity", "scorecard",
                          "fig3", "fig4", "figS2", "figS3", "figS4", "figS5"} | SUMMARY_RULES


@pytest.fixture(scope="module")
def optioned(tiny, tmp_path_factory):
    """The tiny run, then every option of OPTIONS at once: what the run plans, and the run."""
    work = copy_run(tiny, tmp_path_factory.mktemp("options") / "run")
    write_config(work, "tiny.yaml", **OPTIONS)
    (work / "plan.txt").write_text("\n".join(sorted(planned_rules(snakemake(work, "-n").stdout))))
    snakemake(work, "--cores", "2")
    return work


def model_dirs(work):
    return sorted(p.parent.relative_to(work / R / "models") for p in (work / R / "models").rglob("model.pt"))


@pytest.mark.parametrize("override,expected", [
    ({"similarity__abs_placement": "per_input"}, {"similarity"} | DOWNSTREAM_OF_CLUSTERS),
    ({"similarity__normalization": "sqrt"}, {"similarity"} | DOWNSTREAM_OF_CLUSTERS),
    ({"clustering__restarts": 3}, DOWNSTREAM_OF_CLUSTERS),
    ({"clustering__method": "leiden"}, DOWNSTREAM_OF_CLUSTERS),
    ({"compare__unused": "shared"}, {"compare", "table_cluster_similarity", "scorecard", "fig4", "figS5"}),
])
def test_each_option_reruns_exactly_its_stage_and_what_depends_on_it(tiny, override, expected):
    cfg = write_config(tiny, "option.yaml", **override)
    rules = planned_rules(snakemake(tiny, "-n", config=cfg).stdout) - {"all"}
    assert rules == expected, sorted(rules ^ expected)
    assert rules <= {"similarity"} | DOWNSTREAM_OF_CLUSTERS | TABLE_RULES | FIGURE_RULES | SUMMARY_RULES


def test_training_is_untouched_by_analysis_options(tiny, optioned):
    """All the analysis options at once rerun every analysis stage and no training job; the models
    of the two runs are the same files."""
    plan = set((optioned / "plan.txt").read_text().split())
    assert {"similarity", "cluster", "compare"} <= plan and not plan & {"train", "init_untrained"}, plan
    assert model_dirs(tiny) == model_dirs(optioned)
    for rel in model_dirs(tiny):
        a, b = (w / R / "models" / rel / "model.pt" for w in (tiny, optioned))
        assert a.read_bytes() == b.read_bytes() and a.stat().st_mtime_ns == b.stat().st_mtime_ns, rel


def test_per_input_abs_and_sqrt_normalization_change_the_matrices_as_defined(tiny, optioned):
    """mean |term| >= |mean term| entrywise (triangle inequality), strictly somewhere; the _norm
    matrices are S_ij / sqrt(S_ii S_jj)."""
    for rel in model_dirs(tiny):
        with h5py.File(tiny / R / "models" / rel / "similarity.h5") as fa, \
                h5py.File(optioned / R / "models" / rel / "similarity.h5") as fb:
            assert fb["layer1/cov"].attrs["abs_placement"] == "per_input"
            assert fb["layer1/cov"].attrs["normalization"] == "sqrt"
            for layer in ("layer1", "layer2"):
                for m in BASE_MEASURES:
                    averaged, per_input = fa[layer][m][()], fb[layer][m][()]
                    scale = np.abs(averaged).max()  # deep-layer isens has float32 blocks: ~2e-7 of the max
                    assert (per_input >= averaged - 1e-6 * scale).all(), (rel, layer, m)
                    d = np.diag(per_input)
                    expected = per_input / np.maximum(np.sqrt(np.outer(d, d)), 1e-12)
                    np.testing.assert_allclose(fb[layer][f"{m}_norm"][()], expected, rtol=1e-12, atol=1e-15)
                assert any(not np.allclose(fa[layer][m][()], fb[layer][m][()]) for m in BASE_MEASURES)


def test_restarts_never_lose_to_one_chain_and_q_is_eq8(optioned):
    for rel in model_dirs(optioned):
        with h5py.File(optioned / R / "models" / rel / "similarity.h5") as fs, \
                h5py.File(optioned / R / "models" / rel / "clusters.h5") as fc:
            assert fc.attrs["restarts"] == 3
            for layer in ("layer1", "layer2"):
                for m in MEASURES:
                    S, q = fs[layer][m][()], fc[layer][m].attrs["q"]
                    one = cluster_matrix(S, seed=stable_seed(0, str(rel), layer, m), mc_steps=200, restarts=1)
                    assert q >= one.q - 1e-12, (rel, layer, m)
                    A, used = adjacency(S)
                    labels = fc[layer][m][()]
                    assert q == pytest.approx(modularity(modularity_matrix(A[np.ix_(used, used)]), labels[used]),
                                              abs=1e-12)


def test_shared_unused_policy_is_what_the_comparison_used(optioned):
    for rel in model_dirs(optioned):
        with h5py.File(optioned / R / "models" / rel / "clusters.h5") as fc, \
                h5py.File(optioned / R / "models" / rel / "cluster_similarity.h5") as fk:
            assert fk.attrs["unused"] == "shared"
            for layer in ("layer1", "layer2"):
                labels = {m: fc[layer][m][()] for m in MEASURES}
                np.testing.assert_allclose(fk[layer][()], similarity_matrix(labels, MEASURES, unused="shared"))


def test_leiden_reruns_clustering_only_and_its_q_is_eq8(optioned):
    before = {rel: (optioned / R / "models" / rel / "similarity.h5").stat().st_mtime_ns for rel in model_dirs(optioned)}
    cfg = write_config(optioned, "leiden.yaml", clustering__method="leiden", **OPTIONS)
    # only the clusterings (the later stages are the same jobs as for the paper's method)
    snakemake(optioned, *(f"{R}/models/{rel}/clusters.h5" for rel in before), "--cores", "2", config=cfg)
    for rel, mtime in before.items():
        assert (optioned / R / "models" / rel / "similarity.h5").stat().st_mtime_ns == mtime
        with h5py.File(optioned / R / "models" / rel / "similarity.h5") as fs, \
                h5py.File(optioned / R / "models" / rel / "clusters.h5") as fc:
            assert fc.attrs["method"] == "leiden"
            for layer in ("layer1", "layer2"):
                for m in MEASURES:
                    attrs = fc[layer][m].attrs
                    assert np.isnan(attrs["q_init"])  # Leiden has no spectral initialization
                    A, used = adjacency(fs[layer][m][()])
                    q = modularity(modularity_matrix(A[np.ix_(used, used)]), fc[layer][m][()][used])
                    assert attrs["q"] == pytest.approx(q, abs=1e-12) and attrs["q"] >= -1e-12


def test_significance_options_fill_the_tables_and_make_their_figures(optioned):
    import pandas as pd

    mod = pd.read_csv(optioned / R / "tables/modularity.csv")
    assert mod[["null_mean", "null_sd", "z", "percentile"]].notna().all().all()
    cs = pd.read_csv(optioned / R / "tables/cluster_similarity.csv")
    assert set(cs["metric"]) == {"element_sim", "nmi"}
    off = cs[cs["measure_a"] != cs["measure_b"]]
    es = off[off["metric"] == "element_sim"]
    assert es["chance_mean"].notna().all() and es["p_value"].between(1 / 31, 1).all()
    # nmi is undefined (NaN) between degenerate clusterings (e.g. all units unused); elsewhere it has a chance level
    defined = off[off["similarity"].notna()]
    assert defined["chance_mean"].notna().all() and defined["p_value"].between(1 / 31, 1).all()
    for name in ("fig3_z", "fig4_nmi", "figS5_nmi"):
        assert (optioned / R / f"figures/{name}.png").read_bytes()[:4] == b"\x89PNG"
