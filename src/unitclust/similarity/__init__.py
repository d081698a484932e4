"""Pairwise similarity of hidden units (paper section 3.1, eqs. 1-5).

Four base measures per hidden layer, averaged over the K test inputs, and their normalized
variants (eq. 5); h is the post-ReLU hidden activity, the network in eval mode:

=============  ==========  ==================================================
measure        family      per-input term
=============  ==========  ==================================================
``cov``        upstream    (h - hbar)(h - hbar)^T                     (eq. 1)
``isens``      upstream    J J^T,  J = dh/dx  (n x d)                 (eq. 2)
``osens``      downstream  J^T J,  J = dy/dh  (o x n), y = logits     (eq. 3)
``hess``       downstream  d^2 L / dh dh of the cross-entropy loss    (eq. 4)
``*_norm``     same        S_ij / max(S_ii, S_jj, eps)                (eq. 5)
=============  ==========  ==================================================

Where |.| is taken (``abs_placement``) and the normalization are options; see
docs/science.md (section 3).  Modules: :mod:`.normalize` (options, eq. 5) and
:mod:`.closed_form` (exact closed forms for ReLU MLPs).
"""

from ..measures import BASE_MEASURES, FAMILY, LABELS, MEASURES
from .closed_form import similarity_matrices
from .normalize import ABS_PLACEMENTS, NORMALIZATIONS, normalize

__all__ = ["MEASURES", "BASE_MEASURES", "FAMILY", "LABELS", "ABS_PLACEMENTS", "NORMALIZATIONS", "normalize",
           "similarity_matrices"]
