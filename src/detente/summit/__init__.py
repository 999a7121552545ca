"""The two-leader summit: a bilateral bargain whose agreement feeds the multi-party game.

:func:`summit` builds two actors' bargaining set over some issues of a scenario (utilities
from positions and saliences, the no-deal point from the multi-party forecast or stated) and
solves it (Nash, Kalai–Smorodinsky, capability-weighted asymmetric Nash, Rubinstein);
:func:`agreement_shock` turns the agreement into a shock. The bargaining mathematics, free of
scenarios, is :mod:`detente.summit.bargaining`.
"""

from detente.summit.bargaining import (
    Frontier,
    Solution,
    discrete_kalai,
    discrete_nash,
    kalai_smorodinsky,
    linear_frontier,
    nash,
    pareto_mask,
    rubinstein,
    rubinstein_share,
)
from detente.summit.meeting import (
    AGREEMENT,
    SummitError,
    SummitResult,
    agreement_shock,
    summit,
    with_summit_agreement,
)

__all__ = [
    "AGREEMENT",
    "Frontier",
    "Solution",
    "SummitError",
    "SummitResult",
    "agreement_shock",
    "discrete_kalai",
    "discrete_nash",
    "kalai_smorodinsky",
    "linear_frontier",
    "nash",
    "pareto_mask",
    "rubinstein",
    "rubinstein_share",
    "summit",
    "with_summit_agreement",
]
