"""Modality Adversarial Training with a Mixture of Experts (MAT-MoE).

Same paper, section "Modality Adversarial Training with Mixture-of-Experts", equations
(9)-(16): a missing modality's embedding is generated from a present one.

* ``GeneratorExpert``: ``W2 LeakyReLU(W1 [e_src; z] + b1) + b2`` with noise
  ``z ~ N(0, I)`` (eq. 10).
* ``MoEGenerator``: ``N`` experts mixed by ``softmax(W_g e_c + b_g)`` where ``e_c``
  is the item's category embedding (eq. 11-12); an item in several categories (a film
  with three genres) uses the mean of their embeddings.
* ``PairDiscriminator``: ``W4 [LeakyReLU(W3 e_src + b3); e_tgt] + b4``, a logit of
  "this pair is real" (eq. 13).
* ``discriminator_loss``: binary cross-entropy on real pairs (label 1) and generated
  ones (label 0), eq. (14), plus ``lambda_gp`` times the gradient penalty of eq. (16)
  (Gulrajani et al. 2017) on interpolates ``a e_real + (1 - a) e_syn``, taken on the
  logit.
* ``generator_loss``: the generator's side of eq. (15) in the usual non-saturating
  form, ``-log D(e_src, e_syn)``.

Alternation (eq. 15 leaves it open): each training batch first takes one discriminator
step on real and generated pairs (generator output detached, own optimizer), then the
model step, whose loss includes ``lambda_adv * generator_loss`` with the discriminator
held fixed. Real pairs come from items that have both modalities.

At inference (the paragraph after eq. 16) each missing embedding is the mean of the
generated samples the discriminator accepts (logit > 0), over ``n_samples`` noise draws;
if it accepts none, the mean of all samples.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GeneratorExpert(nn.Module):
    """Eq. (10): a two-layer FFN on ``[e_src; z]``, LeakyReLU(0.2) between the layers.

    Parameters
    ----------
    d : int
        Embedding size (source and output).
    d_noise : int
        Size of the noise ``z``.
    hidden : int
        Hidden layer size.
    """

    def __init__(self, d: int, d_noise: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d + d_noise, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, d))  # fmt: skip

    def forward(self, e_src: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Generate from source embeddings and noise.

        Parameters
        ----------
        e_src : torch.Tensor
            ``(n, d)`` source-modality embeddings.
        z : torch.Tensor
            ``(n, d_noise)`` noise.

        Returns
        -------
        torch.Tensor
            ``(n, d)`` generated target-modality embeddings.
        """
        return self.net(torch.cat([e_src, z], dim=-1))


class MoEGenerator(nn.Module):
    """Eqs. (11)-(12): category-routed mixture of ``GeneratorExpert``.

    Parameters
    ----------
    d : int
        Embedding size.
    n_categories : int
        Number of item categories (>= 1), each with a learned embedding.
    n_experts : int, default 4
        Experts N (>= 1).
    d_noise : int, default 16
        Size of the noise drawn per item.
    hidden : int, optional
        Experts' hidden size; ``None`` uses ``2 * d``.

    Examples
    --------
    >>> import torch
    >>> gen = MoEGenerator(d=4, n_categories=3, n_experts=2)
    >>> cats = torch.tensor([[True, False, True], [False, False, False]])
    >>> gen.gates(cats).detach().sum(-1)  # routing weights over the experts sum to one
    tensor([1.0000, 1.0000])
    >>> gen(torch.randn(2, 4), cats, torch.Generator().manual_seed(0)).shape
    torch.Size([2, 4])
    """

    def __init__(self, d: int, n_categories: int, n_experts: int = 4, d_noise: int = 16,
                 hidden: int | None = None) -> None:  # fmt: skip
        super().__init__()
        if n_experts < 1 or n_categories < 1:
            raise ValueError("MoEGenerator needs n_experts >= 1 and n_categories >= 1")
        self.d_noise = d_noise
        self.experts = nn.ModuleList(GeneratorExpert(d, d_noise, hidden or 2 * d)
                                     for _ in range(n_experts))  # fmt: skip
        self.category = nn.Embedding(n_categories, d)
        self.gate = nn.Linear(d, n_experts)

    def gates(self, categories: torch.Tensor) -> torch.Tensor:
        """Routing weights of the experts (eq. 11).

        Parameters
        ----------
        categories : torch.Tensor
            ``(n, C)`` bool or 0/1 multi-hot categories; an item's category embedding is
            the mean over its categories (zero for none).

        Returns
        -------
        torch.Tensor
            ``(n, N)`` softmax weights.
        """
        cats = categories.float()
        e_c = cats @ self.category.weight / cats.sum(-1, keepdim=True).clamp_min(1.0)
        return torch.softmax(self.gate(e_c), dim=-1)

    def forward(self, e_src: torch.Tensor, categories: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        """Generate one sample per item (eq. 12).

        Parameters
        ----------
        e_src : torch.Tensor
            ``(n, d)`` source-modality embeddings.
        categories : torch.Tensor
            ``(n, C)`` multi-hot categories of the same items.
        generator : torch.Generator, optional
            CPU generator of the noise ``z ~ N(0, I)``.

        Returns
        -------
        torch.Tensor
            ``(n, d)`` generated embeddings.
        """
        z = torch.randn(e_src.shape[0], self.d_noise, generator=generator, device="cpu")
        z = z.to(e_src.device, e_src.dtype)
        out = torch.stack([ex(e_src, z) for ex in self.experts], dim=1)  # (n, N, d)
        return (self.gates(categories)[..., None] * out).sum(1)  # eq. (12)


class PairDiscriminator(nn.Module):
    """Eq. (13): a logit that ``(e_src, e_tgt)`` is a real pair.

    Parameters
    ----------
    d : int
        Embedding size of both members of a pair.
    """

    def __init__(self, d: int) -> None:
        super().__init__()
        self.src = nn.Linear(d, d)
        self.out = nn.Linear(2 * d, 1)

    def forward(self, e_src: torch.Tensor, e_tgt: torch.Tensor) -> torch.Tensor:
        """Score pairs.

        Parameters
        ----------
        e_src, e_tgt : torch.Tensor
            ``(..., d)`` source and target embeddings, same leading shape.

        Returns
        -------
        torch.Tensor
            ``(...)`` logits, positive for pairs taken as real.
        """
        return self.out(torch.cat([F.leaky_relu(self.src(e_src), 0.2), e_tgt], -1)).squeeze(-1)


def gradient_penalty(disc: PairDiscriminator, e_src, e_real, e_fake,
                     generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """Eq. (16): ``E[(||grad_x D(e_src, x)|| - 1)^2]`` at ``x = a e_real + (1 - a) e_fake``.

    Parameters
    ----------
    disc : PairDiscriminator
        The discriminator D.
    e_src, e_real, e_fake : torch.Tensor
        ``(n, d)`` source embeddings and their real and generated targets.
    generator : torch.Generator, optional
        CPU generator of the interpolation weights ``a ~ U(0, 1)``, one per row.

    Returns
    -------
    torch.Tensor
        A scalar, differentiable in D's parameters.
    """
    a = torch.rand(e_real.shape[0], 1, generator=generator).to(e_real.device, e_real.dtype)
    x = (a * e_real + (1 - a) * e_fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(e_src, x).sum(), x, create_graph=True)
    return ((grad.norm(dim=-1) - 1.0) ** 2).mean()


def discriminator_loss(disc: PairDiscriminator, e_src, e_real, e_fake, lambda_gp: float = 0.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """Eq. (14) (cross-entropy, real pairs 1 and generated pairs 0) plus the penalty.

    Parameters
    ----------
    disc : PairDiscriminator
        The discriminator.
    e_src, e_real, e_fake : torch.Tensor
        ``(n, d)`` source embeddings and their real and generated targets.
    lambda_gp : float, default 0.0
        Weight of ``gradient_penalty``; 0 skips it.
    generator : torch.Generator, optional
        CPU generator of the penalty's interpolation weights.

    Returns
    -------
    torch.Tensor
        A scalar: the two mean cross-entropies summed, plus the weighted penalty.
    """
    real = disc(e_src, e_real)
    fake = disc(e_src, e_fake)
    loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))  # fmt: skip
    if lambda_gp > 0:
        loss = loss + lambda_gp * gradient_penalty(disc, e_src, e_real, e_fake, generator)
    return loss


def generator_loss(disc: PairDiscriminator, e_src, e_fake) -> torch.Tensor:
    """``-log D(e_src, e_fake)``: small when the discriminator takes the pairs for real.

    Parameters
    ----------
    disc : PairDiscriminator
        The discriminator, held fixed by the caller's optimiser.
    e_src, e_fake : torch.Tensor
        ``(n, d)`` source embeddings and the targets generated from them.

    Returns
    -------
    torch.Tensor
        A scalar, the mean over pairs.
    """
    fake = disc(e_src, e_fake)
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


@torch.no_grad()
def accepted_mean(
    gen: MoEGenerator,
    disc: PairDiscriminator,
    e_src: torch.Tensor,
    categories: torch.Tensor,
    n_samples: int = 4,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inference: per item, the mean of the samples ``disc`` accepts (logit > 0).

    Where it accepts none, the mean of all samples. Without gradient.

    Parameters
    ----------
    gen : MoEGenerator
        The generator.
    disc : PairDiscriminator
        The discriminator that accepts or rejects each sample.
    e_src : torch.Tensor
        ``(n, d)`` source embeddings.
    categories : torch.Tensor
        ``(n, C)`` multi-hot categories of the same items.
    n_samples : int, default 4
        Samples drawn per item.
    generator : torch.Generator, optional
        CPU generator of the noise.

    Returns
    -------
    torch.Tensor
        ``(n, d)`` embeddings.
    """
    samples = torch.stack([gen(e_src, categories, generator) for _ in range(n_samples)], 1)
    ok = (disc(e_src[:, None, :].expand_as(samples), samples) > 0).float()  # (n, S)
    none = ok.sum(1, keepdim=True) == 0
    w = torch.where(none, torch.ones_like(ok), ok)
    return (w[..., None] * samples).sum(1) / w.sum(1, keepdim=True)
