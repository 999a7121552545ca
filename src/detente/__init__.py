"""detente: forecast where a multi-party negotiation lands and how a shock moves it."""

from detente.models import get_model, run
from detente.scenario import Scenario
from detente.trace import Trace

__version__ = "0.1.0"
__all__ = ["Scenario", "Trace", "__version__", "get_model", "run"]
