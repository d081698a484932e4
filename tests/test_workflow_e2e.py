"""End to end: the real workflow on a tiny digits config in a temporary copy of the project."""
import pytest

from support.workflow_helpers import (FIGURE_RULES, SUMMARY_RULES, TABLE_RULES, TINY_RESULTS, copy_project,
                                      planned_jobs, planned_rules, result_files, snakemake, write_config)

pytestmark = pytest.mark.e2e

PER_MODEL = ["model.pt", "metrics.json", "similarity.h5", "clusters.h5", "cluster_similarity.h5"]
R = TINY_RESULTS


def test_every_model_has_every_output(tiny):
    dirs = sorted(p.parent for p in (tiny / R / "models").rglob("model.pt"))
    assert len(dirs) == 5  # 3 settings x 1 seed + 2 untrained
    for d in dirs:
        for name in PER_MODEL:
            assert (d / name).stat().st_size > 0, d / name
    for table in ("sweeps", "metrics", "modularity", "cluster_similarity"):
        assert (tiny / R / f"tables/{table}.csv").stat().st_size > 0


def test_second_run_does_nothing_and_touches_nothing(tiny):
    before = {p: p.stat().st_mtime_ns for p in result_files(tiny)}
    proc = snakemake(tiny, "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr
    assert before == {p: p.stat().st_mtime_ns for p in result_files(tiny)}


def test_one_more_seed_schedules_only_the_new_models_jobs(tiny):
    cfg = write_config(tiny, "plus_seed.yaml", seeds=2)
    jobs = planned_jobs(snakemake(tiny, "-n", config=cfg).stdout)
    per_model = [(r, o) for r, o in jobs if "/models/" in o]
    assert all("/seed=1/" in o and "untrained" not in o for _, o in per_model), per_model
    assert sorted({r for r, _ in per_model}) == ["cluster", "compare", "similarity", "train"]
    assert sum(r == "train" for r, _ in per_model) == 3  # one new model per setting
    assert {r for r, o in jobs if "/models/" not in o} <= TABLE_RULES | FIGURE_RULES | SUMMARY_RULES | {"all"}


def test_deleted_figure_is_rebuilt_by_exactly_one_job(tiny):
    (tiny / R / "figures/figS2.png").unlink()
    target = f"{R}/figures/figS2.png"
    assert planned_jobs(snakemake(tiny, "-n", target).stdout) == [("figS2", f"{R}/figures/figS2.pdf")]
    proc = snakemake(tiny, "--cores", "1", target)
    assert "1 of 1 steps (100%) done" in proc.stderr + proc.stdout
    assert (tiny / R / "figures/figS2.png").exists()


def test_plotting_option_reruns_only_figures(tiny):
    cfg = write_config(tiny, "dpi.yaml", plots__dpi=61)
    assert planned_rules(snakemake(tiny, "-n", config=cfg).stdout) - {"all"} == FIGURE_RULES | {"summary_figure"}


def test_accuracy_cutoff_reruns_only_tables_and_figures(tiny):
    cfg = write_config(tiny, "cutoff.yaml", analysis__accuracy_cutoff=0.5)
    rules = planned_rules(snakemake(tiny, "-n", config=cfg).stdout) - {"all"}
    assert "table_metrics" in rules and rules <= TABLE_RULES | FIGURE_RULES | SUMMARY_RULES


def test_monte_carlo_steps_rerun_clustering_and_below_only(tiny):
    cfg = write_config(tiny, "steps.yaml", clustering__mc_steps=150)
    rules = planned_rules(snakemake(tiny, "-n", config=cfg).stdout) - {"all"}
    assert {"cluster", "compare", "table_modularity"} <= rules
    assert not rules & {"data", "train", "init_untrained", "similarity", "table_metrics", "table_sweeps"}


def test_editing_one_figure_script_reruns_only_its_figures(tiny):
    import os

    script = tiny / "workflow/scripts/by_layer.py"  # Figs. S3 and S4
    original, stat = script.read_text(), script.stat()
    script.write_text(original + "\n# an edit\n")
    try:
        rules = planned_rules(snakemake(tiny, "-n").stdout) - {"all"}
    finally:  # restore content and time: the session's other tests share this run
        script.write_text(original)
        os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert rules == {"figS3", "figS4"}


def test_pngs_open_and_are_not_blank(tiny):
    import matplotlib.image as mpimg

    for name in sorted(FIGURE_RULES):
        img = mpimg.imread(tiny / R / f"figures/{name}.png")
        h, w = img.shape[:2]
        assert h >= 150 and w >= 200, (name, img.shape)
        gray = img[..., :3].mean(axis=2)
        assert gray.std() > 0.02 and (gray < 0.9).mean() > 0.01, name
        assert (tiny / R / f"figures/{name}.pdf").read_bytes()[:5] == b"%PDF-"


def test_report_builds(tiny):
    snakemake(tiny, "--report", str(tiny / "report.html"))
    html = (tiny / "report.html").read_text(errors="replace")
    assert len(html) > 10_000 and "figS1" in html


def test_tables_match_the_documented_contract(tiny):
    import pandas as pd

    from unitclust import tables

    expected = {"sweeps": tables.SWEEP_COLUMNS, "metrics": tables.METRIC_COLUMNS,
                "modularity": tables.MODULARITY_COLUMNS, "cluster_similarity": tables.CLUSTER_SIMILARITY_COLUMNS}
    for name, cols in expected.items():
        df = pd.read_csv(tiny / R / f"tables/{name}.csv")
        assert list(df.columns) == cols, name
    mod = pd.read_csv(tiny / R / "tables/modularity.csv")
    assert len(mod) == 5 * 2 * 8  # models x layers x measures
    sim = pd.read_csv(tiny / R / "tables/cluster_similarity.csv")
    assert len(sim) == 5 * 2 * 64


def test_each_job_imported_only_what_its_conda_env_provides(tiny):
    from test_envs import check_audit

    check_audit(tiny / ".import-audit")


def test_concurrent_gpu_jobs_leased_distinct_devices(tmp_path):
    """Two fake GPUs, `--resources gpu=2`, only training jobs to run: they overlap and must not share."""
    import json

    work = copy_project(tmp_path)
    write_config(work, "tiny.yaml", training__max_epochs=60, training__patience=1000)
    targets = [f"{R}/models/{s}/seed=0/metrics.json" for s in
               ("l2=1e-05_l1=0_drop=0", "l2=0.01_l1=0_drop=0", "l2=1e-05_l1=0_drop=0.3")]
    snakemake(work, *targets, "--cores", "2", "--resources", "gpu=2", extra_env={"UNITCLUST_FAKE_GPUS": "2"})
    leases = [json.loads(p.read_text()) for p in (work / ".leases").glob("*.json")]
    assert len(leases) == len(targets), leases  # one lease per training job, recorded by the test hook
    assert {lease["device"] for lease in leases} <= {"cuda:0", "cuda:1"}
    overlapping = 0
    for i, a in enumerate(leases):
        for b in leases[i + 1:]:
            if a["start"] < b["end"] and b["start"] < a["end"]:
                overlapping += 1
                assert a["device"] != b["device"], (a, b)
    assert overlapping >= 1, "no two training jobs ran at once; the test proves nothing"


def test_figure_s1_needs_training_but_no_similarity(tmp_path):
    write_config(tmp_path, "tiny.yaml")
    rules = planned_rules(snakemake(tmp_path, "-n", f"{R}/figures/figS1.pdf").stdout)
    assert rules == {"data", "train", "init_untrained", "table_metrics", "table_sweeps", "figS1"}


def test_training_jobs_flush_subnormals_and_record_their_history(tiny):
    """Inside every training job subnormal floats are flushed (observed on a product in that
    process), and the per-epoch history agrees with the metrics and the job's log."""
    import json

    import pandas as pd

    trained = sorted((tiny / R / "models").glob("l2=*/seed=*/metrics.json"))
    assert len(trained) == 3
    for path in trained:
        metrics = json.loads(path.read_text())
        assert metrics["denormals_flushed"] is True
        history = pd.read_csv(path.parent / "history.csv")
        assert list(history["epoch"]) == list(range(1, metrics["epochs"] + 1))
        assert history["val_loss"].idxmin() + 1 == metrics["best_epoch"]
        assert history["val_loss"].min() == pytest.approx(metrics["best_val_objective"], rel=1e-12)
        assert (history["lr"] <= 1e-3 + 1e-15).all() and history["seconds"].gt(0).all()
        model = path.parent.relative_to(tiny / R / "models")
        log = (tiny / R / "logs/train" / f"{model}.log").read_text()
        assert f"epoch {metrics['epochs']:3d}:" in log and "subnormals flushed True" in log
    table = pd.read_csv(tiny / R / "tables/history.csv")
    assert table["model"].nunique() == 3 and len(table) == sum(
        json.loads(p.read_text())["epochs"] for p in trained)
