"""The interface every base ranker shares, and the training loop they share.

A ranker is fitted on training interactions, early-stopped on validation NDCG@10, and
then scores items for users *given a history*: the interactions it may condition on
(sequential models read the user's most recent items from it) and that ``topk`` masks
as already seen. After ``Ranker.fit`` the history is train + validation, i.e. the
model is ready to predict each user's next, unseen interaction (the test item of a
leave-one-out split). ``Ranker.set_history`` changes it.
"""

from __future__ import annotations

import abc
import copy
import os
import time
import warnings
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from tqdm.auto import tqdm

from moopt._torch import deterministic, resolve_device

from ..data.interactions import Interactions
from ..io import atomic_path, digest
from ..metrics import hit_matrix, ndcg
from ..topn import seen_entries, top_n


@dataclass(frozen=True)
class TrainConfig:
    """Training-loop settings shared by all trainable rankers.

    Every model's config extends this one (and may change its defaults); values out of
    range raise ``ValueError``. The loop is Adam, early-stopped on validation NDCG@10.

    Parameters
    ----------
    epochs : int, default 200
        Most epochs to train (>= 1).
    batch_size : int, default 256
        Training examples per optimiser step (>= 1).
    lr : float, default 1e-3
        Adam's learning rate (> 0).
    weight_decay : float, default 0.0
        Adam's L2 weight decay (>= 0).
    patience : int, default 10
        Validation rounds without an improvement of NDCG@10 before training stops (>= 1).
    eval_every : int, default 1
        Validate every this many epochs (>= 1).
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 10
    eval_every: int = 1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float, str, tuple)):
                continue
            if isinstance(value, (int, float)) and not np.isfinite(value):
                raise ValueError(f"{type(self).__name__}.{f.name} must be finite, got {value}")
        for name in ("epochs", "batch_size", "patience", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{type(self).__name__}.{name} must be >= 1")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("lr must be > 0 and weight_decay >= 0")


class Ranker(abc.ABC):
    """Base class of the rankers: ``fit``, ``score``, ``full_scores``, ``topk``, ``save``.

    Subclasses set ``name`` and ``config_class`` and implement ``_build``,
    ``_train_epoch`` and ``_scores``; a ranker without training overrides
    ``_fit_direct`` instead. ``fit`` fills ``train_log_`` (a dict per epoch),
    ``best_epoch_`` and ``fit_seconds_``; ``epoch_hooks`` holds callables
    ``hook(ranker, epoch)`` run after each epoch's validation.

    Parameters
    ----------
    config : dataclass of type ``config_class``, optional
        The settings; ``None`` uses the class's defaults.
    device : str or torch.device, default "auto"
        Where the network lives: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``,
        ``"cuda"``, ``"cuda:1"`` or a ``torch.device``.
    seed : int, default 0
        Seeds the weight initialisation, batch order and negative sampling: the same
        seed, data and thread count give the same model.
    verbose : bool, default False
        Show a progress bar of the training epochs.
    **overrides : Any
        Single settings replacing those of ``config`` (``epochs=5``); an unknown name, or
        a ``config`` of another class, raises ``TypeError``.
    """

    name: ClassVar[str] = "ranker"
    config_class: ClassVar[type] = TrainConfig
    eval_batch_users: ClassVar[int] = 1024

    def __init__(
        self,
        config: Any = None,
        *,
        device: str | torch.device = "auto",
        seed: int = 0,
        verbose: bool = False,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = self.config_class()
        elif not isinstance(config, self.config_class):
            raise TypeError(
                f"config must be a {self.config_class.__name__}, got {type(config).__name__}"
            )
        unknown = set(overrides) - {f.name for f in fields(config)}
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no setting(s) {sorted(unknown)}; "
                f"valid: {[f.name for f in fields(config)]}"
            )
        self.config = replace(config, **overrides)
        self.device = resolve_device(device)
        self.seed = int(seed)
        self.verbose = verbose
        self.net: torch.nn.Module | None = None
        self.n_users = 0
        self.n_items = 0
        self.history: Interactions | None = None
        self.train_data: Interactions | None = None
        self.train_log_: list[dict[str, float]] = []
        self.best_epoch_: int | None = None
        self.fit_seconds_: float | None = None
        self.item_loss_weights: np.ndarray | None = None
        self.epoch_hooks: list = []
        # (users, top-10 lists) of this epoch's validation during fit, None when the epoch
        # did not validate; epoch hooks may reuse it instead of ranking again.
        self.valid_topk_: tuple[np.ndarray, np.ndarray] | None = None

    def set_item_loss_weights(self, weights) -> Ranker:
        """Set per-item weights of the training examples, by target item.

        Parameters
        ----------
        weights : array_like of float, shape (n_items,), or None
            A finite, non-negative weight per item (else ``ValueError``), read by
            ``loss="sampled_weighted"`` of the sequential models; ``None`` removes them.

        Returns
        -------
        Ranker
            ``self``, for chaining.
        """
        if weights is None:
            self.item_loss_weights = None
            return self
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights must be 1-D (one per item), got shape {w.shape}")
        if self.n_items and w.shape[0] != self.n_items:
            raise ValueError(f"weights has {w.shape[0]} entries but there are {self.n_items} items")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError("weights must be finite and non-negative")
        self.item_loss_weights = w
        self._item_w_cache = None
        return self

    def item_loss_weights_tensor(self) -> torch.Tensor | None:
        """The item loss weights as a tensor on the model's device.

        Returns
        -------
        torch.Tensor or None
            ``(n_items,)`` float32 weights, or ``None`` when none are set.
        """
        if self.item_loss_weights is None:
            return None
        cache = getattr(self, "_item_w_cache", None)
        if cache is None or cache[0] is not self.item_loss_weights:
            tensor = torch.as_tensor(self.item_loss_weights, dtype=torch.float32,
                                     device=self.device)  # fmt: skip
            self._item_w_cache = cache = (self.item_loss_weights, tensor)
        if cache[1].shape[0] != self.n_items:
            raise ValueError(f"item loss weights have {cache[1].shape[0]} entries but there are "
                             f"{self.n_items} items")  # fmt: skip
        return cache[1]

    @abc.abstractmethod
    def _build(self, train: Interactions) -> torch.nn.Module:
        """Create the network for the id spaces of ``train``."""

    def _train_epoch(
        self, train: Interactions, optimizer: torch.optim.Optimizer, gen: torch.Generator
    ) -> float:
        """One pass over the training data; returns the mean loss."""
        raise NotImplementedError

    @abc.abstractmethod
    def _scores(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of all items for ``users`` given ``self.history``: ``(len(users), n_items)``."""

    def _on_history(self) -> None:  # noqa: B027 - an optional hook, not abstract
        """Hook: recompute whatever the model derives from ``self.history``."""

    def _trained_parameters(self):
        """Parameters the main optimizer updates (not an adversary's, say)."""
        return self.net.parameters()

    def _optimizer(self) -> torch.optim.Optimizer:
        """The main optimizer: Adam over ``_trained_parameters`` (BPR-MF may go sparse)."""
        c = self.config
        return torch.optim.Adam(self._trained_parameters(), lr=c.lr, weight_decay=c.weight_decay)

    def _extra_state(self) -> dict[str, Any]:
        """Tensors beyond the weights that a checkpoint must carry (item features, say);
        ``_restore_extra_state`` receives them before the network is built."""
        return {}

    def _restore_extra_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional
        """Counterpart of ``_extra_state``, called by ``load``."""

    def _fit_direct(self, train: Interactions) -> bool:
        """Fit without gradient training; return True if done (Pop)."""
        return False

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        train: Interactions,
        valid: Interactions | None = None,
        checkpoint: str | os.PathLike | None = None,
    ) -> Ranker:
        """Train on ``train``, early-stopped on ``valid``; leaves the history at train + valid.

        Builds a fresh network (seeded by ``seed``) and trains it with Adam as the config
        says, validating by NDCG@10 over all items (seen ones masked) and keeping the
        best weights. Rankers without training (Pop) are fitted directly.

        Parameters
        ----------
        train : Interactions
            Training interactions; they fix the id spaces ``n_users`` and ``n_items``.
        valid : Interactions, optional
            Validation interactions over the same id spaces; ``None`` (or an empty log)
            trains all ``epochs`` and keeps the last weights.
        checkpoint : str or os.PathLike, optional
            A file to which the training state is written atomically after every epoch:
            the weights, the optimiser's state, the batch generator's and torch's random
            states, the early-stopping state and the log. A fit started with a checkpoint
            of the same model, settings, seed and data continues after its last epoch and
            ends with the weights an uninterrupted fit would have, bit for bit (on the
            same machine and thread count); a checkpoint of anything else is replaced, with
            a warning naming what differs. The caller deletes the file once safe.

        Returns
        -------
        Ranker
            ``self``, fitted.

        Raises
        ------
        ValueError
            If ``train`` is empty, ``valid`` has other id spaces, or ``checkpoint`` is
            given with ``epoch_hooks`` (hooks keep state of their own).
        FloatingPointError
            If the training loss becomes non-finite (lower ``lr``).
        """
        if not isinstance(train, Interactions):
            raise TypeError(f"train must be Interactions, got {type(train).__name__}")
        if len(train) == 0:
            raise ValueError("train holds no interactions")
        if valid is not None and (valid.n_users, valid.n_items) != (train.n_users, train.n_items):
            raise ValueError("train and valid must share the id spaces (n_users, n_items)")
        if checkpoint is not None and self.epoch_hooks:
            raise ValueError("checkpoint= cannot restore the state of epoch hooks; fit without "
                             "a checkpoint or without epoch_hooks")  # fmt: skip
        with deterministic():
            torch.manual_seed(self.seed)
            self.n_users, self.n_items = train.n_users, train.n_items
            self.train_data = train
            self.net = self._build(train).to(self.device)
            self.set_history(train)
            self.train_log_ = []
            start = time.perf_counter()
            if not self._fit_direct(train):
                self._fit_loop(train, valid, None if checkpoint is None else Path(checkpoint))
            self.fit_seconds_ = time.perf_counter() - start
        self.set_history(train if valid is None else train.concat(valid))
        return self

    def _fit_loop(
        self, train: Interactions, valid: Interactions | None, checkpoint: Path | None = None
    ) -> None:
        cfg = self.config
        gen = torch.Generator().manual_seed(self.seed)
        optimizer = self._optimizer()
        best, best_state, stale, first = -np.inf, None, 0, 1
        key = None if checkpoint is None else self._checkpoint_key(train, valid)
        state = None if checkpoint is None else _read_train_state(checkpoint, key)
        if state is not None:
            self.net.load_state_dict(state["net"])
            optimizer.load_state_dict(state["optimizer"])
            gen.set_state(state["generator"])
            torch.set_rng_state(state["torch_rng"])
            if state["cuda_rng"] is not None:
                torch.cuda.set_rng_state_all(state["cuda_rng"])
            best, best_state, stale = state["best"], state["best_state"], state["stale"]
            self.best_epoch_, self.train_log_ = state["best_epoch"], list(state["train_log"])
            self._restore_train_state(state["extra"])
            first = state["epoch"] + 1 if stale < cfg.patience else cfg.epochs + 1
        bar = tqdm(
            range(first, cfg.epochs + 1),
            desc=f"train {self.name}",
            disable=not self.verbose,
            leave=False,
        )
        for epoch in bar:
            t0 = time.perf_counter()
            self.net.train()
            loss = self._train_epoch(train, optimizer, gen)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"{self.name}: training loss became {loss} at epoch {epoch}; lower lr"
                )
            row = {"epoch": epoch, "loss": float(loss), "seconds": time.perf_counter() - t0}
            self.valid_topk_ = None
            if valid is not None and len(valid) and epoch % cfg.eval_every == 0:
                score = self.validation_ndcg(valid)
                row["valid_ndcg@10"] = score
                if score > best:
                    best, stale, self.best_epoch_ = score, 0, epoch
                    best_state = copy.deepcopy(self.net.state_dict())
                else:
                    stale += 1
                bar.set_postfix(loss=f"{loss:.4f}", ndcg=f"{score:.4f}", best=f"{best:.4f}")
            else:
                bar.set_postfix(loss=f"{loss:.4f}")
            if self.epoch_hooks:
                # Hooks (e.g. dynamic loss weights) run between epochs, after validation so
                # that they can reuse its top-k lists (``valid_topk_``); their time is
                # logged apart so that their overhead can be reported.
                t1 = time.perf_counter()
                for hook in self.epoch_hooks:
                    hook(self, epoch)
                row["hook_seconds"] = time.perf_counter() - t1
            self.train_log_.append(row)
            if checkpoint is not None:
                _write_train_state(checkpoint, {
                    "key": key, "epoch": epoch, "net": self.net.state_dict(),
                    "optimizer": optimizer.state_dict(), "generator": gen.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "cuda_rng": (torch.cuda.get_rng_state_all()
                                 if self.device.type == "cuda" else None),
                    "best": float(best), "best_state": best_state, "stale": stale,
                    "best_epoch": self.best_epoch_, "train_log": self.train_log_,
                    "extra": self._train_state(),
                })  # fmt: skip
            if stale >= cfg.patience:
                break
        if best_state is not None:
            self.net.load_state_dict(best_state)

    def _checkpoint_key(self, train: Interactions, valid: Interactions | None) -> dict:
        """What a training checkpoint must match: model, settings, seed and a digest of
        the data and the item loss weights."""
        arrays = [a for inter in (train, valid) if inter is not None
                  for a in (inter.users, inter.items, inter.timestamps, inter.ratings)]
        arrays.append(self.item_loss_weights)
        arrays += [v.cpu().numpy() for _, v in sorted(self._extra_state().items())
                   if isinstance(v, torch.Tensor)]  # fmt: skip
        return {"format": "moopt-train-state-1", "name": self.name,
                "config": repr(asdict(self.config)), "seed": self.seed,
                "device": self.device.type,
                "shape": [self.n_users, self.n_items], "data": digest(*arrays)}  # fmt: skip

    def _train_state(self) -> dict[str, Any]:
        """Training state beyond the main optimiser (a second optimiser, say) that a
        training checkpoint carries; ``_restore_train_state`` receives it on resume."""
        return {}

    def _restore_train_state(self, state: dict[str, Any]) -> None:  # noqa: B027 - optional
        """Counterpart of ``_train_state``, called after the network is restored."""

    def validation_ndcg(self, valid: Interactions, k: int = 10) -> float:
        """Mean NDCG@k on ``valid`` given the current history.

        The history's items are masked; the lists are kept in ``valid_topk_``.

        Parameters
        ----------
        valid : Interactions
            The held-out interactions (relevant items) over the model's id spaces.
        k : int, default 10
            List length (capped at ``n_items``).

        Returns
        -------
        float
            NDCG@k averaged over the users of ``valid``.
        """
        users = np.unique(valid.users)
        k = min(k, self.n_items)
        top, _ = self.topk(users, k, exclude_seen=True)
        self.valid_topk_ = (users, top)
        hit, n_rel = hit_matrix(top, users, valid.users, valid.items, self.n_items)
        return float(ndcg(hit, n_rel, k).mean())

    # ------------------------------------------------------------------ history

    def set_history(self, history: Interactions) -> Ranker:
        """Set the interactions the model conditions on and masks as seen.

        Parameters
        ----------
        history : Interactions
            Over the fitted id spaces (else ``ValueError``); sequential models read each
            user's latest ``max_len`` items from it.

        Returns
        -------
        Ranker
            ``self``, for chaining.
        """
        if not isinstance(history, Interactions):
            raise TypeError(f"history must be Interactions, got {type(history).__name__}")
        if self.net is not None and (history.n_users, history.n_items) != (
            self.n_users,
            self.n_items,
        ):
            raise ValueError(
                f"history covers ({history.n_users}, {history.n_items}) users/items but the "
                f"model was fitted on ({self.n_users}, {self.n_items})"
            )
        self.history = history
        self._seen_indptr = history.indptr
        self._seen_items = history.items
        self._on_history()
        return self

    # ------------------------------------------------------------------ inference

    def _check_fitted(self) -> None:
        if self.net is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() or load()")

    def _check_users(self, users) -> np.ndarray:
        users = np.asarray(users)
        if users.ndim != 1:
            raise ValueError(f"users must be a 1-D array of user ids, got shape {users.shape}")
        if users.size == 0:
            raise ValueError("users is empty; pass at least one user id")
        if not np.issubdtype(users.dtype, np.integer):
            raise TypeError(f"users must hold integer ids, got dtype {users.dtype}")
        if users.min() < 0 or users.max() >= self.n_users:
            raise ValueError(f"user ids must lie in [0, {self.n_users})")
        return users.astype(np.int64)

    @torch.no_grad()
    def full_scores(self, users) -> np.ndarray:
        """Scores of every item for each user, given the history (seen items included).

        Parameters
        ----------
        users : array_like of int, shape (U,)
            User ids in ``[0, n_users)``; bad ids raise ``ValueError`` or ``TypeError``.

        Returns
        -------
        numpy.ndarray
            ``(U, n_items)`` float32 scores; higher is better.
        """
        self._check_fitted()
        users = self._check_users(users)
        self.net.eval()
        out = np.empty((users.size, self.n_items), dtype=np.float32)
        for start in range(0, users.size, self.eval_batch_users):
            chunk = users[start : start + self.eval_batch_users]
            t = torch.as_tensor(chunk, device=self.device)
            out[start : start + chunk.size] = self._scores(t).float().cpu().numpy()
        return out

    def score(self, users, items) -> np.ndarray:
        """Scores of given items for each user.

        Parameters
        ----------
        users : array_like of int, shape (U,)
            User ids in ``[0, n_users)``.
        items : array_like of int, shape (M,) or (U, M)
            Item ids in ``[0, n_items)``: one list for all users, or a list per user.

        Returns
        -------
        numpy.ndarray
            ``(U, M)`` float32 scores, entry ``[u, m]`` the score of the m-th item of
            user u's list.
        """
        users = self._check_users(users)
        items = np.asarray(items)
        if not np.issubdtype(items.dtype, np.integer):
            raise TypeError(f"items must hold integer ids, got dtype {items.dtype}")
        if items.ndim not in (1, 2) or (items.ndim == 2 and items.shape[0] != users.size):
            raise ValueError(
                f"items must be (M,) or (len(users)={users.size}, M), got shape {items.shape}"
            )
        if items.size and (items.min() < 0 or items.max() >= self.n_items):
            raise ValueError(f"item ids must lie in [0, {self.n_items})")
        out = np.empty((users.size, items.shape[-1]), np.float32)
        for start in range(0, users.size, self.eval_batch_users):  # never (U, n_items) at once
            sl = slice(start, start + self.eval_batch_users)
            full = self.full_scores(users[sl])
            out[sl] = full[:, items] if items.ndim == 1 else np.take_along_axis(full, items[sl], 1)
        return out

    def _mask_seen(self, scores: np.ndarray, users: np.ndarray) -> None:
        scores[seen_entries(self._seen_indptr, self._seen_items, users)] = -np.inf

    def topk(self, users, n: int, exclude_seen: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best items per user, best first.

        Ties go to the lower item id, so the ranking of tied items does not depend on ``n``.

        Parameters
        ----------
        users : array_like of int, shape (U,)
            User ids in ``[0, n_users)``.
        n : int
            List length, at least 1 and at most ``n_items``.
        exclude_seen : bool, default True
            Never return items of the history; ``n`` must then not exceed the number of
            unseen items of any user.

        Returns
        -------
        items : numpy.ndarray
            ``(U, n)`` int64 item ids.
        scores : numpy.ndarray
            ``(U, n)`` float32 scores of those items.

        Raises
        ------
        ValueError
            If ``n`` is not a positive integer or exceeds the (unseen) catalogue.
        FloatingPointError
            If the model produced non-finite scores.
        """
        self._check_fitted()
        users = self._check_users(users)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if n > self.n_items:
            raise ValueError(f"n={n} exceeds the catalogue size {self.n_items}")
        if exclude_seen:
            most_seen = int(np.diff(self._seen_indptr)[users].max())
            if n > self.n_items - most_seen:
                raise ValueError(
                    f"n={n} exceeds the {self.n_items - most_seen} unseen items of some user; "
                    "lower n or pass exclude_seen=False"
                )
        items = np.empty((users.size, n), dtype=np.int64)
        values = np.empty((users.size, n), dtype=np.float32)
        for start in range(0, users.size, self.eval_batch_users):
            chunk = users[start : start + self.eval_batch_users]
            scores = self.full_scores(chunk)
            if not np.all(np.isfinite(scores)):
                raise FloatingPointError(f"{self.name} produced non-finite scores")
            if exclude_seen:
                self._mask_seen(scores, chunk)
            # The n best by (score desc, item id asc), so the ranking of tied items is the
            # same whatever n is.
            items[start : start + chunk.size], values[start : start + chunk.size] = top_n(
                scores, n
            )
        return items, values

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write the config, seed, weights, training data and history to a file.

        Written atomically with ``torch.save``; a multimodal model's features go along.

        Parameters
        ----------
        path : str or os.PathLike
            Target file; an existing one is replaced.

        Returns
        -------
        pathlib.Path
            ``path``.
        """
        self._check_fitted()
        path = Path(path)
        payload = {
            "format": "moopt-ranker-1",
            "name": self.name,
            "config": asdict(self.config),
            "seed": self.seed,
            "n_users": self.n_users,
            "n_items": self.n_items,
            "state_dict": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "train": _to_tensors(self.train_data),
            "history": _to_tensors(self.history),
            "extra": self._extra_state(),
        }
        _write_torch(path, payload)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "auto") -> Ranker:
        """Load a ranker saved by ``save``.

        The file is read with ``torch.load(weights_only=True)``: tensors and plain data
        only, no pickled code. ``Ranker.load`` returns whichever model the file holds.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by ``save``.
        device : str or torch.device, default "auto"
            Where to put the network, as for the constructor.

        Returns
        -------
        Ranker
            The fitted ranker, with the saved history. A file that is no ranker
            checkpoint raises ``ValueError``; another model than the class called on
            raises ``TypeError``.
        """
        from . import get_model_class  # local import: the registry imports this module

        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict) or payload.get("format") != "moopt-ranker-1":
            raise ValueError(f"{path} is not a moopt ranker checkpoint")
        klass = get_model_class(payload["name"])
        if cls is not Ranker and not issubclass(klass, cls):
            raise TypeError(f"{path} holds a {klass.__name__}, not a {cls.__name__}")
        config = klass.config_class(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in payload["config"].items()}
        )
        model = klass(config, device=device, seed=payload["seed"])
        shape = (payload["n_users"], payload["n_items"])
        model.n_users, model.n_items = shape
        model.train_data = _from_tensors(payload["train"], *shape)
        model._restore_extra_state(payload.get("extra", {}))
        model.net = model._build(model.train_data).to(model.device)
        model.net.load_state_dict(payload["state_dict"])
        model.set_history(_from_tensors(payload["history"], *shape))
        return model

    def __repr__(self) -> str:
        state = "fitted" if self.net is not None else "unfitted"
        return f"{type(self).__name__}({state}, device={self.device.type})"


def _to_tensors(inter: Interactions) -> dict[str, torch.Tensor]:
    return {
        "users": torch.from_numpy(inter.users),
        "items": torch.from_numpy(inter.items),
        "timestamps": torch.from_numpy(inter.timestamps),
        "ratings": torch.from_numpy(inter.ratings),
    }


def _from_tensors(d: dict[str, torch.Tensor], n_users: int, n_items: int) -> Interactions:
    return Interactions(
        d["users"].numpy(), d["items"].numpy(), d["timestamps"].numpy(), d["ratings"].numpy(),
        n_users, n_items,
    )  # fmt: skip


def _write_torch(path: Path, obj: Any) -> None:
    # A file object: given a path, torch names the records after it (a random temporary).
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)

_write_train_state = _write_torch  # the training checkpoint (a test replaces it)


def _read_train_state(path: Path, key: dict) -> dict[str, Any] | None:
    """The training state in ``path`` if it was written for ``key``, else None."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("key") != key:
        old = state.get("key") if isinstance(state, dict) else None
        diff = [k for k in key if not isinstance(old, dict) or old.get(k) != key[k]]
        warnings.warn(f"{path} holds the training state of another {'/'.join(diff)}; training "
                      "starts from epoch 1 and replaces it", stacklevel=4)  # fmt: skip
        return None
    return state
