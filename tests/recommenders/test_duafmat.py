"""DuAF-MAT parts on toy cases with known values or gradient signs, and the rankers'
interface (fit, scores, save/load, bad inputs)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from recommenders.data import make_split, make_synthetic
from recommenders.features import ItemFeatures, movielens_features, simulate_missing
from recommenders.models import Ranker, get_model
from recommenders.models.duafmat.contrastive import (
    cscl_loss,
    info_nce,
    virtual_sequences,
    vscl_loss,
)
from recommenders.models.duafmat.duaf import DualAwareFusion, TimeEmbedding
from recommenders.models.duafmat.matmoe import (
    MoEGenerator,
    PairDiscriminator,
    accepted_mean,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
)

# ----------------------------------------------------------------------------- DuAF


def test_time_intervals_eq3_hand_computed():
    days = torch.tensor([[0.0, 0.0, 1.0, 1.5, 4.0]])
    real = torch.tensor([[False, True, True, True, True]])
    gap = TimeEmbedding.intervals(days, real)
    # First real position 0 (eq. 3), then 24 h, 12 h and 60 h.
    assert gap.tolist() == [[0.0, 0.0, 24.0, 12.0, 60.0]]


def test_time_embedding_is_finite_and_zero_on_padding():
    emb = TimeEmbedding(8)
    days = torch.tensor([[0.0, 3.0, 3.5], [0.0, 0.0, 900.0]])
    real = torch.tensor([[True, True, True], [False, False, True]])
    out = emb(days, real)
    assert out.shape == (2, 3, 8) and torch.isfinite(out).all()
    assert (out[1, :2] == 0).all()
    with pytest.raises(ValueError, match="even"):
        TimeEmbedding(7)


def test_fusion_weights_eq7_hand_computed_and_masked():
    # Two modalities, d = 1, no time: weights softmax(s * tanh(e_m)).
    e = torch.tensor([[[[1.0], [-1.0]]]])
    s = torch.tensor([[[2.0]]])
    zero_t = torch.zeros(1, 1, 1)
    h, w = DualAwareFusion()(e, zero_t, s, torch.ones(1, 1, 2, dtype=torch.bool))
    a, b = 2 * math.tanh(1.0), 2 * math.tanh(-1.0)
    expect = [math.exp(a) / (math.exp(a) + math.exp(b)), math.exp(b) / (math.exp(a) + math.exp(b))]
    np.testing.assert_allclose(w[0, 0].tolist(), expect, rtol=1e-6)
    np.testing.assert_allclose(h.item(), expect[0] * 1.0 - expect[1], rtol=1e-6)
    # A missing modality gets weight 0; a padding position (nothing available) gives 0, not NaN.
    avail = torch.tensor([[[True, False]]])
    h, w = DualAwareFusion()(e, zero_t, s, avail)
    assert w[0, 0].tolist() == [1.0, 0.0] and h.item() == 1.0
    h, w = DualAwareFusion()(e, zero_t, s, torch.zeros(1, 1, 2, dtype=torch.bool))
    assert torch.isfinite(h).all() and (w == 0).all()


# ----------------------------------------------------------------------------- MAT-MoE


def test_generator_gates_route_by_category():
    g = MoEGenerator(d=4, n_categories=3, n_experts=2)
    with torch.no_grad():
        g.category.weight.zero_()
        g.category.weight[0, 0] = 10.0
        g.gate.weight.zero_()
        g.gate.bias.zero_()
        g.gate.weight[0, 0] = 1.0
    cats = torch.tensor([[True, False, False], [False, True, False], [True, True, False]])
    gates = g.gates(cats)
    torch.testing.assert_close(gates.sum(1), torch.ones(3))
    assert gates[0, 0] > 0.99  # category 0 routes to expert 0
    torch.testing.assert_close(gates[1], torch.tensor([0.5, 0.5]))
    # Two categories: the mean of their embeddings (5 on the first coordinate).
    torch.testing.assert_close(gates[2], torch.softmax(torch.tensor([5.0, 0.0]), 0))
    out = g(torch.randn(3, 4), cats, torch.Generator().manual_seed(0))
    assert out.shape == (3, 4) and torch.isfinite(out).all()


def test_discriminator_loss_eq14_at_chance_is_2_log_2():
    disc = PairDiscriminator(3)
    with torch.no_grad():
        for p in disc.parameters():
            p.zero_()
    x = torch.randn(5, 3)
    loss = discriminator_loss(disc, x, torch.randn(5, 3), torch.randn(5, 3))
    assert loss.item() == pytest.approx(2 * math.log(2), rel=1e-6)
    assert generator_loss(disc, x, torch.randn(5, 3)).item() == pytest.approx(math.log(2))


def test_gradient_penalty_eq16_on_a_linear_critic():
    # D(e_src, x) = w . x + const has gradient w everywhere: penalty (|w| - 1)^2.
    disc = PairDiscriminator(2)
    with torch.no_grad():
        disc.src.weight.zero_()
        disc.src.bias.zero_()
        disc.out.weight.copy_(torch.tensor([[0.0, 0.0, 3.0, 4.0]]))
    gp = gradient_penalty(disc, torch.randn(6, 2), torch.randn(6, 2), torch.randn(6, 2))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2, rel=1e-5)


def test_adversarial_steps_move_the_right_way():
    torch.manual_seed(0)
    gen, disc = MoEGenerator(4, 2, 2), PairDiscriminator(4)
    src, real = torch.randn(64, 4), torch.randn(64, 4) + 2.0
    cats = torch.ones(64, 2, dtype=torch.bool)
    # A discriminator step lowers the discriminator loss on the same batch ...
    fake = gen(src, cats, torch.Generator().manual_seed(2)).detach()
    before = discriminator_loss(disc, src, real, fake)
    before.backward()
    with torch.no_grad():
        for p in disc.parameters():
            p -= 0.1 * p.grad
    assert discriminator_loss(disc, src, real, fake).item() < before.item()
    # ... and a generator step lowers the generator loss against that discriminator.
    disc.zero_grad()
    fake = gen(src, cats, torch.Generator().manual_seed(3))
    g_before = generator_loss(disc, src, fake)
    g_before.backward()
    with torch.no_grad():
        for p in gen.parameters():
            if p.grad is not None:
                p -= 0.1 * p.grad
    after = generator_loss(disc, src, gen(src, cats, torch.Generator().manual_seed(3)))
    assert after.item() < g_before.item()


def test_accepted_mean_keeps_only_accepted_samples():
    class Gen(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.k = 0

        def forward(self, src, cats, generator=None):
            self.k += 1
            return torch.full_like(src, float(self.k))  # samples 1, 2, 3, 4

    class Disc(torch.nn.Module):
        def forward(self, src, x):
            return x[..., 0] - 2.5  # accepts samples 3 and 4

    out = accepted_mean(Gen(), Disc(), torch.zeros(2, 3), torch.ones(2, 1), n_samples=4)
    assert out.tolist() == [[3.5] * 3] * 2

    class Never(torch.nn.Module):
        def forward(self, src, x):
            return -torch.ones(x.shape[:-1])

    out = accepted_mean(Gen(), Never(), torch.zeros(1, 2), torch.ones(1, 1), n_samples=2)
    assert out.tolist() == [[1.5, 1.5]]  # none accepted: the mean of all


# ----------------------------------------------------------------------------- contrastive


def test_info_nce_hand_computed():
    a = torch.eye(3)
    loss = info_nce(a, a, tau=1.0)
    assert loss.item() == pytest.approx(-math.log(math.e / (math.e + 2)), rel=1e-6)
    assert cscl_loss(a, a, 0.5).item() == pytest.approx(-math.log(math.e**2 / (math.e**2 + 2)))
    # The loss falls as positives align: swapping the positives raises it.
    assert info_nce(a, a[[1, 2, 0]]).item() > loss.item()
    assert vscl_loss([a, a], [a, a], 1.0).item() == pytest.approx(loss.item())
    with pytest.raises(ValueError, match="shape"):
        info_nce(a, torch.eye(4))


def _table(n_items=30, d=5, seed=0):
    return torch.randn(n_items, d, generator=torch.Generator().manual_seed(seed))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 12), st.floats(0.0, 1.0))
def test_virtual_sequences_keep_order_and_insert_new_items(seed, length, rate):
    g = torch.Generator().manual_seed(seed)
    L, n_items = 12, 30
    seq = torch.zeros(3, L, dtype=torch.long)
    for b in range(3):
        items = torch.randperm(n_items, generator=g)[:length] + 1
        seq[b, L - length :] = items
    out = virtual_sequences(seq, _table(n_items), rate=rate, max_insert=4, generator=g)
    assert out.shape == seq.shape
    for b in range(3):
        orig = seq[b][seq[b] > 0].tolist()
        new = out[b][out[b] > 0].tolist()
        assert (out[b] > 0).tolist() == sorted((out[b] > 0).tolist())  # padding stays left
        inserted = [x for x in new if x not in orig]
        assert not set(inserted) & set(orig)  # only items the user has not interacted with
        kept = [x for x in new if x in orig]
        assert kept == orig[len(orig) - len(kept) :]  # order kept; oldest items fall off
        assert len(new) == min(L, len(orig) + len(inserted))
        assert len(inserted) <= min(4, max(len(orig) - 1, 0))


def test_virtual_sequences_insert_at_the_least_similar_pair():
    # Items 1 and 2 point the same way, 3 the opposite: the transition is 2 -> 3, and the
    # inserted item must be the one most similar to both ends (gamma = 0.5): item 4.
    table = torch.tensor([[1.0, 0.0], [1.0, 0.1], [-1.0, 0.2], [0.0, 1.0], [1.0, -1.0]])
    seq = torch.tensor([[0, 1, 2, 3]])

    for s in range(5):
        out = virtual_sequences(seq, table, rate=10.0, max_insert=1, lam=0.01,
                                generator=torch.Generator().manual_seed(s))  # fmt: skip
        assert out.tolist() == [[1, 2, 4, 3]]


def test_main_loss_eq18_hand_computed():
    from recommenders.models.duafmat.model import main_loss

    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([0])
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    bce = -(math.log(sig(2.0)) + math.log(1 - sig(0.0)) + math.log(1 - sig(-1.0)))
    assert main_loss(logits, target, "bce").item() == pytest.approx(bce, rel=1e-6)
    ce = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
    assert main_loss(logits, target, "ce").item() == pytest.approx(ce, rel=1e-6)


# ----------------------------------------------------------------------------- rankers


@pytest.fixture(scope="module")
def small():
    d = make_synthetic(n_users=60, n_items=80, min_length=5, max_length=20, seed=1)
    rng = np.random.default_rng(0)
    text = rng.normal(size=(d.n_items, 12)).astype(np.float32)
    f = movielens_features(d, text=text)
    return d, make_split(d.interactions, "leave-one-out"), simulate_missing(f, 0.3, seed=0)


FAST = dict(epochs=2, hidden=16, inner=32, n_layers=1, max_len=10, batch_size=64, device="cpu")


@pytest.mark.parametrize("name", ["duafmat", "unisrec-text", "mm-concat"])
def test_rankers_fit_score_and_round_trip(small, tmp_path, name):
    d, split, f = small
    model = get_model(name, features=f, seed=3, **FAST).fit(split.train, split.valid)
    users = np.arange(d.n_users)
    scores = model.full_scores(users)
    assert scores.shape == (d.n_users, d.n_items) and np.isfinite(scores).all()
    top, _ = model.topk(users, 5)
    assert top.shape == (d.n_users, 5)
    model.save(tmp_path / "m.pt")
    back = Ranker.load(tmp_path / "m.pt", device="cpu")
    assert type(back) is type(model)
    np.testing.assert_array_equal(back.full_scores(users), scores)
    assert np.array_equal(back.features.present, f.present)


def test_duafmat_same_seed_same_model(small):
    d, split, f = small
    a = get_model("duafmat", features=f, seed=5, **FAST).fit(split.train, split.valid)
    b = get_model("duafmat", features=f, seed=5, **FAST).fit(split.train, split.valid)
    np.testing.assert_array_equal(a.full_scores(np.arange(10)), b.full_scores(np.arange(10)))
    assert set(a.last_losses_) == {"main", "adv", "cscl", "vscl"}
    assert all(np.isfinite(v) for v in a.last_losses_.values())


def test_duafmat_modality_weights(small):
    d, split, f = small
    model = get_model("duafmat", features=f, **FAST).fit(split.train, split.valid)
    w, seq = model.modality_weights(np.arange(4))
    assert model.modality_names() == ("id", "text", "visual")
    assert w.shape == (4, FAST["max_len"], 3)
    real = seq > 0
    np.testing.assert_allclose(w[real].sum(-1), 1.0, rtol=1e-5)
    assert (w[~real] == 0).all()


def test_missing_modalities_never_give_nan(small):
    d, split, f = small
    # Text missing for some items, the other modality for others; both generated.
    both = simulate_missing(f, 0.3, modality="text", seed=4)
    assert (~both.present).any(axis=0).all()
    model = get_model("duafmat", features=both, **FAST).fit(split.train, split.valid)
    assert set(model.net.gen) == {"text", "visual"}
    assert np.isfinite(model.full_scores(np.arange(d.n_users))).all()
    # Without the generator the missing modality is left out of the fusion instead.
    plain = get_model("duafmat", features=both, generator=False, **FAST)
    plain.fit(split.train, split.valid)
    w, seq = plain.modality_weights(np.arange(d.n_users))
    present = np.concatenate([[[True, True, True]], np.column_stack(
        [np.ones(d.n_items, bool), both.present])])  # fmt: skip
    assert (w[~present[seq]] == 0).all()


def test_multimodal_bad_inputs(small):
    d, split, f = small
    with pytest.raises(ValueError, match="needs item features"):
        get_model("duafmat", **FAST).fit(split.train, split.valid)
    n = d.n_items + 1
    other = ItemFeatures(("text",), (np.ones((n, 3)),), np.ones((n, 1), bool))
    with pytest.raises(ValueError, match="cover 81 items"):
        get_model("duafmat", features=other, **FAST).fit(split.train, split.valid)
    with pytest.raises(TypeError, match="ItemFeatures"):
        get_model("duafmat", features=np.ones((3, 3)), **FAST)
    with pytest.raises(ValueError, match="fusion"):
        get_model("duafmat", features=f, fusion="sum")
    with pytest.raises(ValueError, match="main_loss"):
        get_model("duafmat", features=f, loss="sampled")
    with pytest.raises(ValueError, match="unknown modality"):
        model = get_model("duafmat", features=f, modalities=("audio",), **FAST)
        model.fit(split.train, split.valid)


def test_duafmat_trains_with_the_papers_bce_loss(small):
    d, split, f = small
    model = get_model("duafmat", features=f, main_loss="bce", **FAST).fit(split.train, split.valid)
    log = model.train_log_
    assert len(log) == FAST["epochs"] and all(np.isfinite(r["loss"]) for r in log)
    assert np.isfinite(model.full_scores(np.arange(5))).all()
