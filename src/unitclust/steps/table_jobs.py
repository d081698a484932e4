"""The per-experiment jobs: tidy tables, the scorecard, the robustness table and figure inputs
(see :mod:`unitclust.steps`)."""

from __future__ import annotations

import numpy as np

from .. import io
from ..settings import AnalysisOptions


# ------------------------------------------------------------------ tables
def model_id_of(path: str) -> str:
    """'results/x/models/<setting>/seed=3/clusters.h5' -> '<setting>/seed=3'."""
    parts = str(path).split("/")
    return "/".join(parts[-3:-1])


def metrics_table_from_files(paths, out_path, *, accuracy_cutoff: float):
    """metrics.csv from every model's metrics JSON."""
    from ..tables import metrics_table

    df = metrics_table({model_id_of(p): io.read_json(p) for p in paths}, accuracy_cutoff)
    io.write_csv(df, out_path)
    trained = df[df["trained"]]
    print(f"{len(df)} models ({len(trained)} trained); {int((~trained['valid']).sum())} trained models excluded "
          f"(test accuracy < {accuracy_cutoff} or diverged); median test accuracy {trained['test_acc'].median():.4f}")
    return df


def modularity_table_from_files(cluster_paths, metrics_path, out_path):
    """modularity.csv from every model's cluster file."""
    from ..tables import modularity_table

    clusters = {model_id_of(p): io.read_h5_matrices(p)[1] for p in cluster_paths}
    df = modularity_table(clusters, io.read_table(metrics_path))
    io.write_csv(df, out_path)
    print(f"{len(df)} rows; mean Q* of valid trained models per measure:")
    print(df[df["valid"] & df["trained"]].groupby("measure")["q"].mean().round(4).to_string())
    return df


def cluster_similarity_table_from_files(paths, metrics_path, out_path):
    """cluster_similarity.csv from every model's comparison file."""
    from ..tables import cluster_similarity_table

    mats = {}
    for p in paths:
        with io.open_h5(p) as f:
            mats[model_id_of(p)] = {
                (str(d.attrs.get("metric", "element_sim")), d.name.rsplit("/", 1)[1]):
                (d[()], [str(m) for m in d.attrs["measures"]], d.attrs.get("chance_mean"), d.attrs.get("p_value"))
                for d in _datasets(f)}
    df = cluster_similarity_table(mats, io.read_table(metrics_path))
    io.write_csv(df, out_path)
    print(f"{len(df)} rows; metrics {sorted(df['metric'].unique())}")
    return df


def _datasets(group):
    """Every dataset below an HDF5 group, depth first."""
    for key in group:
        item = group[key]
        if hasattr(item, "keys"):
            yield from _datasets(item)
        else:
            yield item


def history_table_from_files(paths, out_path):
    """history.csv (one row per trained model x epoch) from every model's history file."""
    from ..tables import history_table

    df = history_table({model_id_of(p): io.read_table(p) for p in paths})
    io.write_csv(df, out_path)
    print(f"{df['model'].nunique()} models, {len(df)} epochs in all")
    return df


def summary_table_from_files(paths, out_path, *, experiments, datasets):
    """results/summary/tables/modularity.csv: every experiment's modularity table, stacked."""
    from ..tables import summary_table

    df = summary_table({(e, d): io.read_table(p) for p, e, d in zip(paths, experiments, datasets)})
    io.write_csv(df, out_path)
    print(f"{len(df)} rows from {len(paths)} experiments: "
          + ", ".join(f"{e} ({n} layers)" for e, n in df.groupby("experiment", sort=False)["n_layers"].first().items()))
    return df


def scorecard_from_files(modularity_path, cluster_similarity_path, metrics_path, sweeps_path, out_path, *,
                         analysis=None):
    """findings.csv: the paper's findings measured on this run (docs/science.md §7), with the bootstrap of
    the ``analysis`` options (:class:`unitclust.settings.AnalysisOptions` or its dict)."""
    from ..scorecard import scorecard

    t = io.read_tables(modularity=modularity_path, cluster_similarity=cluster_similarity_path,
                       metrics=metrics_path, sweeps=sweeps_path)
    opts = AnalysisOptions.of(analysis)
    df = scorecard(t["modularity"], t["cluster_similarity"], t["metrics"], t["sweeps"], n_boot=opts.n_boot,
                   seed=opts.bootstrap_seed)
    io.write_csv(df, out_path)
    for r in df.itertuples():
        print(f"{r.finding:34s} {r.value:9.4g} [{r.ci_low:9.4g}, {r.ci_high:9.4g}] {r.claim:20s} {r.verdict}")
    return df


def robustness_from_files(findings_paths, labels, out_path):
    """robustness.csv: the findings tables of several analysis variants side by side."""
    from ..scorecard import robustness

    if len(findings_paths) != len(labels):
        raise ValueError(f"{len(findings_paths)} findings tables for {len(labels)} labels {labels}")
    cards = {label: io.read_table(path) for label, path in zip(labels, findings_paths)}
    df = robustness(cards)
    io.write_csv(df, out_path)
    for r in df.to_dict("records"):
        verdicts = " | ".join(f"{label}: {r[f'verdict:{label}']}" for label in labels)
        print(f"{r['finding']:34s} {verdicts}{'   (verdict changes)' if r['verdict_changes'] else ''}")
    return df


# ------------------------------------------------------------------ figures
def example_matrices(sim_paths, cluster_paths, titles, *, measure: str, layer: int = 1) -> list[dict]:
    """Fig. 3's example row: normalized adjacency A~ (eq. 7) of one layer, units sorted by cluster."""
    from ..clustering.objective import adjacency, normalized_adjacency

    examples = []
    for sim, clu, title in zip(sim_paths, cluster_paths, titles):
        S, _ = io.read_h5_dataset(sim, f"layer{layer}/{measure}")
        labels, attrs = io.read_h5_dataset(clu, f"layer{layer}/{measure}")
        A = normalized_adjacency(adjacency(S)[0])
        key = np.where(labels < 0, labels.max(initial=0) + 1, labels)
        order = np.argsort(key, kind="stable")
        sizes = np.bincount(key[order] - key.min()) if len(key) else np.array([])
        examples.append({"title": title, "matrix": A[np.ix_(order, order)], "q": float(attrs["q"]),
                         "boundaries": np.cumsum(sizes[sizes > 0])[:-1].tolist()})
    return examples


def lesion_tables_from_files(paths, metrics_path, out_table, out_summary, out_findings, *, analysis=None):
    """lesion.csv (one row per cluster), lesion_summary.csv (per measure) and lesion_findings.csv
    (a new result, with the scorecard's bootstrap over seeds) from every model's lesion file."""
    from ..lesion_summary import lesion_findings, lesion_summary, lesion_table

    opts = AnalysisOptions.of(analysis)
    lesions = {}
    for p in paths:
        with io.open_h5(p) as f:
            layers = {ln: {m: {k: f[ln][m][k][()] for k in f[ln][m]} for m in f[ln] if m != "groups"}
                      for ln in io.layer_names(f)}
            attrs = {"mode": f.attrs["mode"], "n_random": f.attrs["n_random"],
                     "intact_acc": {ln: f[ln].attrs["intact_acc"] for ln in layers}}
        lesions[model_id_of(p)] = (attrs, layers)
    df = lesion_table(lesions, io.read_table(metrics_path))
    summary = lesion_summary(df)
    findings = lesion_findings(df, n_boot=opts.n_boot, seed=opts.bootstrap_seed)
    io.write_csv(df, out_table)
    io.write_csv(summary, out_summary)
    io.write_csv(findings, out_findings)
    print(f"{len(df)} clusters of {df['model'].nunique()} models lesioned; mean z per measure (valid trained models):")
    print(summary[summary["trained"].astype(bool)].groupby("measure")[["drop_z", "spec_z"]].mean().round(3).to_string())
    for r in findings.itertuples():
        print(f"{r.finding:34s} {r.value:9.4g} [{r.ci_low:9.4g}, {r.ci_high:9.4g}] {r.claim:8s} {r.verdict}")
    return df


def planted_table_from_files(paths, out_path):
    """planted_recovery.csv: every planted network's recovery rows, stacked."""
    import pandas as pd

    df = pd.concat([io.read_table(p) for p in paths], ignore_index=True)
    io.write_csv(df, out_path)
    mean = df.groupby(["method", "strength", "measure"])["element_sim"].mean().unstack("measure")
    print(f"{len(df)} rows from {len(paths)} networks; element-centric similarity to the planted modules "
          f"(mean over seeds, layers and sides):")
    print(mean.round(3).to_string())
    return df
