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
docs/science.md (section 3).  Modules: :mod:`.normalize` (options, eq. 5),
:mod:`.closed_form` (exact closed forms for ReLU MLPs) and :mod:`.generic` (any model, by
automatic differentiation; conv layers: channels are units, sampled positions are samples).
:func:`compute_similarity` picks one.
"""

from ..measures import BASE_MEASURES, FAMILY, LABELS, MEASURES
from .closed_form import similarity_matrices
from .generic import generic_similarity_matrices, sampled_positions
from .normalize import ABS_PLACEMENTS, NORMALIZATIONS, check_option, normalize
from ..settings import SimilarityOptions

METHODS = ("auto", "closed_form", "generic")
_PAPER = SimilarityOptions()  # the defaults (unitclust.settings)

__all__ = ["MEASURES", "BASE_MEASURES", "FAMILY", "LABELS", "ABS_PLACEMENTS", "NORMALIZATIONS", "METHODS",
           "normalize", "similarity_matrices", "generic_similarity_matrices", "sampled_positions",
           "compute_similarity"]


def compute_similarity(model, x, y=None, *, layers=None, method=_PAPER.method, abs_placement=_PAPER.abs_placement,
                       normalization=_PAPER.normalization, eps=_PAPER.eps, batch_size=_PAPER.batch_size,
                       max_positions=_PAPER.max_positions, seed=_PAPER.seed):
    """The eight similarity matrices (eqs. 1-5) of the hidden ``layers`` (module names; default
    ``model.hidden_layers``): one dict per layer, in the order of ``layers``.

    ``method="auto"`` uses the closed forms for :class:`unitclust.models.MLP` (when every layer is
    one of its ``hidden_layers``) and :func:`.generic.generic_similarity_matrices` otherwise;
    ``"closed_form"`` and ``"generic"`` force one.  ``y`` (integer labels) is used only by the
    generic path; ``max_positions`` and ``seed`` pick the sampled positions of conv layers.
    """
    from ..models import MLP

    check_option("method", method, METHODS)
    if layers is None:
        layers = getattr(model, "hidden_layers", None)
        if layers is None:
            raise ValueError(f"{type(model).__name__} has no hidden_layers: name the analysed modules in layers")
    layers = [layers] if isinstance(layers, str) else list(layers)
    hidden = list(model.hidden_layers) if isinstance(model, MLP) else []
    closed = bool(hidden) and all(n in hidden for n in layers)
    if method == "closed_form" and not closed:
        raise ValueError(f"method 'closed_form' needs a unitclust MLP and layers among its hidden_layers; got a "
                         f"{type(model).__name__} and layers {layers}" + (f" (hidden_layers: {hidden})" if hidden
                                                                         else "; use method 'generic' or 'auto'"))
    if method == "closed_form" or (method == "auto" and closed):
        mats = similarity_matrices(model, x, abs_placement=abs_placement, normalization=normalization, eps=eps,
                                   batch_size=batch_size)
        return [mats[hidden.index(n)] for n in layers]
    return generic_similarity_matrices(model, x, y, layers, abs_placement=abs_placement, normalization=normalization,
                                       eps=eps, batch_size=batch_size, max_positions=max_positions, seed=seed)
