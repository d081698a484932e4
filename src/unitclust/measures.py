"""Names of the eight similarity measures (paper section 3.1, Figure 2), importable without torch."""

MEASURES = ("cov", "cov_norm", "isens", "isens_norm", "osens", "osens_norm", "hess", "hess_norm")
BASE_MEASURES = ("cov", "isens", "osens", "hess")
FAMILY = {m: ("upstream" if m.startswith(("cov", "isens")) else "downstream") for m in MEASURES}
LABELS = {
    "cov": "input covariance",
    "cov_norm": "input covariance (norm)",
    "isens": "input sensitivity",
    "isens_norm": "input sensitivity (norm)",
    "osens": "output sensitivity",
    "osens_norm": "output sensitivity (norm)",
    "hess": "output Hessian",
    "hess_norm": "output Hessian (norm)",
}
