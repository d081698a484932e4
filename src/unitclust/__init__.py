"""unitclust: clustering the hidden units of neural networks by upstream and downstream similarity.

Reproduces Lange, Rolnick & Kording, "Clustering units in neural networks: upstream vs
downstream information" (TMLR 2022).  Each module cites the paper's equations it implements;
the choices where the paper is silent are written down in ``docs/science.md``.
"""

__version__ = "0.1.0"
