"""Which settings belong to which sweep -> tables/sweeps.csv."""
from common import run
from unitclust import io
from unitclust.tables import sweeps_table


def main(sm):
    df = sweeps_table(sm.params.rows)
    io.write_csv(df, sm.output[0])
    print(f"{len(df)} rows: {df['sweep'].value_counts().to_dict()}")


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
