"""Which settings belong to which sweep -> tables/sweeps.csv."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parents[1] / "src"))  # noqa: F821 - repo package, see README
from unitclust.pipeline import write_csv
from unitclust.tables import sweeps_table
from unitclust.runtime import run_script


def main(sm):
    write_csv(sweeps_table(sm.params.rows), sm.output[0])


run_script(main, snakemake)  # noqa: F821
