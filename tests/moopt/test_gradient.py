import itertools

import numpy as np
import pytest
import torch
from scipy.optimize import minimize

from moopt.gradient import (
    MGDA,
    gram_min_norm,
    mgda_step,
    min_norm,
    pcgrad,
    pcgrad_backward,
    project_conflicts,
)

# ----------------------------------------------------------------------------------------------
# min_norm against an exact QP


def _qp_min_norm(G: np.ndarray) -> float:
    """Reference: min ||w @ G|| over the simplex by SLSQP on the Gram matrix, best of m+1 starts."""
    M = G @ G.T
    scale = np.max(np.diag(M))
    Mn = M / scale if scale > 0 else M  # same minimiser; keeps SLSQP's tolerances meaningful
    m = M.shape[0]
    starts = [np.full(m, 1.0 / m)] + [0.9 * np.eye(m)[i] + 0.1 / m for i in range(m)]
    best = np.inf
    for x0 in starts:
        res = minimize(
            lambda w: w @ Mn @ w,
            x0,
            jac=lambda w: 2.0 * Mn @ w,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * m,
            constraints=[
                {"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: 1.0 + 0 * w}
            ],
            options={"ftol": 1e-15, "maxiter": 1000},
        )
        w = np.clip(res.x, 0.0, None)
        w /= w.sum()
        best = min(best, float(np.linalg.norm(w @ G)))
    return best


def _gradient_set(kind: str, m: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, m, d])
    # Scaled so that gradient norms are about 1 whatever d is: the 1e-6 tolerance is absolute.
    G = rng.standard_normal((m, d)) / np.sqrt(d)
    if kind == "shifted":  # a common component puts the minimiser on a face of the simplex
        G = G + 0.5 * rng.standard_normal(d) / np.sqrt(d)
    elif kind == "parallel":  # nearly parallel: the Gram matrix is nearly rank one
        G = rng.standard_normal(d) / np.sqrt(d) + 1e-4 * G
    elif kind == "origin":  # the last gradient is minus a convex-ish mix of the others
        G[-1] = -rng.random(m - 1) @ G[:-1]
    return G


_GRID = [
    (kind, m, d, seed)
    for kind in ("random", "shifted", "parallel", "origin")
    for m in range(2, 7)
    for d in (3, 50, 10_000)
    for seed in range(3)
]


@pytest.mark.parametrize(("kind", "m", "d", "seed"), _GRID)
def test_min_norm_matches_exact_qp(kind, m, d, seed):
    G = _gradient_set(kind, m, d, seed)
    w, norm = min_norm(G)
    qp = _qp_min_norm(G)
    assert w.shape == (m,) and w.dtype == np.float64
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert norm == pytest.approx(np.linalg.norm(w @ G), abs=1e-12)
    assert abs(norm - qp) <= 1e-6
    assert norm <= qp + 1e-9


def test_min_norm_hull_containing_origin_gives_zero():
    # 0 = (1/3)(g1 + g2 + g3) for three vectors at 120 degrees.
    angles = np.array([0.0, 2.0, 4.0]) * np.pi / 3
    G = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    w, norm = min_norm(G)
    np.testing.assert_allclose(w, [1 / 3, 1 / 3, 1 / 3], atol=1e-12)
    assert norm < 1e-12


def test_min_norm_satisfies_optimality_conditions():
    # KKT for min w.M.w on the simplex: (M w)_i >= w.M.w for every i, equality on the support.
    rng = np.random.default_rng(7)
    for m in (3, 8, 20):
        G = rng.standard_normal((m, 40)) + 0.3 * rng.standard_normal(40)
        w, norm = min_norm(G)
        Mw = G @ G.T @ w
        f = w @ Mw
        assert f == pytest.approx(norm**2, rel=1e-10)
        assert np.min(Mw) >= f - 1e-10 * np.max(np.sum(G * G, axis=1))


# ----------------------------------------------------------------------------------------------
# m = 1 and m = 2: exact answers


def test_single_gradient_gets_all_weight():
    w, norm = min_norm(np.array([[3.0, 4.0]]))
    np.testing.assert_array_equal(w, [1.0])
    assert norm == pytest.approx(5.0, abs=1e-15)


@pytest.mark.parametrize(
    ("G", "w_expected", "norm_expected"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5], 1 / np.sqrt(2)),
        ([[1.0, 0.0], [2.0, 0.0]], [1.0, 0.0], 1.0),  # g1 is the nearer end: all weight on it
        ([[2.0, 0.0], [1.0, 0.0]], [0.0, 1.0], 1.0),
        ([[1.0, 2.0], [-1.0, -2.0]], [0.5, 0.5], 0.0),  # g1 = -g2: stationary
        ([[1.0, 1.0], [1.0, 1.0]], [0.5, 0.5], np.sqrt(2)),  # g1 == g2: no preference
        ([[0.0, 0.0], [1.0, 0.0]], [1.0, 0.0], 0.0),  # a zero gradient is stationary
        # w1 = ((g2 - g1).g2) / ||g1 - g2||^2 = ((-3, 1).(0, 1)) / 10 = 0.1
        ([[3.0, 0.0], [0.0, 1.0]], [0.1, 0.9], np.sqrt(0.3**2 + 0.9**2)),
    ],
)
def test_two_gradients_closed_form(G, w_expected, norm_expected):
    w, norm = min_norm(np.array(G))
    np.testing.assert_allclose(w, w_expected, atol=1e-15)
    assert norm == pytest.approx(norm_expected, abs=1e-15)


def test_weights_are_scale_invariant_and_permutation_equivariant():
    rng = np.random.default_rng(3)
    G = rng.standard_normal((5, 30)) + 0.5 * rng.standard_normal(30)
    w, norm = min_norm(G)
    w_big, norm_big = min_norm(1e6 * G)
    np.testing.assert_allclose(w_big, w, atol=1e-9)
    assert norm_big == pytest.approx(1e6 * norm, rel=1e-9)
    perm = np.array([3, 0, 4, 1, 2])
    w_perm, norm_perm = min_norm(G[perm])
    np.testing.assert_allclose(w_perm, w[perm], atol=1e-9)
    assert norm_perm == pytest.approx(norm, rel=1e-12)


def test_gram_min_norm_agrees_with_min_norm():
    rng = np.random.default_rng(4)
    G = rng.standard_normal((4, 12))
    w, norm = min_norm(G)
    w_gram, norm_gram = gram_min_norm(G @ G.T)
    np.testing.assert_allclose(w_gram, w, atol=1e-12)
    assert norm_gram == pytest.approx(norm, rel=1e-10)


def test_max_iter_zero_still_returns_simplex_weights():
    G = np.random.default_rng(5).standard_normal((6, 10))
    w, norm = min_norm(G, max_iter=0)
    assert np.all(w >= 0) and w.sum() == pytest.approx(1.0)
    assert norm >= min_norm(G)[1] - 1e-12


# ----------------------------------------------------------------------------------------------
# torch input


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_min_norm_torch_matches_numpy(dtype):
    rng = np.random.default_rng(6)
    G = rng.standard_normal((4, 100)) + 0.4 * rng.standard_normal(100)
    w_np, norm_np = min_norm(G)
    Gt = torch.tensor(G, dtype=dtype, requires_grad=True)
    w_t, norm_t = min_norm(Gt)
    assert isinstance(w_t, torch.Tensor) and w_t.dtype == dtype and w_t.device == Gt.device
    assert not w_t.requires_grad
    assert isinstance(norm_t, float)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    np.testing.assert_allclose(w_t.double().numpy(), w_np, atol=tol)
    assert norm_t == pytest.approx(norm_np, abs=tol)


# ----------------------------------------------------------------------------------------------
# input errors


@pytest.mark.parametrize(
    ("G", "match"),
    [
        (np.ones(3), "2-D"),
        (np.ones((2, 3, 4)), "2-D"),
        (np.ones((0, 3)), "at least one row"),
        (np.ones((3, 0)), "at least one row"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), r"G contains non-finite values \(NaN"),
        (np.array([[1.0, 0.0], [np.inf, 1.0]]), r"G contains non-finite .* row\(s\) \[1\]"),
        (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), "G contains non-finite"),
        (torch.ones(3), "2-D"),
    ],
)
def test_min_norm_rejects_bad_input(G, match):
    with pytest.raises(ValueError, match=match):
        min_norm(G)


def test_min_norm_rejects_complex_and_bad_options():
    with pytest.raises(TypeError, match="G must be real"):
        min_norm(np.ones((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="max_iter"):
        min_norm(np.eye(3), max_iter=-1)
    with pytest.raises(ValueError, match="tol"):
        min_norm(np.eye(3), tol=float("nan"))


def test_gram_min_norm_rejects_non_gram_matrices():
    with pytest.raises(ValueError, match="square"):
        gram_min_norm(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        gram_min_norm(np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="negative diagonal"):
        gram_min_norm(np.array([[-1.0, 0.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="M contains non-finite"):
        gram_min_norm(np.array([[np.nan, 0.0], [0.0, 1.0]]))


# ----------------------------------------------------------------------------------------------
# PCGrad


def test_pcgrad_two_conflicting_gradients_by_hand():
    G = np.array([[1.0, 0.0], [-1.0, 1.0]])  # g1.g2 = -1 < 0
    out = pcgrad(G, shuffle=False)
    # g1' = g1 - (-1 / ||g2||^2) g2 = (1, 0) + (-1, 1) / 2 = (0.5, 0.5)
    # g2' = g2 - (-1 / ||g1||^2) g1 = (-1, 1) + (1, 0) = (0, 1)
    np.testing.assert_allclose(out, [[0.5, 0.5], [0.0, 1.0]], atol=1e-15)
    np.testing.assert_array_equal(G, [[1.0, 0.0], [-1.0, 1.0]])  # input untouched


def test_pcgrad_leaves_non_conflicting_gradients_alone():
    G = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 1.0]])  # all dots >= 0
    np.testing.assert_array_equal(pcgrad(G, seed=0), G)
    np.testing.assert_array_equal(pcgrad(G[:1], seed=0), G[:1])


def test_pcgrad_three_tasks_in_index_order_by_hand():
    # g1 = (1, 0), g2 = (-1, 1), g3 = (0, -1); ||g||^2 = 1, 2, 1. Visiting others in index order:
    # task 1: vs g2: dot -1   -> (1, 0) - (-1/2)(-1, 1)      = (0.5, 0.5)
    #         vs g3: dot -0.5 -> (0.5, 0.5) - (-0.5/1)(0, -1) = (0.5, 0)
    # task 2: vs g1: dot -1   -> (-1, 1) - (-1/1)(1, 0)      = (0, 1)
    #         vs g3: dot -1   -> (0, 1) - (-1/1)(0, -1)       = (0, 0)
    # task 3: vs g1: dot 0    -> unchanged (0, -1)
    #         vs g2: dot -1   -> (0, -1) - (-1/2)(-1, 1)      = (-0.5, -0.5)
    # Task 2's second projection uses the original g3 and task 3's uses the original g2.
    G = np.array([[1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]])
    expected = [[0.5, 0.0], [0.0, 0.0], [-0.5, -0.5]]
    np.testing.assert_allclose(pcgrad(G, shuffle=False), expected, atol=1e-15)
    out_t = pcgrad(torch.tensor(G), shuffle=False)
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    np.testing.assert_allclose(out_t.numpy(), expected, atol=1e-15)


def _pcgrad_reference(G, orders):
    out = G.copy()
    for i, order in enumerate(orders):
        for j in order:
            dot = out[i] @ G[j]
            if dot < 0:
                out[i] = out[i] - dot / (G[j] @ G[j]) * G[j]
    return out


def test_pcgrad_seeded_shuffle_is_reproducible_and_a_valid_order():
    rng = np.random.default_rng(8)
    G = rng.standard_normal((4, 5))
    a = pcgrad(G, seed=123)
    np.testing.assert_array_equal(a, pcgrad(G, seed=123))
    np.testing.assert_allclose(pcgrad(torch.tensor(G), seed=123).numpy(), a, atol=1e-14)
    # The result is the reference projection for some order of the other tasks, per task.
    for i in range(4):
        others = [j for j in range(4) if j != i]
        candidates = []
        for order in itertools.permutations(others):
            orders = [list(order) if k == i else [] for k in range(4)]
            candidates.append(_pcgrad_reference(G, orders)[i])
        assert min(np.max(np.abs(a[i] - c)) for c in candidates) < 1e-12
    # Different seeds give different orders somewhere for this conflicting set.
    assert any(not np.allclose(pcgrad(G, seed=s), a) for s in range(10))


def test_pcgrad_zero_gradient_and_dtype():
    G = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 0.5]], dtype=np.float32)
    out = pcgrad(G, shuffle=False)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[1], [0.0, 0.0])


def test_pcgrad_rejects_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        pcgrad(np.ones(3))
    with pytest.raises(ValueError, match="G contains non-finite"):
        pcgrad(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="G contains non-finite"):
        pcgrad(torch.tensor([[float("inf"), 1.0], [1.0, 1.0]]))
    with pytest.raises(TypeError, match="seed"):
        pcgrad(np.eye(2), seed="a")


# ----------------------------------------------------------------------------------------------
# torch helpers


class _TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.shared = torch.nn.Linear(3, 4)
        self.head1 = torch.nn.Linear(4, 1)
        self.head2 = torch.nn.Linear(4, 1)

    def losses(self, x, y1, y2, return_repr=False):
        z = torch.tanh(self.shared(x))
        l1 = ((self.head1(z).squeeze(-1) - y1) ** 2).mean()
        l2 = ((self.head2(z).squeeze(-1) + y2) ** 2).mean()
        return ([l1, l2], z) if return_repr else [l1, l2]


def _batch():
    g = torch.Generator().manual_seed(1)
    return (
        torch.randn(16, 3, generator=g),
        torch.randn(16, generator=g),
        torch.randn(16, generator=g),
    )


def _flat_grads(losses, params):
    rows = []
    for loss in losses:
        grads = torch.autograd.grad(loss, params, retain_graph=True)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def test_mgda_step_weights_and_combined_gradient():
    model = _TwoHeads()
    shared = list(model.shared.parameters())
    losses = model.losses(*_batch())
    G = _flat_grads(losses, shared)
    w_ref, _ = min_norm(G.numpy())

    weights, combined = mgda_step(losses, shared_params=shared)
    assert weights.shape == (2,) and not weights.requires_grad
    np.testing.assert_allclose(weights.numpy(), w_ref, atol=1e-6)
    assert combined.item() == pytest.approx(float(weights @ torch.stack(losses).detach()))

    combined.backward()
    got = torch.cat([p.grad.reshape(-1) for p in shared])
    torch.testing.assert_close(got, weights @ G, rtol=1e-5, atol=1e-7)
    # Each head only sees its own loss, scaled by that loss's weight.
    losses2 = model.losses(*_batch())
    head1_grad = torch.autograd.grad(losses2[0], model.head1.weight)[0]
    torch.testing.assert_close(model.head1.weight.grad, weights[0] * head1_grad)


def test_mgda_ub_uses_the_representation():
    model = _TwoHeads()
    losses, z = model.losses(*_batch(), return_repr=True)
    Gz = _flat_grads(losses, [z])
    mgda = MGDA()
    weights, combined = mgda.step(losses, shared_repr=z)
    np.testing.assert_allclose(weights.numpy(), min_norm(Gz.numpy())[0], atol=1e-6)
    assert mgda.last_norm == pytest.approx(min_norm(Gz.numpy())[1], rel=1e-5)
    combined.backward()
    assert all(p.grad is not None for p in model.shared.parameters())


def _linear_losses():
    # grad L1 = (3, 0), L1 = 3; grad L2 = (0, 1), L2 = 1 at p = (1, 1).
    p = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    return p, [3.0 * p[0], p[1]]


@pytest.mark.parametrize(
    ("normalization", "expected"),
    [
        ("none", [0.1, 0.9]),  # min-norm of (3, 0), (0, 1): see the closed-form test
        ("l2", [0.5, 0.5]),  # (1, 0), (0, 1)
        ("loss", [0.5, 0.5]),  # (3, 0) / 3, (0, 1) / 1
        # (3, 0) / (3 * 3) = (1/3, 0) and (0, 1): w1 = ((-1/3, 1).(0, 1)) / (1/9 + 1) = 0.9
        ("loss+", [0.9, 0.1]),
    ],
)
def test_mgda_normalization_options(normalization, expected):
    p, losses = _linear_losses()
    weights, combined = mgda_step(losses, shared_params=[p], normalization=normalization)
    np.testing.assert_allclose(weights.numpy(), expected, atol=1e-12)
    combined.backward()
    np.testing.assert_allclose(p.grad.numpy(), [3 * expected[0], expected[1]], atol=1e-12)


def test_mgda_errors():
    p, losses = _linear_losses()
    with pytest.raises(ValueError, match="exactly one of shared_params .* got neither"):
        mgda_step(losses)
    with pytest.raises(ValueError, match="got both"):
        mgda_step(losses, shared_params=[p], shared_repr=p)
    with pytest.raises(ValueError, match=r"losses\[1\] must be a scalar"):
        mgda_step([losses[0], p * 2], shared_params=[p])
    with pytest.raises(ValueError, match=r"non-finite loss .* losses\[0\]"):
        mgda_step([p[0] * float("nan"), p[1]], shared_params=[p])
    with pytest.raises(ValueError, match=r"gradient of losses\[1\] .* non-finite"):
        q = torch.tensor([1.0, 0.0], requires_grad=True)
        mgda_step([q[0], q[1].sqrt()], shared_params=[q])
    with pytest.raises(ValueError, match="normalization must be one of"):
        mgda_step(losses, shared_params=[p], normalization="max")
    with pytest.raises(ValueError, match=r"losses\[1\] are <= 0"):
        p2, losses2 = _linear_losses()
        mgda_step([losses2[0], losses2[1] - 2.0], shared_params=[p2], normalization="loss")
    with pytest.raises(ValueError, match=r"losses\[0\] does not require grad"):
        mgda_step([torch.tensor(1.0), losses[1]], shared_params=[p])


def test_pcgrad_backward_writes_projected_sum():
    p = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)
    unused = torch.zeros(3, requires_grad=True)
    losses = [p[0], -p[0] + p[1]]  # gradients (1, 0) and (-1, 1): the first hand case
    pcgrad_backward(losses, [p, unused], shuffle=False)
    np.testing.assert_allclose(p.grad.numpy(), [0.5 + 0.0, 0.5 + 1.0], atol=1e-15)
    assert unused.grad is None
    # Accumulates like backward().
    pcgrad_backward([p[0], -p[0] + p[1]], [p], seed=0)
    np.testing.assert_allclose(p.grad.numpy(), [1.0, 3.0], atol=1e-15)
    with pytest.raises(ValueError, match=r"gradient of losses\[0\]"):
        q = torch.tensor([0.0], requires_grad=True)
        pcgrad_backward([q.sqrt().sum() * 1.0, q.sum()], [q])


# ------------------------------------------------------------------ BOOML eq. 17


def test_project_conflicts_uses_the_original_gradients_by_hand():
    # BOOML eq. 17: every g_m is projected off each original g_n it conflicts with, at once.
    G = np.array([[1.0, 0.0], [-1.0, 2.0], [0.0, -1.0]])
    # g1: conflicts with g2 only (g1.g2 = -1, |g2|^2 = 5): g1 + (1/5) g2 = (0.8, 0.4).
    # g2: with g1 (-1, |g1|^2 = 1) and g3 (-2, |g3|^2 = 1): g2 + g1 + 2 g3 = (0, 0).
    # g3: with g2 (-2): g3 + (2/5) g2 = (-0.4, -0.2).
    expected = np.array([[0.8, 0.4], [0.0, 0.0], [-0.4, -0.2]])
    np.testing.assert_allclose(project_conflicts(G), expected, atol=1e-15)
    out_t = project_conflicts(torch.tensor(G))
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float64
    np.testing.assert_allclose(out_t.numpy(), expected, atol=1e-15)
    # PCGrad's sequential form differs: g1, once projected off g2, then conflicts with g3.
    np.testing.assert_allclose(pcgrad(G, shuffle=False)[0], [0.8, 0.0], atol=1e-15)


def test_project_conflicts_edge_cases_and_errors():
    G = np.array([[1.0, 2.0], [3.0, 1.0]])  # no conflict: unchanged
    np.testing.assert_array_equal(project_conflicts(G), G)
    Z = np.array([[0.0, 0.0], [1.0, -1.0]])  # a zero gradient has no direction
    np.testing.assert_array_equal(project_conflicts(Z), Z)
    assert project_conflicts(G.astype(np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="2-D"):
        project_conflicts(np.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        project_conflicts(np.array([[np.nan, 1.0], [1.0, 1.0]]))
    with pytest.raises(TypeError, match="numeric"):
        project_conflicts(np.array([["a", "b"]]))


@pytest.mark.parametrize(
    "bad",
    [np.ones(3), np.ones((2, 3, 4)), np.ones((0, 3)), np.ones((3, 0)),
     np.array([[1.0, 0.0], [np.inf, 1.0], [np.nan, 0.0]]), np.array([[1 + 1j, 0], [0, 1]]),
     np.array([["a", "b"], ["c", "d"]])],
)  # fmt: skip
def test_every_gradient_function_validates_its_matrix_alike(bad):
    """min_norm, pcgrad and project_conflicts share one validation: the same bad matrix gets
    the same error, word for word, from each, for numpy and torch input alike."""
    inputs = [bad]
    if bad.dtype.kind in "fc":
        inputs.append(torch.from_numpy(bad))
    errors = set()
    for G in inputs:
        for f in (min_norm, pcgrad, project_conflicts):
            with pytest.raises((TypeError, ValueError)) as info:
                f(G)
            # torch's own hint and dtype names aside, the message is the numpy one
            message = str(info.value).replace("G.real", "its real part").replace("torch.", "")
            errors.add((type(info.value), message))
    assert len(errors) == 1, errors
    (kind, message), = errors
    assert message.startswith("G ")  # names the argument
    if bad.size and bad.ndim == 2 and bad.dtype.kind == "f":
        assert "row(s) [1, 2]" in message and kind is ValueError
