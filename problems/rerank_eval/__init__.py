"""Re-ranking evaluation: the base ranker, MMR, DPP, SSD and NSGA-II variants compared on
the same candidates, every knob chosen on validation and the test stage scored once.

Protocol (for each of the ``full`` and ``sampled`` candidate protocols):

1. **Scores.** Every method sees the same scores: by default calibrated hit
   probabilities q (a temperature-scaled softmax of the base ranker's logits, the
   temperature fitted on validation by likelihood at training time; full protocol
   normalised over the whole unseen catalogue, sampled over the 1 + 99 candidates; see
   ``recommenders.calibration``). ``score_transform="softmax"`` (softmax over the
   candidates) and ``"none"`` (raw logits) remain for comparison.
2. **Validation stage** (candidates whose target is each user's validation item, history
   = train only). Greedy baselines run along their parameter path (MMR lambda, DPP
   theta, SSD gamma at 0.1 ... 0.9); each one's parameter is tuned to maximise the
   aggregate F1@K (and separately F2@K). NSGA-II runs with the same settings and seeds it
   will use on test; its utility weight ``w`` in ``w * accuracy + (diversity + novelty) /
   2`` is fitted on the same F-measures averaged over those seeds, and for transfer runs
   the single anchor region of the angular rule too.
3. **Test stage**, scored once with the validated choices, for ``len(seeds)`` NSGA-II
   seeds (greedy baselines are deterministic).
4. **Headline test, over users** (``.headline``): the seeded NSGA-II's validated
   choice against the greedy baseline validation picked, by a paired bootstrap of the
   aggregate F-beta difference and a paired sign-flip permutation test, both resampling
   users, NSGA-II's per-user values averaged over its seeds; Holm over the cells. The
   paired t-test over NSGA-II's seeds remains as a secondary column.

NSGA-II variants: ``nsga2`` starts from random lists plus the base top-K (PreferRec's
set-up), ``nsga2_seeded`` ("NSGA-II seeded with greedy lists") also seeds each user with
every greedy list of the three paths, and ``nsga2_kt`` adds PreferRec's knowledge
transfer. All keep an archive of every non-dominated list they evaluate
(``moopt.engine.archive``), from which the choice is made, so a seeded run contains
each greedy list or one that weakly dominates it in objective space. Chosen lists are
ordered by q, so @5 metrics stay meaningful.

Metrics at K: HR, NDCG, Div (genre coverage), Nov (normalised self-information over
training popularity), ILD, and F1/F2 of HR@K against (Div + Nov) / 2
(``recommenders.metrics.f_beta``) on the averaged metrics.

Scores and novelty are rounded to float32 precision before any method sees them
(``moopt.objectives.portable_round``), so the CPU's math library (numpy's ``exp``
gives different last bits with and without AVX-512) does not change which lists the
search keeps: the same candidates files give the same tables on any machine.

Sampled protocol: candidate columns are shuffled per user first (seeded): the file
stores the positive in column 0 and every method breaks score ties towards lower
positions.

The package: ``.stages`` (settings, stages, metrics, the per-stage ``Context``),
``.tuning`` (validation choices), ``.evaluation`` (the test stage and its tests),
``.headline`` (the tests over users), ``.figures`` and ``.report`` (summary
tables, ``rerank_job``, and ``load_rerank_run``, which reads a ``moopt rerank
--out`` folder back), ``.curves`` (the trade-off curves and chosen lists that
``moopt report`` draws) and ``.page`` (that report's page).
"""

from .curves import chosen_lists, item_table, tradeoff_curves
from .evaluation import RerankEvaluation, dominated_share, rerank_evaluation
from .figures import plot_calibration, plot_tradeoff, plot_user_front
from .headline import headline_markdown, headline_table, over_users
from .report import RerankRun, load_rerank_run, markdown_table, rerank_job, summary_table
from .stages import (
    DEFAULT_GRID,
    DEFAULT_W,
    GREEDY,
    LABELS,
    METHODS,
    NSGA,
    PARAM,
    Context,
    RerankEvalConfig,
    Stage,
    f_beta_of_means,
    list_metrics,
    make_stage,
    per_user_beyond,
    per_user_hits,
    per_user_measures,
    protocol_arrays,
    transform_scores,
)  # fmt: skip
from .tuning import (
    ANGULAR_FROM_TRANSFER,
    Choice,
    apply_choice,
    tune,
    utility_path,
    utility_weights,
    validated_choice,
)  # fmt: skip

__all__ = [
    "ANGULAR_FROM_TRANSFER", "DEFAULT_GRID", "DEFAULT_W", "GREEDY", "LABELS", "METHODS", "NSGA",
    "PARAM", "Choice", "Context", "RerankEvalConfig", "RerankEvaluation", "RerankRun",
    "Stage", "apply_choice", "chosen_lists", "dominated_share", "item_table", "load_rerank_run",
    "list_metrics", "make_stage", "markdown_table",
    "f_beta_of_means", "headline_markdown", "headline_table", "over_users",
    "per_user_beyond", "per_user_hits", "per_user_measures", "plot_calibration",
    "plot_tradeoff", "plot_user_front",
    "protocol_arrays", "rerank_evaluation", "rerank_job", "summary_table", "tradeoff_curves",
    "transform_scores",
    "tune", "utility_path", "utility_weights", "validated_choice",
]  # fmt: skip
