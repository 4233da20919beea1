"""Modality Adversarial Training with a Mixture of Experts (MAT-MoE).

Same paper, section "Modality Adversarial Training with Mixture-of-Experts", equations
(9)-(16): a missing modality's embedding is generated from a present one.

* :class:`GeneratorExpert`: ``W2 LeakyReLU(W1 [e_src; z] + b1) + b2`` with noise
  ``z ~ N(0, I)`` (eq. 10).
* :class:`MoEGenerator`: ``N`` experts mixed by ``softmax(W_g e_c + b_g)`` where ``e_c``
  is the item's category embedding (eq. 11-12); an item in several categories (a film
  with three genres) uses the mean of their embeddings.
* :class:`PairDiscriminator`: ``W4 [LeakyReLU(W3 e_src + b3); e_tgt] + b4``, a logit of
  "this pair is real" (eq. 13).
* :func:`discriminator_loss`: binary cross-entropy on real pairs (label 1) and generated
  ones (label 0), eq. (14), plus ``lambda_gp`` times the gradient penalty of eq. (16)
  (Gulrajani et al. 2017) on interpolates ``a e_real + (1 - a) e_syn``, taken on the
  logit.
* :func:`generator_loss`: the generator's side of eq. (15) in the usual non-saturating
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
    """Eq. (10): a two-layer FFN on ``[e_src; z]``."""

    def __init__(self, d: int, d_noise: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d + d_noise, hidden), nn.LeakyReLU(0.2),
                                 nn.Linear(hidden, d))  # fmt: skip

    def forward(self, e_src: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([e_src, z], dim=-1))


class MoEGenerator(nn.Module):
    """Eqs. (11)-(12): category-routed mixture of :class:`GeneratorExpert`."""

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
        """``(n, C)`` multi-hot -> ``(n, N)`` routing weights (eq. 11)."""
        cats = categories.float()
        e_c = cats @ self.category.weight / cats.sum(-1, keepdim=True).clamp_min(1.0)
        return torch.softmax(self.gate(e_c), dim=-1)

    def forward(self, e_src: torch.Tensor, categories: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        z = torch.randn(e_src.shape[0], self.d_noise, generator=generator, device="cpu")
        z = z.to(e_src.device, e_src.dtype)
        out = torch.stack([ex(e_src, z) for ex in self.experts], dim=1)  # (n, N, d)
        return (self.gates(categories)[..., None] * out).sum(1)  # eq. (12)


class PairDiscriminator(nn.Module):
    """Eq. (13): a logit that ``(e_src, e_tgt)`` is a real pair."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.src = nn.Linear(d, d)
        self.out = nn.Linear(2 * d, 1)

    def forward(self, e_src: torch.Tensor, e_tgt: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([F.leaky_relu(self.src(e_src), 0.2), e_tgt], -1)).squeeze(-1)


def gradient_penalty(disc: PairDiscriminator, e_src, e_real, e_fake,
                     generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """Eq. (16): ``E[(||grad_x D(e_src, x)|| - 1)^2]`` at ``x = a e_real + (1 - a) e_fake``."""
    a = torch.rand(e_real.shape[0], 1, generator=generator).to(e_real.device, e_real.dtype)
    x = (a * e_real + (1 - a) * e_fake).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(disc(e_src, x).sum(), x, create_graph=True)
    return ((grad.norm(dim=-1) - 1.0) ** 2).mean()


def discriminator_loss(disc: PairDiscriminator, e_src, e_real, e_fake, lambda_gp: float = 0.0,
                       generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """Eq. (14) (cross-entropy, real pairs 1 and generated pairs 0) plus the penalty."""
    real = disc(e_src, e_real)
    fake = disc(e_src, e_fake)
    loss = (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))  # fmt: skip
    if lambda_gp > 0:
        loss = loss + lambda_gp * gradient_penalty(disc, e_src, e_real, e_fake, generator)
    return loss


def generator_loss(disc: PairDiscriminator, e_src, e_fake) -> torch.Tensor:
    """``-log D(e_src, e_fake)``: small when the discriminator takes the pairs for real."""
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
    """Inference: the mean of the samples ``disc`` accepts (logit > 0), per item; the mean
    of all samples where it accepts none."""
    samples = torch.stack([gen(e_src, categories, generator) for _ in range(n_samples)], 1)
    ok = (disc(e_src[:, None, :].expand_as(samples), samples) > 0).float()  # (n, S)
    none = ok.sum(1, keepdim=True) == 0
    w = torch.where(none, torch.ones_like(ok), ok)
    return (w[..., None] * samples).sum(1) / w.sum(1, keepdim=True)
