# Clustering units in neural networks: upstream vs downstream information.
# The Snakefile only includes rule files; see README.md for usage.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/similarity.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/lesion.smk"
include: "workflow/rules/planted.smk"
include: "workflow/rules/tables.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        all_targets(),
    default_target: True
