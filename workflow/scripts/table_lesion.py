"""Every model's lesion file -> tables/lesion.csv, lesion_summary.csv and lesion_findings.csv."""
from common import run
from unitclust.steps import lesion_tables_from_files


def main(sm):
    lesion_tables_from_files(list(sm.input.lesions), sm.input.metrics, sm.output.table, sm.output.summary,
                             sm.output.findings, analysis=sm.params.analysis)


run(main, snakemake)  # noqa: F821 - Snakemake defines snakemake in the scripts it runs
