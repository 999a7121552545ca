"""detente: forecast where a multi-party negotiation lands and how a shock moves it.

The public API (see the README's "Python API"): load a scenario, run a model, run a Monte Carlo
or a shock comparison, and turn any result into a tidy pandas table with ``to_frame()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from detente.io import load_default
from detente.io import read as load
from detente.models import get_model, models, run
from detente.scenario import Scenario
from detente.trace import Trace

if TYPE_CHECKING:
    from detente.sim.compare import Comparison, compare
    from detente.sim.montecarlo import MCResult, monte_carlo

__version__ = "0.1.0"
__all__ = [
    "Comparison",
    "MCResult",
    "Scenario",
    "Trace",
    "__version__",
    "compare",
    "get_model",
    "load",
    "load_default",
    "models",
    "monte_carlo",
    "run",
]

_LAZY = {
    "monte_carlo": ("detente.sim.montecarlo", "monte_carlo"),
    "MCResult": ("detente.sim.montecarlo", "MCResult"),
    "compare": ("detente.sim.compare", "compare"),
    "Comparison": ("detente.sim.compare", "Comparison"),
}


def __getattr__(name: str) -> Any:
    """The simulation layer loads on first use, keeping ``import detente`` light."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'detente' has no attribute {name!r}")
