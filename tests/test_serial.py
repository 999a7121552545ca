"""The JSON helper: arrays are converted in NumPy, with the values of the element-by-element
rule (Python numbers, ``None`` for NaN and infinities), and traces write the same JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from detente import io
from detente.models import run
from detente.serial import dumps, plain


def _by_element(obj: Any) -> Any:
    """The rule, one element at a time (the helper's behaviour before arrays were batched)."""
    if isinstance(obj, np.ndarray):
        return _by_element(obj.tolist())
    if isinstance(obj, dict):
        return {str(k): _by_element(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_by_element(v) for v in obj]
    if isinstance(obj, np.generic):
        return _by_element(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


_dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int32, np.uint8, np.bool_])


@settings(max_examples=200, deadline=None)
@given(
    a=_dtypes.flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
    )
)
def test_arrays_convert_as_element_by_element(a: np.ndarray) -> None:
    got = plain(a)
    want = _by_element(a)
    assert got == want or (math.isnan(got) and math.isnan(want))  # 0-d NaN compares unequal
    assert json.dumps(got, allow_nan=False) == json.dumps(want, allow_nan=False)
    flat = got if isinstance(got, list) else [got]
    while flat and isinstance(flat[0], list):
        flat = [x for row in flat for x in row]
    assert all(type(x) in (int, float, bool, type(None)) for x in flat)


def test_non_finite_become_null_and_object_arrays_recurse() -> None:
    a = np.array([[1.5, np.nan], [-np.inf, np.inf]])
    assert plain(a) == [[1.5, None], [None, None]]
    assert plain(np.array(["x", 1.0], dtype=object)) == ["x", 1.0]
    assert dumps({"a": np.float32(np.nan)}) == '{"a": null}'


@pytest.mark.parametrize("model", ["median", "eu", "smp"])
def test_trace_json_is_the_cell_by_cell_json(model: str) -> None:
    trace = run(io.load_default(), model, seed=3)
    positions = trace.positions.copy()
    positions[0, 0, 0] = np.nan  # a missing position writes null
    trace = type(trace)(**{**trace.__dict__, "positions": positions})
    d = trace.to_dict(scenario="s", seed=3)
    want = [
        [
            {"actor": a, "issue": k, "position": _by_element(float(state[i, j]))}
            for i, a in enumerate(trace.actors)
            for j, k in enumerate(trace.issues)
        ]
        for state in trace.positions
    ]
    assert d["rounds"] == want
    assert d["rounds"][0][0]["position"] is None
    assert d["details"] == _by_element(dict(trace.details))
