"""unitclust: clustering hidden units of MLPs by upstream and downstream similarity.

Reproduces Lange, Rolnick & Kording, "Clustering units in neural networks:
upstream vs downstream information" (TMLR 2022).  The science contract is
``shared/SPEC.md``; each module cites the paper's equations it implements.
"""

__version__ = "0.1.0"

import sys as _sys

# Modules already loaded when the package is first imported (e.g. by Snakemake's script preamble);
# the import audit of unitclust.runtime reports only what this package's jobs add.
PRELOADED_MODULES = frozenset(_sys.modules)
