"""When the compiled kernels are used (``models/accel.py``): the modes, the ski-rental rule for
kernels with NumPy's numbers, the size rule for the others, and the cache check."""

from __future__ import annotations

import importlib
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

from detente.models import accel, eu_kernel
from detente.models import smp_kernel as K

FAKE = types.ModuleType("fake_kernels")


@pytest.fixture
def auto(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Mode ``auto``, fresh accounts, and a loader that hands out :data:`FAKE` (recording each
    load) and a cache check that says no."""
    monkeypatch.delenv(accel.NO_NUMBA_ENV, raising=False)
    monkeypatch.delenv(accel.MODE_ENV, raising=False)
    monkeypatch.setattr(accel, "_accounts", {})
    loads: list[str] = []

    def load(name: str) -> types.ModuleType:
        loads.append(name)
        return FAKE

    monkeypatch.setattr(accel, "load", load)
    monkeypatch.setattr(accel, "in_cache", lambda module: False)
    monkeypatch.setattr(accel, "_cache_files", lambda name: True)
    return loads


def test_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accel, "_bad_modes", [])
    for no_numba, mode, want in (
        ("", "", "auto"),
        ("", "ALWAYS", "always"),
        (" 0 ", "never", "never"),
        ("1", "always", "never"),  # the older switch wins: NumPy only
    ):
        monkeypatch.setenv(accel.NO_NUMBA_ENV, no_numba)
        monkeypatch.setenv(accel.MODE_ENV, mode)
        assert accel.mode() == want
        assert accel.enabled() is (want != "never")
    monkeypatch.setenv(accel.NO_NUMBA_ENV, "")
    monkeypatch.setenv(accel.MODE_ENV, "sometimes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert accel.mode() == "auto"
        assert accel.mode() == "auto"
    assert len(caught) == 1
    assert "sometimes" in str(caught[0].message)


def test_small_jobs_never_load_numba(auto: list[str]) -> None:
    for _ in range(20):
        assert accel.choose("k", compile_seconds=6.0, expected_seconds=0.01) is None
        accel.charge("k", 0.01)
    assert auto == []  # 0.2 s of NumPy: not even worth importing Numba to look at the cache


def test_cached_kernels_are_used_once_loading_them_pays(
    auto: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accel, "in_cache", lambda module: True)
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=0.5) is None
    accel.charge("k", 0.6)  # 1.1 s with the estimate: loading (about 1 s) pays
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=0.5) is FAKE
    assert accel.choose("k", compile_seconds=6.0) is FAKE  # and from then on


def test_no_cache_files_no_numba_import(auto: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """On a fresh install Numba is not even imported until compiling pays."""
    monkeypatch.setattr(accel, "_cache_files", lambda name: False)
    accel.charge("k", 5.0)
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=2.0) is None
    assert auto == []
    accel.charge("k", 1.0)
    assert accel.choose("k", compile_seconds=6.0) is FAKE


def test_uncached_kernels_are_compiled_once_numpy_has_run_as_long(auto: list[str]) -> None:
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=2.0) is None
    for _ in range(5):
        accel.charge("k", 1.0)
        assert accel.choose("k", compile_seconds=6.0, expected_seconds=2.0) is None
    accel.charge("k", 1.0)  # 6 s charged: the price of compiling
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=2.0) is FAKE
    assert accel.choose("other", compile_seconds=6.0) is None  # accounts are per module


def test_a_long_job_compiles_at_once(auto: list[str]) -> None:
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=11.0) is None
    assert accel.choose("k", compile_seconds=6.0, expected_seconds=12.0) is FAKE


def test_always_and_never(auto: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(accel.MODE_ENV, "always")
    assert accel.choose("k", compile_seconds=99.0) is FAKE
    assert accel.worth(0.0, 99.0)
    monkeypatch.setenv(accel.MODE_ENV, "never")
    accel.charge("k", 1e6)
    assert accel.choose("k", compile_seconds=1.0, expected_seconds=1e6) is None
    assert not accel.worth(1e6, 1.0)


def test_the_size_rule_depends_on_the_job_alone(auto: list[str]) -> None:
    assert not accel.worth(10.9, 11.0)
    assert accel.worth(11.0, 11.0)
    accel.charge("detente.models.eu_numba", 1e6)  # no history, no cache, no clock
    assert not eu_kernel.uses_fused_kernel(500, 8, 10)  # a Monte Carlo chunk of eu: NumPy
    big = eu_kernel.numpy_seconds(10**6, 30, 10) >= eu_kernel.FUSED_COMPILE_SECONDS
    assert big


def test_smp_estimates_grow_with_the_job() -> None:
    cfg = K.Config()
    small = K.numpy_seconds(1, 8, cfg)
    assert small < accel.LOAD_SECONDS  # a single run of a small scenario never asks Numba
    assert K.numpy_seconds(1000, 8, cfg) > accel.LOAD_SECONDS
    assert K.numpy_seconds(1, 640, cfg) > 2 * K.FUSED_COMPILE_SECONDS  # compiles at once


def test_in_cache_reads_numba_s_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("numba", reason="numba is not installed (extra 'fast')")
    (tmp_path / "probe_kernels.py").write_text(
        textwrap.dedent(
            """
            from detente.models.accel import jit

            @jit(entry=True)
            def double(x: float) -> float:
                return 2.0 * x

            CACHED_KERNELS = (double,)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("probe_kernels")
    try:
        assert not accel.in_cache(module)
        assert module.double(1.5) == 3.0
        assert accel.in_cache(module)
        assert accel._cache_files("probe_kernels")  # found without Numba, beside the source
        assert not accel._cache_files("detente.no_such_module")
        assert not accel.in_cache(types.ModuleType("no_kernels"))
    finally:
        sys.modules.pop("probe_kernels", None)
