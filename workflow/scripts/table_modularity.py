"""Q*, Q after initialization, number of clusters per model x layer x measure -> tables/modularity.csv."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import modularity_table_from_files
from unitclust.runtime import run_script


def main(sm):
    modularity_table_from_files(list(sm.input.clusters), sm.input.metrics, sm.output[0])


run_script(main, snakemake)  # noqa: F821
