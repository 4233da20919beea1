"""Torch training helpers: MGDA / MGDA-UB loss weighting and PCGrad backward.

MGDA (Désidéri 2012) as used for deep multi-task learning by Sener & Koltun, "Multi-Task
Learning as Multi-Objective Optimization", NeurIPS 2018, Algorithm 2: the weights ``w`` solve
eq. (3), the minimum-norm point of the convex hull of the objectives' gradients with respect to
the shared parameters, and the shared parameters descend along ``sum_i w_i grad L_i``, which
decreases every objective unless the point is Pareto stationary.

MGDA-UB (their section 3.3) replaces the gradients with respect to the shared parameters by the
gradients with respect to the shared representation ``Z = g(x; theta_sh)``: by the chain rule
the former equal ``(dZ/dtheta_sh)^T`` times the latter, so the representation problem minimises
an upper bound of the parameter problem and needs one backward pass through the task heads only
instead of one through the whole encoder per objective.

Gradient normalisation offers the options of Sener & Koltun's released code: each gradient is
divided by c_i = its l2 norm (``"l2"``), its loss value (``"loss"``) or their product
(``"loss+"``) before the minimum-norm problem is solved, and the resulting weights multiply the
raw losses. Caveat: the combined gradient is then ``sum_i w_i g_i``, not the normalised
minimum-norm direction ``sum_i w_i g_i / c_i``; only the latter is guaranteed to decrease every
objective, so ``"none"`` is the option with MGDA's descent guarantee.

PCGrad (Yu et al., "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1) is in
``moopt.gradient.pcgrad``; ``pcgrad_backward`` is its training-loop form.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
import torch

from .min_norm import _validate_iteration_args, min_norm
from .pcgrad import pcgrad

__all__ = ["MGDA", "mgda_step", "pcgrad_backward"]

Normalization = Literal["none", "l2", "loss", "loss+"]
_NORMALIZATIONS = ("none", "l2", "loss", "loss+")


def _check_losses(losses: Any) -> list[torch.Tensor]:
    if isinstance(losses, torch.Tensor):
        if losses.dim() != 1:
            raise TypeError(
                "losses must be a sequence of scalar tensors or a 1-D tensor of losses, got a "
                f"tensor of shape {tuple(losses.shape)}"
            )
        losses = list(losses.unbind())
    elif isinstance(losses, Sequence):
        losses = list(losses)
    else:
        raise TypeError(f"losses must be a list of scalar tensors, got {type(losses).__name__}")
    if not losses:
        raise ValueError("losses is empty; pass one scalar loss tensor per objective")
    for i, loss in enumerate(losses):
        if not isinstance(loss, torch.Tensor):
            raise TypeError(f"losses[{i}] must be a torch tensor, got {type(loss).__name__}")
        if loss.dim() != 0:
            raise ValueError(
                f"losses[{i}] must be a scalar (0-d) tensor, got shape {tuple(loss.shape)}; "
                "reduce it first, e.g. with .mean() or .sum()"
            )
        if not loss.is_floating_point():
            raise TypeError(f"losses[{i}] must be a floating-point tensor, got {loss.dtype}")
        if not loss.requires_grad:
            raise ValueError(
                f"losses[{i}] does not require grad, so it has no gradient to weigh; compute it "
                "from parameters with requires_grad=True and outside torch.no_grad()"
            )
    values = torch.stack([loss.detach() for loss in losses])
    finite = torch.isfinite(values)
    if not bool(finite.all()):
        bad = torch.nonzero(~finite).flatten().tolist()
        raise ValueError(
            f"non-finite loss value(s) (NaN or inf) at losses{bad}: {values[bad].tolist()}; "
            "a NaN or infinite objective cannot be weighed, fix it before this step"
        )
    return losses


def _tensor_list(x: Any, name: str, trainable_only: bool) -> list[torch.Tensor]:
    if isinstance(x, torch.nn.Module):
        tensors = list(x.parameters())
    elif isinstance(x, torch.Tensor):
        tensors = [x]
    elif isinstance(x, Iterable):
        tensors = list(x)
    else:
        raise TypeError(
            f"{name} must be a tensor, an iterable of tensors or an nn.Module, "
            f"got {type(x).__name__}"
        )
    for k, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name}[{k}] must be a torch tensor, got {type(t).__name__}")
    if trainable_only:
        tensors = [t for t in tensors if t.requires_grad]
    if not tensors:
        raise ValueError(f"{name} holds no tensor that requires grad")
    for k, t in enumerate(tensors):
        if not t.requires_grad:
            raise ValueError(
                f"{name}[{k}] does not require grad; pass the representation tensor that the "
                "task heads consume, before any .detach()"
            )
    return tensors


def _gradient_matrix(
    losses: list[torch.Tensor], inputs: list[torch.Tensor], name: str, free_graph: bool = False
) -> tuple[torch.Tensor, list[bool]]:
    """(m, D) flattened gradients of each loss w.r.t. ``inputs``; D = total numel of inputs.

    Also returns, per input, whether any loss reached it. The graph is kept for the caller's
    own backward pass unless ``free_graph`` (then it is freed by the last gradient call).
    """
    rows = []
    reached = [False] * len(inputs)
    for i, loss in enumerate(losses):
        grads = torch.autograd.grad(
            loss,
            inputs,
            retain_graph=not (free_graph and i == len(losses) - 1),
            allow_unused=True,
        )
        flat = []
        for k, (g, t) in enumerate(zip(grads, inputs, strict=True)):
            if g is None:
                flat.append(torch.zeros(t.numel(), device=t.device, dtype=t.dtype))
            else:
                reached[k] = True
                flat.append(g.reshape(-1))
        row = torch.cat(flat)
        if not bool(torch.isfinite(row).all()):
            raise ValueError(
                f"the gradient of losses[{i}] w.r.t. {name} has non-finite entries (NaN or "
                "inf); check that objective for overflow, log(0) or division by zero"
            )
        rows.append(row)
    return torch.stack(rows), reached


def _normalizers(G: torch.Tensor, losses: list[torch.Tensor], normalization: str) -> torch.Tensor:
    """Divisor of each gradient row, shape (m,), on G's device and dtype."""
    m = G.shape[0]
    if normalization == "none":
        return torch.ones(m, device=G.device, dtype=G.dtype)
    norms = torch.linalg.vector_norm(G, dim=1)
    # A zero gradient is left as it is: it already makes the point Pareto stationary, and
    # dividing would turn it into NaN.
    norms = torch.where(norms > 0, norms, torch.ones_like(norms))
    if normalization == "l2":
        return norms
    values = torch.stack([loss.detach() for loss in losses]).to(G.device, G.dtype)
    nonpositive = torch.nonzero(values <= 0).flatten().tolist()
    if nonpositive:
        raise ValueError(
            f"normalization={normalization!r} divides by the loss value, but losses"
            f"{nonpositive} are <= 0 ({values[nonpositive].tolist()}); use 'l2' or 'none', "
            "or shift those losses to be positive"
        )
    return values if normalization == "loss" else values * norms


def _check_normalization(normalization: Any) -> str:
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    return normalization


def _mgda(
    losses: Any,
    shared_params: Any,
    shared_repr: Any,
    normalization: str,
    max_iter: int,
    tol: float,
) -> tuple[torch.Tensor, torch.Tensor, float]:
    normalization = _check_normalization(normalization)
    if (shared_params is None) == (shared_repr is None):
        raise ValueError(
            "pass exactly one of shared_params (MGDA: gradients w.r.t. the shared weights) and "
            "shared_repr (MGDA-UB: gradients w.r.t. the shared representation), got "
            + ("both" if shared_params is not None else "neither")
        )
    losses = _check_losses(losses)
    if shared_params is not None:
        name, inputs = "shared_params", _tensor_list(shared_params, "shared_params", True)
    else:
        name, inputs = "shared_repr", _tensor_list(shared_repr, "shared_repr", False)
    G, _ = _gradient_matrix(losses, inputs, name)
    G = G / _normalizers(G, losses, normalization)[:, None]
    weights, norm = min_norm(G, max_iter=max_iter, tol=tol)
    weights = weights.detach()
    stacked = torch.stack(losses)
    combined = (weights.to(stacked.device, stacked.dtype) * stacked).sum()
    return weights, combined, norm


def mgda_step(
    losses: Sequence[torch.Tensor] | torch.Tensor,
    shared_params: Iterable[torch.Tensor] | torch.nn.Module | None = None,
    shared_repr: torch.Tensor | Sequence[torch.Tensor] | None = None,
    normalization: Normalization = "none",
    max_iter: int = 250,
    tol: float = 1e-10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MGDA weights for one training step, and the weighted loss to back-propagate.

    Parameters
    ----------
    losses : sequence of torch.Tensor or torch.Tensor
        One differentiable scalar (0-d) loss per objective, as a list or a 1-D tensor.
        Every value must be finite.
    shared_params : iterable of torch.Tensor or torch.nn.Module, optional
        MGDA: the parameters shared by all objectives (an iterable of tensors or an
        ``nn.Module``; tensors that do not require grad are skipped).
    shared_repr : torch.Tensor or sequence of torch.Tensor, optional
        MGDA-UB: the shared representation tensor(s) the task heads consume (a non-leaf
        tensor that requires grad). Exactly one of ``shared_params`` / ``shared_repr``.
    normalization : {"none", "l2", "loss", "loss+"}, default "none"
        ``"none"``, ``"l2"`` (divide each gradient by its norm), ``"loss"`` (by its loss value,
        which must be > 0) or ``"loss+"`` (by loss value times norm). The weights are computed
        on the normalised gradients and applied to the raw losses.
    max_iter, tol : int and float, default 250 and 1e-10
        Passed to ``moopt.gradient.min_norm``.

    Returns
    -------
    weights : torch.Tensor, shape (m,)
        Detached weights on the simplex, on the gradients' device with their dtype.
    combined_loss : torch.Tensor
        ``sum_i weights[i] * losses[i]``, still attached to the graph: call
        ``combined_loss.backward()`` (then ``optimizer.step()``). The graph is kept alive
        for that call, so the per-objective gradient passes here do not free it.

    Raises
    ------
    ValueError
        Both or neither of ``shared_params`` / ``shared_repr``; a non-scalar, non-finite or
        non-differentiable loss; a non-finite gradient (the message names the objective); a
        non-positive loss with ``"loss"`` / ``"loss+"``; an unknown ``normalization``.
    """
    weights, combined, _ = _mgda(losses, shared_params, shared_repr, normalization, max_iter, tol)
    return weights, combined


class MGDA:
    """MGDA / MGDA-UB loss weighting with fixed options.

    ``MGDA(normalization="l2").step(losses, shared_params=model.encoder)`` is
    ``mgda_step`` with these options; after each step ``last_weights`` and ``last_norm``
    (the minimum norm; 0 means Pareto stationary) are kept for logging.

    Parameters
    ----------
    normalization : {"none", "l2", "loss", "loss+"}, default "none"
        Gradient normalisation (see ``mgda_step``).
    max_iter : int, default 250
        Frank-Wolfe iterations of the min-norm solve.
    tol : float, default 1e-10
        Tolerance of the min-norm solve.
    """

    def __init__(
        self, normalization: Normalization = "none", max_iter: int = 250, tol: float = 1e-10
    ) -> None:
        self.normalization = _check_normalization(normalization)
        self.max_iter, self.tol = _validate_iteration_args(max_iter, tol)
        self.last_weights: torch.Tensor | None = None
        self.last_norm: float | None = None

    def step(
        self,
        losses: Sequence[torch.Tensor] | torch.Tensor,
        shared_params: Iterable[torch.Tensor] | torch.nn.Module | None = None,
        shared_repr: torch.Tensor | Sequence[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight the losses for one training step, as ``mgda_step`` does with these options.

        Parameters
        ----------
        losses : sequence of torch.Tensor or torch.Tensor
            One differentiable scalar loss per objective.
        shared_params : iterable of torch.Tensor or torch.nn.Module, optional
            MGDA: the parameters shared by all objectives.
        shared_repr : torch.Tensor or sequence of torch.Tensor, optional
            MGDA-UB: the shared representation; exactly one of the two.

        Returns
        -------
        weights : torch.Tensor, shape (m,)
            Detached weights on the simplex.
        combined_loss : torch.Tensor
            The weighted loss to back-propagate.
        """
        weights, combined, norm = _mgda(
            losses, shared_params, shared_repr, self.normalization, self.max_iter, self.tol
        )
        self.last_weights, self.last_norm = weights, norm
        return weights, combined

    def __repr__(self) -> str:
        return (
            f"MGDA(normalization={self.normalization!r}, max_iter={self.max_iter}, tol={self.tol})"
        )


def pcgrad_backward(
    losses: Sequence[torch.Tensor] | torch.Tensor,
    params: Iterable[torch.Tensor] | torch.nn.Module,
    seed: int | np.random.Generator | None = None,
    shuffle: bool = True,
    retain_graph: bool = False,
) -> None:
    """Back-propagate the PCGrad combination of ``losses`` into ``params``' ``.grad``.

    Computes each loss's gradient w.r.t. ``params``, projects them with
    ``moopt.gradient.pcgrad`` and accumulates their sum into ``p.grad``, as
    ``loss.backward()`` would (zero the gradients first, e.g. ``optimizer.zero_grad()``).
    Parameters that no loss depends on keep their ``.grad`` untouched.

    Parameters
    ----------
    losses : sequence of torch.Tensor or torch.Tensor
        One differentiable, finite scalar (0-d) loss per objective.
    params : iterable of torch.Tensor or torch.nn.Module
        The parameters to update (an iterable of tensors or an ``nn.Module``; those that do
        not require grad are skipped). Usually every trainable parameter: for parameters only
        one objective reaches, the projection is the identity.
    seed, shuffle : int, numpy.random.Generator or None, and bool
        Visiting order, as in ``moopt.gradient.pcgrad``. Pass one ``numpy.random.Generator``
        for the whole run; the same int every step repeats the same order.
    retain_graph : bool, default False
        Keep the autograd graph after the last gradient pass (False frees it, like
        ``backward()``).

    Raises
    ------
    ValueError
        A non-scalar, non-finite or non-differentiable loss, or a non-finite gradient (the
        message names the objective).
    """
    losses = _check_losses(losses)
    tensors = _tensor_list(params, "params", True)
    G, reached = _gradient_matrix(losses, tensors, "params", free_graph=not retain_graph)
    total = pcgrad(G, seed=seed, shuffle=shuffle).sum(dim=0)
    offset = 0
    with torch.no_grad():
        for t, used in zip(tensors, reached, strict=True):
            n = t.numel()
            if used:
                chunk = total[offset : offset + n].view_as(t).to(t.dtype)
                if t.grad is None:
                    t.grad = chunk.clone()
                else:
                    t.grad.add_(chunk)
            offset += n
