"""The one JSON helper: results to plain JSON values and back.

Every result type (``Trace``, ``MCResult``, ``Comparison``, ``SensitivityResult``,
``SweepResult``) writes itself with ``to_dict()`` through :func:`plain` and reads itself back
with ``from_dict()`` through :func:`floats`; ``from_dict(d).to_dict() == d``. JSON has no NaN
or infinity, so a missing number is ``null``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray


def plain(obj: Any) -> Any:
    """Arrays and NumPy scalars to lists and numbers, tuples to lists, mapping keys to text,
    NaN and infinities to ``None``: a value ``json.dumps(..., allow_nan=False)`` accepts.

    Examples
    --------
    >>> plain({"x": np.array([1.0, np.nan]), 2: (np.int64(3), float("inf"))})
    {'x': [1.0, None], '2': [3, None]}
    """
    if isinstance(obj, np.ndarray):
        return _plain_array(obj)
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return plain(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _plain_array(a: NDArray[Any]) -> Any:
    """:func:`plain` of an array, element by element in NumPy where its type allows: the same
    values (Python ints, floats, bools and ``None``) without a Python call per element."""
    if a.dtype.kind in "biu":
        return a.tolist()
    if a.dtype.kind == "f":
        finite = np.isfinite(a)
        if finite.all():
            return a.astype(np.float64, copy=False).tolist()
        # an object array of Python floats (float32 widened as tolist() widens it), None
        # where not finite
        out = a.astype(object)
        out[~finite] = None
        return out.tolist()
    return plain(a.tolist())


def number(x: Any) -> float | None:
    """One number for JSON: ``None`` for NaN (and infinities), else a Python float."""
    value = float(x)
    return value if math.isfinite(value) else None


def floats(values: Any) -> NDArray[np.float64]:
    """Nested lists of numbers and ``None`` back to a float array (``None`` → NaN).

    Examples
    --------
    >>> floats([[1, None], [2.5, 3]])
    array([[1. , nan],
           [2.5, 3. ]])
    """
    if isinstance(values, list | tuple):
        return np.array(
            [floats(v) if isinstance(v, list | tuple) else _one(v) for v in values],
            dtype=np.float64,
        )
    return np.array(_one(values), dtype=np.float64)


def _one(v: Any) -> float:
    return math.nan if v is None else float(v)


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """``json.dumps`` of :func:`plain` ``(obj)``, refusing any NaN that slipped through."""
    return json.dumps(plain(obj), indent=indent, allow_nan=False, ensure_ascii=False)
