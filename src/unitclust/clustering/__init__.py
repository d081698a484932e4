"""Modularity clustering of hidden units (paper section 3.2, Appendix A.1).

Modules, one concept each:

* :mod:`.objective` - adjacency (eq. 6), modularity matrix (eqs. 7-8), Q (eq. 8), number of
  clusters (eq. 10), input checks and canonical labels (numpy only).
* :mod:`.spectral` - Algorithm 2, greedy recursive spectral bisection.
* :mod:`.kernels` - every numba kernel, once: the incremental cluster state, Algorithm 3's chain
  and its temperature solve, the greedy polish.
* :mod:`.monte_carlo` - Algorithm 3, entropy-controlled Monte Carlo (random draws, argument checks,
  Q* of the result).
* :mod:`.polish` - the greedy polish that finishes restart chains.
* :mod:`.leiden` - igraph's Leiden algorithm, the alternative method.
* :mod:`.cluster` - the drivers: :func:`~.cluster.cluster_matrix` (Algorithm 1) and
  :func:`~.cluster.monte_carlo_only`.

Importing the package imports nothing heavy; numba is imported with :mod:`.kernels` (and so
with :mod:`.monte_carlo`, :mod:`.polish`, :mod:`.cluster`), igraph only when Leiden runs.
The choices the paper leaves open are written down in ``docs/science.md`` §4.
"""
