"""Base rankers sharing one interface: ``fit``, ``score``, ``full_scores``, ``topk``,
``save``/``load`` (see :class:`~recommenders.models.base.Ranker`)."""

from __future__ import annotations

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
    """The ranker class for a name (case-insensitive; ``bpr-mf`` and ``mf`` alias ``bpr``)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[key]


def get_model(name: str, **kwargs) -> Ranker:
    """Instantiate a ranker by name; keyword arguments go to its constructor."""
    return get_model_class(name)(**kwargs)


__all__ = [
    "BPRMF", "BPRConfig", "ConcatFusion", "DuAFMAT", "DuAFMATConfig", "GRU4Rec",
    "GRU4RecConfig", "LightGCN", "LightGCNConfig", "MODELS", "Pop", "PopConfig", "Ranker",
    "SASRec", "SASRecConfig", "TrainConfig", "UniSRecText", "get_model", "get_model_class",
    "resolve_device",
]  # fmt: skip
