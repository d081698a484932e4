"""One function per workflow job: read the inputs, call the pure functions, write the outputs.

The scripts in ``workflow/scripts`` are thin wrappers around these, so every job can also be
run (and tested) from Python without Snakemake.  File formats live in :mod:`unitclust.io`.
Each function returns (or prints) a short summary that the job's log records.
:mod:`.train_jobs` holds the training jobs, :mod:`.model_jobs` the other per-model jobs, :mod:`.blocks`
those of them that run for a block of models in one process, :mod:`.table_jobs` the per-experiment
tables and figure inputs.
"""

from .blocks import cluster_many, compare_many, similarity_many
from .model_jobs import cluster_one, compare_one, import_one, lesion_one, planted_one, similarity_one
from .table_jobs import (
    cluster_similarity_table_from_files,
    example_matrices,
    history_table_from_files,
    lesion_tables_from_files,
    metrics_table_from_files,
    model_id_of,
    modularity_table_from_files,
    planted_table_from_files,
    robustness_from_files,
    scorecard_from_files,
    summary_table_from_files,
)
from .train_jobs import train_many, train_one

__all__ = ["train_one", "train_many", "similarity_one", "similarity_many", "import_one", "cluster_one",
           "cluster_many", "compare_one", "compare_many", "lesion_one", "planted_one", "model_id_of",
           "metrics_table_from_files", "modularity_table_from_files", "cluster_similarity_table_from_files",
           "history_table_from_files", "summary_table_from_files", "scorecard_from_files", "robustness_from_files",
           "lesion_tables_from_files", "planted_table_from_files", "example_matrices"]
