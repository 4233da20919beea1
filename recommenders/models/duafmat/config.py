"""The settings of DuAF-MAT and of the two baselines built from its parts.

``DuAFMATConfig`` extends SASRec's encoder settings with those of the multimodal parts;
``UniSRecTextConfig`` and ``ConcatFusionConfig`` are the same settings with other defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..sasrec import SASRecConfig

FUSIONS = ("duaf", "mean", "concat")
ADAPTERS = ("linear", "moe")


@dataclass(frozen=True)
class DuAFMATConfig(SASRecConfig):
    """SASRec's encoder settings plus those of the multimodal parts.

    Parameters
    ----------
    epochs, patience : int
        Defaults 30 and 5: SASRec's 200 and 10 left DuAF-MAT, about twice SASRec's time per
        epoch, training for over 40 minutes on two CPU cores (its ML-100K run on the results
        page used these values, best epoch 26). The baselines inherit them.
    fusion : {"duaf", "mean", "concat"}, default "duaf"
        DuAF's weights, equal weights without time, or a linear layer on the concatenation
        (which then also makes the scoring item vectors).
    use_ids, modalities : bool, tuple of str
        Use the item-ID embedding (the first modality; default True) and these feature
        modalities by name (default ``()``: all of the features').
    adapter, n_adapter_experts : str, int
        Projection of frozen features to ``hidden``: ``"linear"`` (default) or ``"moe"``,
        UniSRec's mixture of ``n_adapter_experts`` (default 8) whitening experts.
    generator : bool, default True
        Generate a missing feature modality from the other one (MAT-MoE, with exactly two
        feature modalities); else it is left out of the item's fusion.
    n_experts, d_noise, lambda_adv, lambda_gp, n_gen_samples : int, int, float, float, int
        MAT-MoE's experts, noise size, generator-loss weight, gradient-penalty weight and
        inference draws per missing embedding (defaults 4, 16, 0.1, 1e-3 and 4).
    lambda_cscl, lambda_vscl, tau : float
        Weights of CSCL (two feature modalities only) and VSCL (0 = off) and their
        temperature (defaults 0.2, 0.2 and 0.2).
    vscl_rate, vscl_max_insert, vscl_gamma, vscl_lambda : float, int, float, float
        ``rate``, ``max_insert``, ``gamma``, ``lam`` of ``virtual_sequences`` (defaults 0.1,
        5, 0.5, 0.1).
    cl_batch, cl_len : int
        The contrastive terms use the last ``cl_len`` items of the first ``cl_batch``
        windows of each batch (defaults 64 and 20).
    scale_inputs, main_loss : bool, str
        Multiply the sequences' modality embeddings by ``sqrt(hidden)`` (default True);
        ``"ce"`` (default) or ``"bce"``, as for the function ``main_loss``.
    hidden, n_layers, n_heads, inner, dropout, attn_dropout : see ``SASRecConfig``
        The encoder, with ``SASRecConfig``'s defaults; ``hidden`` must be even.
    max_len, batch_size, loss, n_negatives, negatives, logq, in_batch : see ``SequentialConfig``
        Windows and batches as there; ``loss`` must stay ``"ce"`` (the others are unused).
    lr, weight_decay, eval_every : see ``TrainConfig``
        With ``TrainConfig``'s defaults; ``lr`` is also the discriminators' (Adam).
    """

    epochs: int = 30
    patience: int = 5
    fusion: str = "duaf"
    use_ids: bool = True
    modalities: tuple[str, ...] = ()  # () = every modality of the features
    adapter: str = "linear"
    n_adapter_experts: int = 8
    generator: bool = True
    n_experts: int = 4
    d_noise: int = 16
    lambda_adv: float = 0.1
    lambda_gp: float = 1e-3
    n_gen_samples: int = 4
    lambda_cscl: float = 0.2
    lambda_vscl: float = 0.2
    tau: float = 0.2
    vscl_rate: float = 0.1
    vscl_max_insert: int = 5
    vscl_gamma: float = 0.5
    vscl_lambda: float = 0.1
    cl_batch: int = 64
    cl_len: int = 20
    scale_inputs: bool = True  # sequence inputs times sqrt(hidden), as SASRec's items
    main_loss: str = "ce"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.hidden % 2:
            raise ValueError(f"hidden={self.hidden} must be even (the time embedding's sin/cos)")
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {FUSIONS}, got {self.fusion!r}")
        if self.adapter not in ADAPTERS:
            raise ValueError(f"adapter must be one of {ADAPTERS}, got {self.adapter!r}")
        if self.main_loss not in ("ce", "bce"):
            raise ValueError(f"main_loss must be 'ce' or 'bce', got {self.main_loss!r}")
        if self.loss != "ce":
            raise ValueError("multimodal rankers train with main_loss ('ce' or 'bce'); "
                             "the sampled losses of loss= are not supported here")  # fmt: skip
        for name in ("lambda_adv", "lambda_gp", "lambda_cscl", "lambda_vscl", "vscl_rate"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.tau <= 0 or self.vscl_lambda <= 0 or not 0 <= self.vscl_gamma <= 1:
            raise ValueError("tau and vscl_lambda must be > 0 and vscl_gamma in [0, 1]")
        if min(self.n_experts, self.n_adapter_experts, self.n_gen_samples, self.d_noise,
               self.cl_len) < 1 or self.cl_batch < 2:  # fmt: skip
            raise ValueError("n_experts, n_adapter_experts, n_gen_samples, d_noise and cl_len "
                             "must be >= 1, cl_batch >= 2")  # fmt: skip


@dataclass(frozen=True)
class UniSRecTextConfig(DuAFMATConfig):
    """Settings of ``UniSRecText``: ``DuAFMATConfig``'s, seven with other defaults.

    Parameters
    ----------
    fusion, use_ids, modalities, adapter, generator, lambda_cscl, lambda_vscl : overridden
        Defaults ``"mean"``, False, ``("text",)``, ``"moe"``, False, 0.0 and 0.0: text
        through the MoE adapter, no IDs, no MAT-MoE, no contrastive terms.
    epochs, patience, hidden, n_layers, n_heads, inner, dropout, attn_dropout, max_len : inherited
    batch_size, lr, weight_decay, eval_every, loss, main_loss, n_negatives, negatives : inherited
    logq, in_batch, n_adapter_experts, n_experts, d_noise, lambda_adv, lambda_gp, tau : inherited
    n_gen_samples, vscl_rate, vscl_max_insert, vscl_gamma, vscl_lambda, cl_batch, cl_len : inherited
    scale_inputs : inherited
        The inherited settings are ``DuAFMATConfig``'s, with its defaults.
    """

    fusion: str = "mean"
    use_ids: bool = False
    modalities: tuple[str, ...] = ("text",)
    adapter: str = "moe"
    generator: bool = False
    lambda_cscl: float = 0.0
    lambda_vscl: float = 0.0


@dataclass(frozen=True)
class ConcatFusionConfig(DuAFMATConfig):
    """Settings of ``ConcatFusion``: ``DuAFMATConfig``'s, four with other defaults.

    Parameters
    ----------
    fusion, generator, lambda_cscl, lambda_vscl : str, bool, float, float
        Defaults ``"concat"``, False, 0.0 and 0.0 (no MAT-MoE, no contrastive terms).
    epochs, patience, hidden, n_layers, n_heads, inner, dropout, attn_dropout, max_len : inherited
    batch_size, lr, weight_decay, eval_every, loss, main_loss, n_negatives, negatives : inherited
    logq, in_batch, n_adapter_experts, n_experts, d_noise, lambda_adv, lambda_gp, tau : inherited
    n_gen_samples, vscl_rate, vscl_max_insert, vscl_gamma, vscl_lambda, cl_batch, cl_len : inherited
    scale_inputs, use_ids, modalities, adapter : inherited
        The inherited settings are ``DuAFMATConfig``'s, with its defaults.
    """

    fusion: str = "concat"
    generator: bool = False
    lambda_cscl: float = 0.0
    lambda_vscl: float = 0.0
