"""The per-model analysis jobs for a block of models in one process: the same files as one job per
model, with the process start and imports paid once (training's blocks: :func:`.train_jobs.train_many`)."""

from __future__ import annotations

import time

from .model_jobs import cluster_one, compare_one, similarity_one


def check_block(members, paths: dict, what: str = "models") -> None:
    """A clear error unless ``members`` (model ids or seeds) are distinct, at least one, and every list in
    ``paths`` has one entry per member."""
    n = len(members)
    if n == 0 or len(set(members)) != n:
        raise ValueError(f"a block needs distinct {what}, at least one, got {list(members)}")
    wrong = [f"{k} has {len(v)}" for k, v in paths.items() if len(v) != n]
    if wrong:
        raise ValueError(f"{n} {what} but {', '.join(wrong)} paths")


def each_model(job, model_ids, paths: dict, **common) -> None:
    """``job(**{name: paths[name][i]}, model_id=model_ids[i], **common)`` for each model ``i`` in turn,
    each under a header line, then one summary line.  Every list in ``paths`` has one entry per model."""
    check_block(model_ids, paths)
    n = len(model_ids)
    t0 = time.perf_counter()
    for i, model_id in enumerate(model_ids):
        print(f"--- {model_id} ({i + 1} of {n}) ---", flush=True)
        job(**{k: v[i] for k, v in paths.items()}, model_id=model_id, **common)
    print(f"{n} models in one process, {time.perf_counter() - t0:.1f} s")


def similarity_many(model_paths, data_path, out_paths, *, model_ids, similarity=None, device="auto",
                    threads: int = 1) -> None:
    """:func:`~.model_jobs.similarity_one` for each model of a block: ``model_paths[i]`` -> ``out_paths[i]``."""
    each_model(similarity_one, model_ids, {"model_path": model_paths, "out_path": out_paths}, data_path=data_path,
               similarity=similarity, device=device, threads=threads)


def cluster_many(sim_paths, out_paths, *, model_ids, clustering=None, n_null: int = 0, model_paths=None,
                 data_path=None, null_similarity=None, threads: int = 1) -> None:
    """:func:`~.model_jobs.cluster_one` for each model of a block: ``sim_paths[i]`` (and, with nulls,
    ``model_paths[i]``) -> ``out_paths[i]``."""
    paths = {"sim_path": sim_paths, "out_path": out_paths}
    if model_paths:
        paths["model_path"] = model_paths
    each_model(cluster_one, model_ids, paths, clustering=clustering, n_null=n_null, data_path=data_path,
               null_similarity=null_similarity, threads=threads)


def compare_many(clusters_paths, out_paths, *, model_ids, compare=None) -> None:
    """:func:`~.model_jobs.compare_one` for each model of a block: ``clusters_paths[i]`` -> ``out_paths[i]``."""
    each_model(compare_one, model_ids, {"clusters_path": clusters_paths, "out_path": out_paths}, compare=compare)
