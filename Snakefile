# Clustering units in neural networks: upstream vs downstream information.
# The Snakefile only includes rule files; see README.md for usage.
from snakemake.utils import min_version

min_version("9.0")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"


rule all:
    input:
        all_targets(),
    default_target: True
