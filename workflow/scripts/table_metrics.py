"""Metrics of every model -> tables/metrics.csv."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import metrics_table_from_files
from unitclust.runtime import run_script


def main(sm):
    metrics_table_from_files(list(sm.input), sm.output[0], accuracy_cutoff=sm.params.accuracy_cutoff)


run_script(main, snakemake)  # noqa: F821
