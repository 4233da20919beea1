"""Base rankers sharing one interface: ``fit``, ``score``, ``full_scores``, ``topk``,
``save`` and ``load`` (see ``recommenders.models.base.Ranker``).

``MODELS`` maps each registered name to its class; ``get_model`` builds one by name.
"""

from __future__ import annotations

from typing import Any

from .base import Ranker, TrainConfig, resolve_device
from .bpr import BPRMF, BPRConfig
from .duafmat import ConcatFusion, DuAFMAT, DuAFMATConfig, UniSRecText
from .gru4rec import GRU4Rec, GRU4RecConfig
from .lightgcn import LightGCN, LightGCNConfig
from .pop import Pop, PopConfig
from .sasrec import SASRec, SASRecConfig

MODELS: dict[str, type[Ranker]] = {
    "pop": Pop,
    "bpr": BPRMF,
    "lightgcn": LightGCN,
    "gru4rec": GRU4Rec,
    "sasrec": SASRec,
    "duafmat": DuAFMAT,
    "unisrec-text": UniSRecText,
    "mm-concat": ConcatFusion,
}
_ALIASES = {"bpr-mf": "bpr", "bprmf": "bpr", "mf": "bpr", "lgcn": "lightgcn",
            "duaf-mat": "duafmat", "unisrec": "unisrec-text", "concat": "mm-concat"}


def get_model_class(name: str) -> type[Ranker]:
    """The ranker class registered under a name.

    Parameters
    ----------
    name : str
        A key of ``MODELS`` (``"pop"``, ``"bpr"``, ``"lightgcn"``, ``"gru4rec"``,
        ``"sasrec"``, ``"duafmat"``, ``"unisrec-text"``, ``"mm-concat"``) or an alias
        (``"bpr-mf"``, ``"bprmf"`` and ``"mf"`` for ``"bpr"``, ``"lgcn"``, ``"duaf-mat"``,
        ``"unisrec"``, ``"concat"``); case-insensitive.

    Returns
    -------
    type[Ranker]
        The class, not an instance.

    Raises
    ------
    ValueError
        If the name is neither registered nor an alias; the message lists the names.

    Examples
    --------
    >>> get_model_class("BPR-MF").__name__
    'BPRMF'
    >>> get_model_class("lgcn") is MODELS["lightgcn"]
    True
    """
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[key]


def get_model(name: str, **kwargs: Any) -> Ranker:
    """Instantiate an unfitted ranker by name.

    Parameters
    ----------
    name : str
        A registered name or alias, as for ``get_model_class``.
    **kwargs : Any
        Passed to the class's constructor: ``config``, ``device``, ``seed``, ``verbose``,
        single settings of its config (``epochs=5``) and, for the multimodal rankers,
        ``features``.

    Returns
    -------
    Ranker
        The new, unfitted ranker.

    Raises
    ------
    ValueError
        If the name is unknown.
    TypeError
        If a keyword is not a setting of the model's config.

    Examples
    --------
    >>> get_model("sasrec", epochs=3, hidden=32, n_heads=2, device="cpu").config.hidden
    32
    """
    return get_model_class(name)(**kwargs)


__all__ = [
    "BPRMF", "BPRConfig", "ConcatFusion", "DuAFMAT", "DuAFMATConfig", "GRU4Rec",
    "GRU4RecConfig", "LightGCN", "LightGCNConfig", "MODELS", "Pop", "PopConfig", "Ranker",
    "SASRec", "SASRecConfig", "TrainConfig", "UniSRecText", "get_model", "get_model_class",
    "resolve_device",
]  # fmt: skip
