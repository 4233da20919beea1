"""The train-and-evaluate job behind ``moopt train`` and ``moopt demo``.

``train_and_evaluate`` loads a dataset, splits it, fits one ranker (or reuses a
matching checkpoint), evaluates it under the full and sampled protocols, and writes into
``out_dir``:

* ``metrics.json``: ``{"full": {"HR@10": ...}, "sampled": {...}}`` on the test stage;
* ``candidates.npz``: per user the top-N unseen items and scores (see
  ``recommenders.evaluate.candidates``), the input of re-ranking;
* ``candidates_valid.npz``: the same for the validation stage (history: train only), on
  which re-ranking methods are tuned;
* ``model.pt``: the checkpoint (state dicts, loadable with ``weights_only=True``);
* ``run.json``: the settings, training time, epochs and device;
* ``train_log.csv``: loss and validation NDCG@10 per epoch.

Both candidates files carry the score calibration fitted on validation
(``recommenders.evaluate.calibrate``): the temperatures ``meta_temperature_full`` and
``meta_temperature_sampled``, per user ``log_norm_full`` (the full protocol's normaliser
over the unseen catalogue of that file's stage), and the validation summary
``meta_calib_valid_{full,sampled}_{mean_top10_q,hr10}``;
``recommenders.evaluate.calibrated_scores`` turns the scores into hit probabilities.
Without validation interactions neither the calibration nor ``candidates_valid.npz`` is
written.

All files are written atomically. While training, ``train_state.pt`` holds the state
after the last epoch, from which a killed run resumes; it is deleted at the end.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .data import Dataset, Split, load_dataset, make_split, make_synthetic
from .evaluate import candidate_sets, evaluate, save_candidate_sets
from .features import build_features
from .io import job_folder, write_csv, write_json
from .models import Ranker, get_model_class
from .models.duafmat import MultimodalRanker

#: The training state a run saves after every epoch and resumes from.
TRAIN_STATE = "train_state.pt"


@dataclass(frozen=True)
class RunConfig:
    """What one training run does.

    Parameters
    ----------
    model : str
        A registered ranker name (``get_model_class``).
    dataset : str, default "ml-100k"
        ``"ml-100k"``, ``"ml-1m"``, ``"synthetic"``, or an atomic dataset's stem.
    data_path : str, optional
        A folder holding the dataset's files.
    split : str, default "leave-one-out"
        The split protocol (``make_split``).
    seed : int, default 0
        Seed of the model, the synthetic data, negatives and missing features.
    device : str, default "auto"
        Torch device (``"auto"``: a GPU if one exists).
    n_candidates : int, default 100
        Candidates per user in the files, ``>= 1`` (capped at the unseen items).
    n_negatives : int, default 99
        The sampled protocol's negatives per target.
    ks : tuple of int, default (5, 10, 20)
        Metric cut-offs, each ``>= 1``.
    model_settings : dict, default {}
        Overrides of the model's config (strings are converted, ``coerce_settings``).
    missing : float, default 0.0
        Multimodal rankers only: the share of items whose "visual" modality is dropped.
    feature_files : dict of str to str, default {}
        Multimodal rankers only: per-modality ``.npy`` files replacing the built-in text /
        structural features.
    candidates_format : {"npz", "dir"}, default "npz"
        ``candidates.npz`` files, or candidates directories (``candidates/``, read
        memory-mapped; ``recommenders.candidates_io``).

    Raises
    ------
    ValueError
        An unknown model, ``n_candidates < 1`` or bad ``ks``.
    """

    model: str
    dataset: str = "ml-100k"
    data_path: str | None = None
    split: str = "leave-one-out"
    seed: int = 0
    device: str = "auto"
    n_candidates: int = 100
    n_negatives: int = 99
    ks: tuple[int, ...] = (5, 10, 20)
    model_settings: dict[str, Any] = field(default_factory=dict)
    # Multimodal rankers only: the share of items whose "visual" modality is dropped, and
    # per-modality .npy feature files replacing the built-in text / structural features.
    missing: float = 0.0
    feature_files: dict[str, str] = field(default_factory=dict)
    candidates_format: str = "npz"

    def __post_init__(self) -> None:
        get_model_class(self.model)  # fails early on an unknown name
        if self.candidates_format not in ("npz", "dir"):
            raise ValueError(f"candidates_format must be 'npz' or 'dir', got "
                             f"{self.candidates_format!r}")  # fmt: skip
        if self.n_candidates < 1:
            raise ValueError(f"n_candidates must be >= 1, got {self.n_candidates}")
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be positive cut-offs, got {self.ks}")


@dataclass
class RunResult:
    """What ``train_and_evaluate`` returns.

    Parameters
    ----------
    config : RunConfig
        The run's settings.
    metrics : dict
        ``{"full": {...}, "sampled": {...}}`` on the test stage.
    model : Ranker
        The fitted (or reloaded) ranker.
    dataset : Dataset
        The data.
    split : Split
        The split.
    fit_seconds : float
        Training time (that of the original run when reused).
    reused : bool
        Whether a matching checkpoint was loaded instead of training.
    out_dir : pathlib.Path or None
        The output folder, None without one.
    """

    config: RunConfig
    metrics: dict[str, dict[str, float]]
    model: Ranker
    dataset: Dataset
    split: Split
    fit_seconds: float
    reused: bool
    out_dir: Path | None


def load_data(name: str, path: str | None = None, seed: int = 0) -> Dataset:
    """A named dataset, a folder, or ``"synthetic"`` (the seeded generator).

    Parameters
    ----------
    name : str
        ``"synthetic"`` or a name or folder for ``load_dataset``.
    path : str, optional
        A folder holding the dataset's files.
    seed : int, default 0
        Seed of the synthetic generator (ignored otherwise).

    Returns
    -------
    Dataset
        The data.
    """
    if name == "synthetic":
        return make_synthetic(seed=seed)
    return load_dataset(name, path=path)


def coerce_settings(model: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Convert string values (from the command line) to the model config's field types.

    Parameters
    ----------
    model : str
        A registered ranker name.
    settings : dict of str to object
        Setting name to value; strings become the default's type (bool from
        ``1/true/yes/on``, tuples split at commas), other values pass through.

    Returns
    -------
    dict of str to object
        The converted settings.

    Raises
    ------
    ValueError
        An unknown setting or an unconvertible string.

    Examples
    --------
    >>> coerce_settings("bpr", {"epochs": "5", "lr": 0.01})
    {'epochs': 5, 'lr': 0.01}
    """
    config_cls = get_model_class(model).config_class
    types = {f.name: f.type for f in fields(config_cls)}
    defaults = config_cls()
    out = {}
    for key, value in settings.items():
        if key not in types:
            raise ValueError(
                f"{model} has no setting {key!r}; valid: {', '.join(sorted(types)) or 'none'}"
            )
        if isinstance(value, str):
            kind = type(getattr(defaults, key))
            try:
                if kind is bool:
                    value = value.lower() in ("1", "true", "yes", "on")
                elif kind is tuple:  # e.g. modalities=text,visual
                    value = tuple(v.strip() for v in value.split(",") if v.strip())
                else:
                    value = kind(value)
            except ValueError:
                raise ValueError(f"setting {key}={value!r}: expected {kind.__name__}") from None
        out[key] = value
    return out


def _signature(cfg: RunConfig, model_config: Any) -> dict[str, Any]:
    sig = asdict(cfg)
    sig.pop("device")
    sig.pop("candidates_format")  # how the files are written, not what the model is
    sig["ks"] = list(cfg.ks)
    sig["model_config"] = asdict(model_config)
    sig["model"] = get_model_class(cfg.model).name
    if not cfg.missing and not cfg.feature_files:  # runs of unimodal models keep their key
        sig.pop("missing")
        sig.pop("feature_files")
    return json.loads(json.dumps(sig))  # as run.json holds it (tuples become lists)


def train_and_evaluate(
    cfg: RunConfig,
    out_dir: str | os.PathLike | None = None,
    *,
    reuse: bool = False,
    verbose: bool = True,
) -> RunResult:
    """Run one training job; see the module docstring for what lands in ``out_dir``.

    With ``out_dir`` the job holds that folder (``recommenders.io.job_folder``) and
    saves its training state there after every epoch (``train_state.pt``, deleted once
    every file is written), so a killed run repeated with the same settings continues
    where it stopped and writes the files an uninterrupted run would have written.

    Parameters
    ----------
    cfg : RunConfig
        The run's settings.
    out_dir : str or os.PathLike, optional
        The output folder; without it nothing is written (no candidates files).
    reuse : bool, default False
        With a checkpoint in ``out_dir`` made with the same settings, load the model
        instead of training it (evaluation and candidates are recomputed).
    verbose : bool, default True
        Print training progress.

    Returns
    -------
    RunResult
        Metrics, model, data, split and timing.

    Raises
    ------
    ValueError
        Bad settings, or missing/feature files for a non-multimodal model.
    FolderBusyError
        Another job holds ``out_dir``.
    """
    if out_dir is None:
        return _train_and_evaluate(cfg, None, reuse, verbose)
    with job_folder(out_dir) as out:
        return _train_and_evaluate(cfg, out, reuse, verbose)


def _train_and_evaluate(cfg: RunConfig, out: Path | None, reuse: bool, verbose: bool):
    dataset = load_data(cfg.dataset, cfg.data_path, cfg.seed)
    split = make_split(dataset.interactions, cfg.split)
    klass = get_model_class(cfg.model)
    settings = coerce_settings(cfg.model, cfg.model_settings)
    extra: dict[str, Any] = {}
    if issubclass(klass, MultimodalRanker):
        extra["features"] = build_features(dataset, missing=cfg.missing, seed=cfg.seed,
                                           files=cfg.feature_files)  # fmt: skip
    elif cfg.missing or cfg.feature_files:
        raise ValueError(f"missing= and feature files apply to multimodal models only, not "
                         f"{cfg.model!r}")  # fmt: skip
    model = klass(device=cfg.device, seed=cfg.seed, verbose=verbose, **settings, **extra)
    signature = _signature(cfg, model.config)

    reused = False
    if reuse and out is not None and (out / "model.pt").is_file() and (out / "run.json").is_file():
        previous = json.loads((out / "run.json").read_text())
        if previous.get("signature") == signature:
            model = klass.load(out / "model.pt", device=cfg.device)
            fit_seconds = float(previous.get("fit_seconds", 0.0))
            model.best_epoch_ = previous.get("best_epoch")
            epochs_run = previous.get("epochs_run")
            reused = True
    if not reused:
        start = time.perf_counter()
        model.fit(split.train, split.valid,
                  checkpoint=None if out is None else out / TRAIN_STATE)  # fmt: skip
        fit_seconds = time.perf_counter() - start
        epochs_run = len(model.train_log_)

    metrics = evaluate(
        model, split, "test", cfg.ks, dataset.item_genres, n_negatives=cfg.n_negatives,
        seed=cfg.seed,
    )  # fmt: skip
    calibration_seconds = None
    if out is not None:
        n = min(cfg.n_candidates, _max_candidates(split))
        meta = {"model": model.name, "dataset": dataset.name, "split": split.protocol,
                "n_items": dataset.n_items}  # fmt: skip
        sets, calibration_seconds = candidate_sets(
            model, split, n, n_negatives=cfg.n_negatives, seed=cfg.seed, meta=meta,
            item_genres=dataset.item_genres, genre_names=dataset.genre_names,
        )  # fmt: skip
        save_candidate_sets(out, sets, cfg.candidates_format)
        if not reused:
            model.save(out / "model.pt")
            write_csv(out / "train_log.csv", pd.DataFrame(model.train_log_))
        write_json(out / "metrics.json", metrics)
        write_json(
            out / "run.json",
            {
                "signature": signature,
                "fit_seconds": fit_seconds,
                "epochs_run": epochs_run,
                "best_epoch": model.best_epoch_,
                "device": str(model.device),
                "torch_threads": torch.get_num_threads(),
                "reused_checkpoint": reused,
                "calibration_seconds": calibration_seconds,
            },
        )
        (out / TRAIN_STATE).unlink(missing_ok=True)
    return RunResult(cfg, metrics, model, dataset, split, fit_seconds, reused, out)


def _max_candidates(split: Split) -> int:
    seen = split.history("test").user_counts().max()
    return int(split.n_items - seen)


def metrics_table(results: dict[str, RunResult], k: int = 10) -> pd.DataFrame:
    """One row per model: full and sampled accuracy at ``k``, Div, Nov and training time.

    Parameters
    ----------
    results : dict of str to RunResult
        Model name to its run.
    k : int, default 10
        The cut-off (one of the runs' ``ks``).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``HR@k``, ``NDCG@k``, ``MRR@k``, ``sampled HR@k``, ``sampled NDCG@k``,
        ``Div@k``, ``Nov@k`` (None without genres) and ``train s``.
    """
    rows = []
    for name, res in results.items():
        full, sampled = res.metrics["full"], res.metrics["sampled"]
        rows.append(
            {
                "model": name,
                f"HR@{k}": full[f"HR@{k}"],
                f"NDCG@{k}": full[f"NDCG@{k}"],
                f"MRR@{k}": full[f"MRR@{k}"],
                f"sampled HR@{k}": sampled[f"HR@{k}"],
                f"sampled NDCG@{k}": sampled[f"NDCG@{k}"],
                f"Div@{k}": full.get(f"Div@{k}"),
                f"Nov@{k}": full.get(f"Nov@{k}"),
                "train s": res.fit_seconds,
            }
        )
    return pd.DataFrame(rows)
