"""Helpers for the tests: running the workflow on a tiny config, a single-node Slurm cluster,
and the hooks (``hooks/sitecustomize.py``) that the tests load into every Snakemake job."""
