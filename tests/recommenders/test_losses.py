"""The multi-objective training losses against hand-computed values."""

import numpy as np
import pytest
import torch

from recommenders.losses import (
    category_entropy_loss,
    forgetting_penalty,
    forgetting_weights,
    popularity_fairness_loss,
)


def test_category_entropy_loss_hand_case():
    # items 0 and 2 in category 0, item 1 in category 1; mean scores: c0 (1+3)/2 = 2, c1 = 0
    scores = torch.tensor([[1.0, 0.0, 3.0]])
    genres = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = np.exp([2.0, 0.0]) / np.exp([2.0, 0.0]).sum()
    expected = (p * np.log(p)).sum()
    assert category_entropy_loss(scores, genres).item() == pytest.approx(expected, rel=1e-6)
    # A user indifferent between categories reaches the minimum, -log(2).
    flat = category_entropy_loss(torch.zeros(1, 3), genres).item()
    assert flat == pytest.approx(-np.log(2), rel=1e-6)
    with pytest.raises(ValueError, match="items, genres"):
        category_entropy_loss(scores, genres[:2])


def test_popularity_fairness_loss_hand_case():
    scores = torch.tensor([[0.0, 0.0], [np.log(3.0), 0.0]])  # sigmoids .5 .5 / .75 .5
    # mean over all = 0.5625; user 0: |.5-.5625| twice -> .0625; user 1: (.1875 + .0625)/2
    got = popularity_fairness_loss(scores)
    np.testing.assert_allclose(got.numpy(), [0.0625, 0.125], rtol=1e-6)


def test_forgetting_weights_and_penalty():
    w = forgetting_weights([600, 3 * 3600, 86400, 7 * 86400], strength=86400)
    np.testing.assert_allclose(w, np.exp([-600 / 86400, -0.125, -1.0, -7.0]))
    assert np.all(np.diff(w) < 0)  # recent windows weigh most
    rates = torch.tensor([[[1.0, 0, 0, 0], [0, 0, 0, 1.0]]])  # slipped recently vs long ago
    pen = forgetting_penalty(torch.zeros(1, 2), rates, torch.as_tensor(w, dtype=torch.float32))
    # equal scores -> probabilities .5/.5 -> 0.5 w[0] + 0.5 w[3]
    assert pen.item() == pytest.approx(0.5 * (w[0] + w[3]), rel=1e-6)
    # Shifting every score of the impression leaves the penalty unchanged.
    shifted = forgetting_penalty(
        torch.full((1, 2), 5.0), rates, torch.as_tensor(w, dtype=torch.float32)
    )
    assert shifted.item() == pytest.approx(pen.item(), rel=1e-6)
    with pytest.raises(ValueError, match="positive"):
        forgetting_weights([0, 10])
