"""pymoo Problem classes that turn recommender outputs into objectives, and the jobs
behind the CLI.

One case study per pair of modules: ``<case>.py`` holds its Problem (re-ranking:
``rerank``; BOOML: ``loss_weight``; PMORS: ``pareto_stationarity``; DWL: ``dwl`` and
``domain_weight``; provider exposure over every user's archive: ``fairness``, catalogue
coverage over it: ``coverage``, their study in ``fairness_eval`` and ``fairness_report``) and
``<case>_eval.py`` the experiment the CLI runs; DuAF-MAT is a base ranker, so only its
experiment lives here (``multimodal_eval``). Each case study is at most two or three
modules, so a flat package keeps imports short (``from problems.dwl import dwl_job``)
without folders that would each hold two files.
"""

from .domain_weight import DomainWeightProblem
from .fairness import ExposurePriceProblem
from .loss_weight import LossWeightConfig, LossWeightProblem
from .pareto_stationarity import ParetoStationarityProblem, PMORSConfig, PMORSTask
from .rerank import ListReRankingProblem
from .synthetic import QuadraticsProblem

__all__ = [
    "DomainWeightProblem", "ExposurePriceProblem", "ListReRankingProblem", "LossWeightConfig",
    "LossWeightProblem",
    "PMORSConfig", "PMORSTask", "ParetoStationarityProblem", "QuadraticsProblem",
]  # fmt: skip
