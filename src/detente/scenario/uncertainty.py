"""How unsure a number is: a distribution that Monte Carlo runs draw the number from.

Any capability, position or salience may carry an ``uncertainty`` next to its ``value``:

* ``"±x"`` (or ``"+-x"``): uniform on ``[value − x, value + x]``, clipped to the valid range;
* ``{dist: uniform, low, high}``: uniform on ``[low, high]``;
* ``{dist: normal, sd}``: normal with mean ``value``, truncated to the valid range;
* ``{dist: triangular, low, high}``: triangular with mode ``value``;
* ``{dist: beta, a, b}``: ``Beta(a, b)`` scaled to the valid range (for a salience the range is
  [0, 1], so this is the plain beta distribution; for a position the issue's scale). A beta
  ignores ``value`` in its draws: the value stays the point estimate of single runs.

The valid range is the issue's scale for a position, [0, 1] for a salience and (0, ∞) for a
capability. ``uniform`` and ``triangular`` need ``low < value < high`` inside that range; a
beta needs a bounded range, so a capability cannot have one.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer, model_validator

_PLUS_MINUS = re.compile(r"^\s*(?:±|\+-|\+/-)\s*([0-9.eE+-]+)\s*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _finite(*pairs: tuple[str, float]) -> None:
    for name, v in pairs:
        if not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v}")


class Uniform(_Frozen):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        _finite(("low", self.low), ("high", self.high))
        if not self.low < self.high:
            raise ValueError(f"uniform: low ({self.low}) must be less than high ({self.high})")
        return self


class Normal(_Frozen):
    """Normal with mean = the estimate's value and standard deviation ``sd`` (truncated)."""

    dist: Literal["normal"] = "normal"
    sd: float

    @model_validator(mode="after")
    def _positive(self) -> Normal:
        if not (math.isfinite(self.sd) and self.sd > 0):
            raise ValueError(f"normal: sd must be a finite number > 0, got {self.sd}")
        return self


class Triangular(_Frozen):
    """Triangular on ``[low, high]`` with mode = the estimate's value."""

    dist: Literal["triangular"] = "triangular"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        _finite(("low", self.low), ("high", self.high))
        if not self.low < self.high:
            raise ValueError(f"triangular: low ({self.low}) must be less than high ({self.high})")
        return self


class Beta(_Frozen):
    """``Beta(a, b)`` scaled to the valid range of the number."""

    dist: Literal["beta"] = "beta"
    a: float
    b: float

    @model_validator(mode="after")
    def _positive(self) -> Beta:
        for name, v in (("a", self.a), ("b", self.b)):
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"beta: {name} must be a finite number > 0, got {v}")
        return self


class PlusMinus(_Frozen):
    """The shorthand ``"±x"``: uniform on ``[value − x, value + x]`` clipped to the range.

    Written back as ``"±x"`` (``"+-x"`` is read the same).
    """

    dist: Literal["plusminus"] = "plusminus"
    width: float

    @model_validator(mode="after")
    def _positive(self) -> PlusMinus:
        if not (math.isfinite(self.width) and self.width > 0):
            raise ValueError(f"±x: x must be a finite number > 0, got {self.width}")
        return self

    @model_serializer(mode="plain")
    def _text(self) -> str:
        text = repr(float(self.width))
        return "±" + (text[:-2] if text.endswith(".0") else text)


Distribution = Annotated[
    Uniform | Normal | Triangular | Beta | PlusMinus, Field(discriminator="dist")
]
"""Any uncertainty, told apart by ``dist`` (the shorthand string becomes :class:`PlusMinus`)."""

DISTRIBUTIONS = ("uniform", "normal", "triangular", "beta")


def parse_plus_minus(text: str) -> float:
    """The ``x`` of ``"±x"`` or ``"+-x"``; ``ValueError`` for anything else.

    Examples
    --------
    >>> parse_plus_minus("±10"), parse_plus_minus("+-0.1")
    (10.0, 0.1)
    """
    match = _PLUS_MINUS.match(text)
    try:
        if match is None:
            raise ValueError
        return float(match.group(1))
    except ValueError:
        raise ValueError(
            f"expected an uncertainty: '±x' (or '+-x') or a mapping with dist:"
            f" {', '.join(DISTRIBUTIONS)}; got {text!r}"
        ) from None


def coerce(data: Any) -> Any:
    """Raw input for the ``uncertainty`` field: the shorthand text becomes a mapping."""
    if isinstance(data, str):
        return {"dist": "plusminus", "width": parse_plus_minus(data)}
    return data


def check(dist: Any, value: float, low: float, high: float, what: str) -> None:
    """Check a distribution against its estimate's ``value`` and the valid range ``[low, high]``.

    ``high`` may be ``inf`` (capability; its lower end 0 is excluded). Raises ``ValueError``
    with a message naming ``what`` (e.g. ``"salience"``).

    Examples
    --------
    >>> check(Uniform(low=0.2, high=0.9), 0.5, 0.0, 1.0, "salience")
    >>> check(Uniform(low=0.6, high=0.9), 0.5, 0.0, 1.0, "salience")
    Traceback (most recent call last):
    ...
    ValueError: salience: uniform needs low < value < high, got low 0.6, value 0.5, high 0.9
    """
    open_low = math.isinf(high)  # capability: (0, inf)
    if isinstance(dist, Uniform | Triangular):
        name = dist.dist
        if not dist.low < value < dist.high:
            raise ValueError(
                f"{what}: {name} needs low < value < high, got low {dist.low:g}, value {value:g},"
                f" high {dist.high:g}"
            )
        below = dist.low <= low if open_low else dist.low < low
        if below or dist.high > high:
            valid = f"({low:g}, ∞)" if open_low else f"[{low:g}, {high:g}]"
            raise ValueError(
                f"{what}: {name} range [{dist.low:g}, {dist.high:g}] must lie within the valid"
                f" range {valid}"
            )
    elif isinstance(dist, Beta) and math.isinf(high):
        raise ValueError(f"{what}: beta needs a bounded range; use normal, triangular or uniform")
