"""Multi-Supervised Contrastive Learning: CSCL and VSCL.

Same paper, section "Multi-Supervised Contrastive Learning", equations (19)-(22).

* ``info_nce``: InfoNCE over a batch, row ``u`` of ``a`` against every row of ``b``,
  the positive on the diagonal. Vectors are L2-normalised and divided by a temperature
  ``tau``: eq. (21) is written that way; eq. (19) writes raw dot products, which with
  LayerNorm outputs of norm ~sqrt(d) saturate the softmax, so CSCL uses the same
  normalised form.
* ``cscl_loss``: eq. (19), the user's text-sequence state against the same user's
  other-modality state, the other users of the batch as negatives.
* ``virtual_sequences``: eq. (20). In each sequence, the ``n`` adjacent pairs with the
  lowest similarity (the semantic transition points) get one inserted item each, ``n ~
  Poisson(rate * length)`` (at most ``max_insert``); the item is drawn with probability
  proportional to ``exp((gamma sim(e_k, e_j) + (1 - gamma) sim(e_{k+1}, e_j)) / lam)``
  over items the user has not interacted with; the sequence keeps its last ``L`` slots.
* ``vscl_loss``: eqs. (21)-(22), a sequence against its virtual copy, per modality,
  averaged. The denominator runs over the virtual sequences of the batch (the standard
  InfoNCE form; eq. (21) as printed puts the original sequences there, whose ``j = u``
  term would be the largest logit of the row).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """InfoNCE: the mean over rows ``u`` of ``-log softmax(cos(a_u, b_.) / tau)[u]``.

    Parameters
    ----------
    a, b : torch.Tensor
        ``(B, d)`` float, one shape (else ``ValueError``); row ``u`` of ``b`` is the
        positive of row ``u`` of ``a``, the other rows its negatives.
    tau : float, default 1.0
        Temperature (> 0).

    Returns
    -------
    torch.Tensor
        The scalar mean over the rows.

    Examples
    --------
    >>> import torch
    >>> info_nce(torch.eye(2), torch.eye(2))  # -log(e / (e + 1))
    tensor(0.3133)
    """
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"info_nce needs two (B, d) tensors of one shape, got {tuple(a.shape)} "
                         f"and {tuple(b.shape)}")  # fmt: skip
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T / tau
    return F.cross_entropy(logits, torch.arange(a.shape[0], device=a.device))


def cscl_loss(s_text: torch.Tensor, s_other: torch.Tensor, tau: float = 1.0) -> torch.Tensor:
    """Eq. (19): cross-modal sequence contrast, ``info_nce(s_text, s_other, tau)``.

    Parameters
    ----------
    s_text, s_other : torch.Tensor
        ``(B, d)`` states of the users' text-modality sequences and of the same users'
        other-modality sequences, same order.
    tau : float, default 1.0
        Temperature (> 0).

    Returns
    -------
    torch.Tensor
        The scalar loss, averaged over the users of the batch.
    """
    return info_nce(s_text, s_other, tau)


def vscl_loss(states: list[torch.Tensor], virtual: list[torch.Tensor], tau: float) -> torch.Tensor:
    """Eqs. (21)-(22): mean over modalities of InfoNCE(sequence, its virtual copy).

    Parameters
    ----------
    states : list of torch.Tensor
        Per modality, ``(B, d)`` states of the original sequences.
    virtual : list of torch.Tensor
        Per modality, ``(B, d)`` states of their virtual copies, same order.
    tau : float
        Temperature (> 0).

    Returns
    -------
    torch.Tensor
        A scalar.
    """
    return torch.stack([info_nce(s, v, tau) for s, v in zip(states, virtual, strict=True)]).mean()


@torch.no_grad()
def virtual_sequences(seq: torch.Tensor, table: torch.Tensor, *, rate: float = 0.1,
                      max_insert: int = 5, gamma: float = 0.5, lam: float = 0.1,
                      generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """Eq. (20): insert similar, not interacted items at each sequence's transition points.

    Without gradient; see the module docstring for the rule.

    Parameters
    ----------
    seq : torch.Tensor
        ``(B, L)`` int64 1-based item ids, 0 = padding on the left.
    table : torch.Tensor
        ``(I, d)`` the modality's item embeddings (row ``i`` for item id ``i + 1``).
    rate : float, default 0.1
        Insertions per real item: ``n ~ Poisson(rate * length)``, at most one per
        adjacent pair.
    max_insert : int, default 5
        At most this many insertions per sequence.
    gamma : float, default 0.5
        Weight of the left neighbour's similarity (``1 - gamma``: the right one's).
    lam : float, default 0.1
        Softmax temperature of the inserted item's draw.
    generator : torch.Generator, optional
        CPU generator of the draws.

    Returns
    -------
    torch.Tensor
        ``(B, L)`` sequences (``seq``'s dtype), right-aligned: the last ``L`` slots after
        insertion.
    """
    bsz, length = seq.shape
    device = seq.device
    emb = F.normalize(table.float(), dim=-1)
    emb = torch.cat([torch.zeros(1, emb.shape[1], device=emb.device), emb])  # row 0: padding
    real = seq > 0
    n_real = real.sum(1)
    # Similarity of each adjacent real pair; other pairs are never chosen.
    e = emb[seq]
    adj = (e[:, 1:] * e[:, :-1]).sum(-1)
    pair_ok = real[:, 1:] & real[:, :-1]
    adj = adj.masked_fill(~pair_ok, float("inf"))
    lam_ = (rate * n_real.float()).cpu()
    n_ins = torch.poisson(lam_, generator=generator).to(device).long()
    n_ins = torch.minimum(n_ins, pair_ok.sum(1)).clamp_max(max_insert)
    order = torch.argsort(adj, dim=1, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(length - 1, device=device).expand(bsz, -1).contiguous())
    chosen = rank < n_ins[:, None]  # (B, L-1): insert after position k
    if not chosen.any():
        return seq.clone()
    b_idx, k_idx = chosen.nonzero(as_tuple=True)
    left, right = seq[b_idx, k_idx], seq[b_idx, k_idx + 1]
    logits = (gamma * (emb[left] @ emb.T) + (1 - gamma) * (emb[right] @ emb.T)) / lam
    logits[:, 0] = float("-inf")  # never the padding id
    interacted = torch.zeros(bsz, emb.shape[0], dtype=torch.bool, device=device)
    interacted.scatter_(1, seq, True)
    logits = logits.masked_fill(interacted[b_idx], float("-inf"))
    probs = torch.softmax(logits, dim=-1).cpu()
    new_items = torch.multinomial(probs, 1, generator=generator).squeeze(1).to(device)
    # Positions in a (B, L + max_insert) buffer: original slot i moves right by the number
    # of insertions before it; an insertion after k lands right after k's new slot.
    shift = torch.zeros(bsz, length, dtype=torch.long, device=device)
    shift[:, 1:] = torch.cumsum(chosen.long(), dim=1)
    width = length + max_insert
    out = torch.zeros(bsz, width, dtype=seq.dtype, device=device)
    offset = (max_insert - n_ins)[:, None]  # keep everything right-aligned
    cols = torch.arange(length, device=device)[None] + shift + offset
    out.scatter_(1, cols, seq)
    ins_cols = k_idx + shift[b_idx, k_idx] + 1 + offset[b_idx, 0]
    out[b_idx, ins_cols] = new_items
    return out[:, -length:]
