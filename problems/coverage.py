"""Catalogue coverage as a system-level goal: the users' lists chosen so enough items show.

Coverage is the share of the catalogue shown to at least one user
(``recommenders.metrics.system_report``'s ``coverage``). Unlike a group's exposure it is
not a sum over users: "coverage >= c" asks that every item of some set S of
``ceil(c * n_items)`` items appears in at least one chosen list, a set-cover condition,
so there is no price per constraint for ``moopt.system.dual_choice`` to move. The
problem "most utility at coverage >= c" holds maximum coverage as a special case
(NP-hard), so ``coverage_front`` reaches each level with a **greedy** and says how far
it can be from the best:

1. Start from the free choice: each user's best-utility option.
2. While the coverage is below the level, take the move that costs the least utility per
   item it newly covers. A move switches one user to another list **without uncovering
   any item** (no item's count of users showing it drops to 0), so coverage only grows:

   * to one of the user's archived lists (cost: the utility lost; gain: the uncovered
     items it shows);
   * with an oracle, to the user's current list with one item swapped: its least
     valuable item (by the oracle's item values) among those another user also shows
     goes out, one uncovered candidate item comes in; each such list is scored exactly
     by the oracle's ``evaluate`` (gain: 1).

   When no single move is left, a **chain** of two swaps: user a, whose items only it
   shows, swaps item x for an uncovered candidate while user b takes x in (swapping out
   its least valuable item another user also shows), the cheapest such pair first.

   Each user keeps one entry, its best move, in a heap; a popped entry is recomputed
   and applied only if it is still no worse than the next entry (lazy greedy). Moves
   only cover items, so an entry's ratio only rises (its gain shrinks) except when an
   archived switch shows a second copy of an item, which frees that item for swapping;
   the users showing it are then recomputed at once.
3. Levels are swept ascending, each warm-started from the previous level's lists.

The greedy is exact when every move is independent of the others (each user can add
its own items, none shared): it then takes the cheapest items first. In general it is
a heuristic: the front reports ``free_utility``, the utility of the free choice, an
upper bound at every level; for utilities that sum over a list's items
``coverage_lp_bound`` gives the optimum itself (a flow LP), and the tests compare the
greedy with brute force over every joint choice on small inputs. It can also stop short
of a level that some choice reaches (when only chains of three or more users would cover
another item); that level's row is then infeasible. A level above what any choice
could reach is refused up front: with an oracle the bound is a maximum flow (each user
shows at most K of its candidates, each item counts once), without one the items of all
the archived lists together.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import time

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, vstack
from scipy.sparse.csgraph import maximum_flow

from problems.fairness import ArchiveOptions, PricedListOracle
from recommenders.metrics import exposure_gap, min_share_ratio


def coverage_bound(options: ArchiveOptions, oracle: PricedListOracle | None = None) -> int:
    """The most catalogue items any choice of lists can show, an upper bound for the greedy.

    Parameters
    ----------
    options : ArchiveOptions
        The users' options (``problems.fairness.archive_options``).
    oracle : PricedListOracle, optional
        With an oracle every list of K candidates is allowed, and the bound is exact: the
        maximum flow from the users (capacity K each) through their candidates to the
        items (capacity 1 each). Without one, the items of all valid options together.

    Returns
    -------
    int
        Number of distinct items.

    Raises
    ------
    ValueError
        Options without a context (not built by ``archive_options``).
    """
    cand = _candidates(options)
    if oracle is None:
        items = np.take_along_axis(cand, options.positions.reshape(options.n_users, -1), axis=1)
        return int(np.unique(items.reshape(options.valid.shape + (-1,))[options.valid]).size)
    n_users, n_cand = cand.shape
    k = options.positions.shape[2]
    uniq, col = np.unique(cand, return_inverse=True)
    n_nodes = n_users + uniq.size + 2
    src, sink = n_nodes - 2, n_nodes - 1
    users = np.arange(n_users)
    rows = np.concatenate([np.full(n_users, src), np.repeat(users, n_cand),
                           n_users + np.arange(uniq.size)])  # fmt: skip
    cols = np.concatenate([users, n_users + col.ravel(), np.full(uniq.size, sink)])
    cap = np.concatenate([np.full(n_users, k), np.ones(n_users * n_cand + uniq.size)])
    graph = csr_matrix((cap.astype(np.int32), (rows, cols)), shape=(n_nodes, n_nodes))
    return int(maximum_flow(graph, src, sink).flow_value)


#: The objectives that are sums over a list's items, so the LP bound is exact for them.
ADDITIVE = ("expected_hits", "novelty")


def coverage_lp_bound(options: ArchiveOptions, oracle: PricedListOracle, levels, *,
                      n_items: int | None = None) -> np.ndarray:  # fmt: skip
    """The most mean utility any lists of K candidates reach at each coverage level.

    With a utility that is a sum over the list's items (weights only on ``ADDITIVE``
    objectives), the best choice of lists showing at least T items is a linear
    programme: x_ui in [0, 1] shows item i to user u, ``sum_i x_ui = K``, y_i <= 1 counts
    item i as shown only if ``y_i <= sum_u x_ui``, ``sum_i y_i >= T``; maximise
    ``sum x_ui v_ui`` with v the oracle's item values. Its value bounds every choice of
    lists from above, the greedy's included; its constraints are those of a flow
    network (users to items, items to a covering node with a lower bound of T), so the
    bound is attained by whole lists: it is the optimum, and the greedy's distance to it
    is exact. Solved by HiGHS (``scipy.optimize.linprog``).

    Parameters
    ----------
    options : ArchiveOptions
        The users' options (their context gives the candidates and utility weights).
    oracle : PricedListOracle
        Its ``value`` are the items' utilities; built with the options' utility.
    levels : iterable of float
        Coverage levels, shares of the catalogue in ``(0, 1]``.
    n_items : int, optional
        Catalogue size; default the rows of the options' ``membership``.

    Returns
    -------
    numpy.ndarray
        ``(L,)`` the bound on the mean utility per user, levels in ascending order.

    Raises
    ------
    ValueError
        A utility weighing a non-additive objective, an oracle whose item values do not
        give the options' utilities, bad levels or ``n_items`` (as ``coverage_front``),
        or a level no choice reaches.
    """
    if oracle is None:
        raise ValueError("coverage_lp_bound needs the oracle (its item values)")
    lv, n = _check(options, oracle, levels, n_items)
    weights = options.context.weights
    other = [name for name, w in zip(oracle.packed.names, weights, strict=True)
             if w != 0 and name not in ADDITIVE]  # fmt: skip
    if other:
        raise ValueError(f"the LP bound needs a utility that sums over items ({ADDITIVE}); "
                         f"this one also weighs {other}")  # fmt: skip
    ok = options.valid
    summed = np.take_along_axis(oracle.value, options.positions.reshape(options.n_users, -1),
                                axis=1).reshape(options.positions.shape).sum(axis=2)  # fmt: skip
    if not np.allclose(summed[ok], options.utility[ok], rtol=1e-9, atol=1e-9):
        raise ValueError("the oracle's item values do not sum to the options' utilities; "
                         "build the oracle with the options' utility weights")  # fmt: skip
    cand = options.context.candidates
    n_users, n_cand = cand.shape
    uniq, col = np.unique(cand, return_inverse=True)
    n_x = n_users * n_cand
    x, y = np.arange(n_x), n_x + np.arange(uniq.size)
    width = n_x + uniq.size
    per_user = csr_matrix((np.ones(n_x), (x // n_cand, x)), shape=(n_users, width))
    shows = csr_matrix((np.concatenate([-np.ones(n_x), np.ones(uniq.size)]),
                        (np.concatenate([col.ravel(), y - n_x]), np.concatenate([x, y]))),
                       shape=(uniq.size, width))  # fmt: skip
    covers = csr_matrix((-np.ones(uniq.size), (np.zeros(uniq.size, int), y)), shape=(1, width))
    a_ub = vstack([shows, covers]).tocsr()
    cost = np.concatenate([-oracle.value.ravel(), np.zeros(uniq.size)])
    k = options.positions.shape[2]
    out = []
    for level in lv:
        need = math.ceil(level * n - 1e-9)
        res = linprog(cost, A_ub=a_ub, b_ub=np.concatenate([np.zeros(uniq.size), [-need]]),
                      A_eq=per_user, b_eq=np.full(n_users, float(k)), bounds=(0, 1),
                      method="highs")  # fmt: skip
        if res.status != 0:
            raise ValueError(f"coverage level {level:g} is out of reach of lists of K "
                             f"candidates ({res.message}); lower the level")  # fmt: skip
        out.append(-res.fun / n_users)
    return np.array(out)


def _candidates(options: ArchiveOptions) -> np.ndarray:
    if options.context is None:
        raise ValueError("options have no context (the candidates' item ids); build them "
                         "with problems.fairness.archive_options")  # fmt: skip
    return options.context.candidates


def _evaluate_user(oracle: PricedListOracle, u: int, positions: np.ndarray) -> np.ndarray:
    """The oracle's objective values of one user's lists, (m, M); positions built in range."""
    from moopt.engine.rerank import evaluate_lists

    p = oracle.packed
    one = dataclasses.replace(p, fdata=p.fdata[u : u + 1], idata=p.idata[u : u + 1],
                              consts=p.consts[u : u + 1])  # fmt: skip
    return evaluate_lists(np.ascontiguousarray(positions[None], dtype=np.int64), one)[0]


class _Greedy:
    """The lazy greedy's state: every user's current list and every item's count of users."""

    def __init__(self, options: ArchiveOptions, oracle: PricedListOracle | None,
                 n_items: int) -> None:  # fmt: skip
        self.cand = _candidates(options)
        self.oracle = oracle
        self.weights = options.context.weights
        self.util = np.where(options.valid, options.utility, -np.inf)
        n_users = options.n_users
        items = np.take_along_axis(self.cand, options.positions.reshape(n_users, -1), axis=1)
        self.opt_items = items.reshape(options.positions.shape)
        self.valid = options.valid
        self.opt_pos = options.positions
        self.cur_opt = self.util.argmax(axis=1)  # the free choice (lowest index among ties)
        u = np.arange(n_users)
        self.cur_pos = options.positions[u, self.cur_opt].copy()
        self.cur_util = self.util[u, self.cur_opt].copy()
        self.count = np.bincount(self.opt_items[u, self.cur_opt].ravel(), minlength=n_items)
        self.version = np.zeros(n_users, dtype=np.int64)
        self.heap: list[tuple[float, int, int]] = []
        self.moves = 0
        for user in range(n_users):
            self._push(user)

    @property
    def covered(self) -> int:
        return int(np.count_nonzero(self.count))

    def best_move(self, u: int):
        """User u's cheapest move per newly covered item: (ratio, option or -1, positions)."""
        cur = self.cand[u, self.cur_pos[u]]
        sole = cur[self.count[cur] == 1]  # items only this user shows: they must stay
        best = None
        items = self.opt_items[u]
        keeps = (items[:, :, None] == sole[None, None, :]).any(axis=1).all(axis=1)
        gain = (self.count[items] == 0).sum(axis=1)
        ok = self.valid[u] & keeps & (gain > 0)
        if ok.any():
            ratio = np.where(ok, (self.cur_util[u] - self.util[u]) / np.maximum(gain, 1), np.inf)
            a = int(ratio.argmin())
            best = (float(ratio[a]), a, None)
        if self.oracle is None:
            return best
        new = np.flatnonzero(self.count[self.cand[u]] == 0)
        free = np.flatnonzero(self.count[cur] >= 2)
        if new.size == 0 or free.size == 0:
            return best
        slot = free[np.argmin(self.oracle.value[u, self.cur_pos[u, free]])]
        lists, cost = self._swap(u, slot, new)
        j = int(cost.argmin())
        if best is None or cost[j] < best[0]:
            best = (float(cost[j]), -1, lists[j])
        return best

    def _push(self, u: int) -> None:
        move = self.best_move(u)
        if move is not None:
            heapq.heappush(self.heap, (move[0], u, int(self.version[u])))

    def _apply(self, u: int, move) -> None:
        _, a, pos = move
        old = self.cand[u, self.cur_pos[u]]
        if a >= 0:
            pos = self.opt_pos[u, a]
            util = self.util[u, a]
        else:
            util = self.cur_util[u] - move[0]
        new = self.cand[u, pos]
        np.subtract.at(self.count, old, 1)
        np.add.at(self.count, new, 1)
        self.cur_pos[u], self.cur_opt[u], self.cur_util[u] = pos, a, util
        self.version[u] += 1
        self.moves += 1
        self._push(u)
        # an item shown twice now can be swapped out by its other user: refresh them
        freed = new[(self.count[new] == 2) & ~np.isin(new, old)]
        if freed.size:
            shown = self.cand[np.arange(self.cand.shape[0])[:, None], self.cur_pos]
            for v in np.flatnonzero(np.isin(shown, freed).any(axis=1)):
                if v != u:
                    self.version[v] += 1
                    self._push(int(v))

    def _swap(self, u: int, slot: int, new_pos: np.ndarray):
        """User u's current list with ``slot`` replaced by each of ``new_pos``: (lists, costs)."""
        lists = np.repeat(self.cur_pos[u][None], new_pos.size, axis=0)
        lists[:, slot] = new_pos
        return lists, self.cur_util[u] - _evaluate_user(self.oracle, u, lists) @ self.weights

    def chain(self):
        """The cheapest two-user chain covering one more item, or None.

        User a, whose items only it shows, swaps item x for an uncovered candidate while
        user b, who has x among its candidates, swaps its least valuable item shown twice
        for x: x stays covered and one item more is. Tried only when no single move is
        left; returns the two moves ``[(a, move), (b, move)]``.
        """
        if self.oracle is None:
            return None
        shown = self.cand[np.arange(self.cand.shape[0])[:, None], self.cur_pos]
        spare = self.count[shown] >= 2
        best = None
        for a in np.flatnonzero((self.count[self.cand] == 0).any(axis=1)):
            new = np.flatnonzero(self.count[self.cand[a]] == 0)
            for slot, x in enumerate(shown[a]):
                takers = np.flatnonzero((self.cand == x).any(axis=1) & spare.any(axis=1))
                takers = takers[takers != a]
                if takers.size == 0:
                    continue
                lists_a, cost_a = self._swap(a, slot, new)
                for b in takers:
                    free = np.flatnonzero(spare[b])
                    slot_b = free[np.argmin(self.oracle.value[b, self.cur_pos[b, free]])]
                    lists_b, cost_b = self._swap(int(b), slot_b, np.flatnonzero(self.cand[b] == x))
                    total = float(cost_a.min() + cost_b[0])
                    if best is None or total < best[0]:
                        i = int(cost_a.argmin())
                        best = (total, [(int(a), (float(cost_a[i]), -1, lists_a[i])),
                                        (int(b), (float(cost_b[0]), -1, lists_b[0]))])  # fmt: skip
        return None if best is None else best[1]

    def reach(self, target: int) -> None:
        """Make moves until ``target`` items are covered or no move (or chain) is left."""
        while self.covered < target:
            if not self.heap:
                moves = self.chain()
                if moves is None:
                    return
                for u, move in moves:
                    self._apply(u, move)
                continue
            _, u, ver = heapq.heappop(self.heap)
            if ver != self.version[u]:
                continue
            move = self.best_move(u)
            if move is None:
                continue
            if self.heap and move[0] > self.heap[0][0]:
                heapq.heappush(self.heap, (move[0], u, ver))
                continue
            self._apply(u, move)


def _check(options: ArchiveOptions, oracle, levels, n_items):
    if not isinstance(options, ArchiveOptions):
        raise TypeError(f"options must be ArchiveOptions (archive_options), got "
                        f"{type(options).__name__}")  # fmt: skip
    cand = _candidates(options)
    if options.n_users == 0 or not options.valid.any(axis=1).all():
        raise ValueError("options are empty: every user needs at least one valid list")
    if oracle is not None:
        if not isinstance(oracle, PricedListOracle):
            raise TypeError(f"oracle must be a PricedListOracle or None, got "
                            f"{type(oracle).__name__}")  # fmt: skip
        if not np.array_equal(oracle.inputs.candidates, cand) or \
                oracle.k != options.positions.shape[2]:  # fmt: skip
            raise ValueError("oracle was built on other candidates or another K than options; "
                             "build both from the same run")  # fmt: skip
    lv = np.asarray(levels, dtype=np.float64).ravel()
    if lv.size == 0 or not np.all(np.isfinite(lv)) or np.any(lv <= 0) or np.any(lv > 1):
        raise ValueError(f"levels must be shares of the catalogue in (0, 1], got "
                         f"{np.asarray(levels).tolist()}")  # fmt: skip
    n = options.context.membership.shape[0] if n_items is None else n_items
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= int(cand.max()):
        raise ValueError(f"n_items must be an int above every candidate id "
                         f"({int(cand.max())}), got {n!r}")  # fmt: skip
    return np.sort(lv), int(n)


def coverage_front(options: ArchiveOptions, oracle: PricedListOracle | None, levels, *,
                   n_items: int | None = None):  # fmt: skip
    """Trace accuracy against catalogue coverage by a greedy over the users' lists.

    See the module docstring for the greedy, what it guarantees and what it does not.

    Parameters
    ----------
    options : ArchiveOptions
        The users' archived lists (``problems.fairness.archive_options``).
    oracle : PricedListOracle or None
        Scores swapped lists (its ``evaluate``) and ranks a list's items for swapping out
        (its ``value``); None: only archived lists are chosen.
    levels : iterable of float
        Coverage levels, shares of the catalogue in ``(0, 1]``, solved in ascending order;
        a level needs ``ceil(level * n_items)`` items shown.
    n_items : int, optional
        Catalogue size; default the rows of the options' ``membership``.

    Returns
    -------
    front : pandas.DataFrame
        One row per level: ``level``, ``feasible``, ``coverage`` (share of the catalogue
        shown), ``items`` (items shown), ``utility``, ``accuracy`` and ``ndcg`` (means over
        users), ``free_utility`` (the free choice's mean utility, an upper bound),
        ``min_share_ratio`` and ``exposure_gap`` (of the options' groups), ``moves``
        (switches made so far), ``options`` (lists per user), ``seconds``.
    choices : numpy.ndarray
        ``(L, U)`` option chosen per level.
    options : ArchiveOptions
        The options with the swapped lists the levels chose appended (the chosen rows
        index them).

    Raises
    ------
    TypeError
        ``options`` or ``oracle`` of the wrong type.
    ValueError
        Options without a context or with a user without lists, an oracle of other
        candidates, levels empty or outside ``(0, 1]``, a bad ``n_items``, or a level above
        what any choice reaches (the message gives that most).
    """
    lv, n = _check(options, oracle, levels, n_items)
    bound = coverage_bound(options, oracle)
    if lv[-1] * n > bound + 1e-9 * n:
        how = "any K of each user's candidates" if oracle is not None else "the archived lists"
        raise ValueError(f"coverage level {lv[-1]:g} is out of reach: {how} show at most "
                         f"{bound} of {n} items ({bound / n:.4f}); lower the level")  # fmt: skip
    t0 = time.perf_counter()  # the first level's seconds include every user's first move
    greedy = _Greedy(options, oracle, n)
    u = np.arange(options.n_users)
    free = float(greedy.cur_util.mean())
    rows, choices = [], []
    for level in lv:
        greedy.reach(math.ceil(level * n - 1e-9))
        choice = greedy.cur_opt.copy()
        made = choice < 0
        if made.any():  # the swapped lists become options (a copy for the other users)
            pos = greedy.cur_pos[:, None]
            options = options.add_lists(pos, oracle.evaluate(pos))
            choice[made] = options.valid.shape[1] - 1
            greedy.cur_opt[made] = choice[made]
        covered = greedy.covered
        shares = options.shares(choice)
        rows.append({
            "level": float(level), "feasible": covered >= math.ceil(level * n - 1e-9),
            "coverage": covered / n, "items": covered,
            "utility": float(options.utility[u, choice].mean()),
            "accuracy": float(options.accuracy[u, choice].mean()),
            "ndcg": float(options.ndcg[u, choice].mean()), "free_utility": free,
            "min_share_ratio": min_share_ratio(shares, options.target),
            "exposure_gap": exposure_gap(shares, options.target), "moves": greedy.moves,
            "options": int(options.valid.shape[1]), "seconds": time.perf_counter() - t0,
        })  # fmt: skip
        choices.append(choice)
        t0 = time.perf_counter()
    return pd.DataFrame(rows), np.stack(choices), options
