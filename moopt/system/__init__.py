"""System-level goals: choices that couple every user, reached by dual prices.

* ``dual``: ``dual_choice``, one option per unit maximising total utility under lower
  bounds on summed contributions (projected subgradient on the Lagrangian dual, best
  feasible round kept, greedy repair); ``priced_choice``, each unit's best option under
  given prices; ``option_spread``, the unit of prices.

The engine and its archive stay unaware of these goals: a caller turns each user's
archived lists into utilities and contributions (a provider group's exposure, a user
group's accuracy) and hands the arrays here.
"""

from .dual import DualConfig, DualResult, dual_choice, option_spread, priced_choice

__all__ = ["DualConfig", "DualResult", "dual_choice", "option_spread", "priced_choice"]
