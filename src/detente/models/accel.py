"""The optional compiled kernels (Numba, extra ``fast``): loading them and compiling them.

The NumPy kernels (:mod:`detente.models.smp_kernel`, :mod:`detente.models.eu_kernel`) are the
reference; where Numba is installed they hand their heavy work to a compiled module
(:mod:`detente.models.smp_numba`, :mod:`detente.models.eu_numba`) with the same numbers. This
module decides whether they can: :func:`load` imports a compiled module on first use and gives
``None`` when Numba is missing, when :data:`NO_NUMBA_ENV` is set, or when Numba is installed but
broken (then with one :class:`RuntimeWarning` per process, whichever kernel asked first).

Numba compiles the kernels on their first call and keeps them in its on-disk cache (on the
benchmark machine about 20 s for SMP and 6–14 s for eu without a cache, about half a second
with it). The library prints nothing about it; a program that wants to say so once registers
:func:`set_compile_hook` (or :func:`announce_compiling` for a line on stderr), and the same
news goes to this module's logger at INFO level.

Importing this module does not import Numba.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any, TypeVar, cast

NO_NUMBA_ENV = "DETENTE_NO_NUMBA"
"""Set this environment variable (to anything but ``0`` or empty) to run the NumPy kernels
only, even where the compiled ones are available (the same numbers)."""

COMPILE_MESSAGE = "compiling detente's Numba kernels (first use; cached for later runs)..."
"""What :func:`set_compile_hook`'s hook and the logger are told when compiling starts."""

log = logging.getLogger(__name__)

Fn = TypeVar("Fn", bound=Callable[..., Any])

_lock = threading.RLock()
_loaded: dict[str, ModuleType | None] = {}
"""Compiled modules by name, once asked for (``None``: unavailable)."""
_numba_failed: list[BaseException] = []
"""Why Numba could not be imported, once it failed (the warning is given once)."""
_hook: list[Callable[[str], None]] = []
_compile_seen: list[bool] = []
"""Whether a compilation of one of detente's kernels has started in this process."""
_listening: list[bool] = []


def enabled() -> bool:
    """False when :data:`NO_NUMBA_ENV` asks for the NumPy kernels (read at every call)."""
    return os.environ.get(NO_NUMBA_ENV, "").strip() in ("", "0")


def load(name: str) -> ModuleType | None:
    """The compiled module ``name`` (e.g. ``"detente.models.smp_numba"``), imported on first use,
    or ``None`` without Numba, with :data:`NO_NUMBA_ENV` set, or with a broken Numba (one
    :class:`RuntimeWarning` per process for Numba itself, one per module that fails to import).
    """
    if not enabled():
        return None
    if name in _loaded:
        return _loaded[name]
    with _lock:
        if name not in _loaded:
            _loaded[name] = _import(name)
        return _loaded[name]


def _import(name: str) -> ModuleType | None:
    if _numba_failed:
        return None
    try:
        importlib.import_module("numba")
    except ImportError as exc:
        if importlib.util.find_spec("numba") is None:
            return None  # not installed: the NumPy kernels, silently
        _numba_failed.append(exc)  # installed but unusable (e.g. too old for this NumPy)
        _warn(f"Numba is installed but cannot be imported ({exc!r}); using NumPy")
        return None
    except Exception as exc:  # a broken installation: keep working, say why
        _numba_failed.append(exc)
        _warn(f"Numba is installed but cannot be imported ({exc!r}); using NumPy")
        return None
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        _warn(f"the compiled kernel {name} is unavailable ({exc!r}); using NumPy")
        return None
    _listen()
    return module


def _warn(message: str) -> None:
    # the caller of the kernel: load <- compiled()/_fused_kernel() <- the kernel <- caller
    warnings.warn(message, RuntimeWarning, stacklevel=5)


def jit(*, entry: bool = False, inline: bool = False, parallel: bool = False) -> Callable[[Fn], Fn]:
    """``numba.njit`` as the compiled kernels use it: NumPy's error model (division by zero
    gives inf or NaN, as in the NumPy kernels), without the GIL, with Numba's on-disk cache
    where one can be written and without it otherwise.

    ``entry``: called from Python. Other functions are called from compiled code only and get
    no Python wrapper (Numba's ``no_cpython_wrapper``), which makes compiling a kernel of many
    small functions markedly faster. ``inline``: inline into callers at Numba's level, for
    steps with a single caller and small helpers of inner loops (a compiled call counts
    references to every array it receives); every inlined copy makes compiling slower.
    ``parallel``: Numba's ``prange`` loops run on its threads.
    """
    import numba

    opts: dict[str, Any] = {"error_model": "numpy", "nogil": True}
    if inline:
        opts["inline"] = "always"
    if parallel:
        opts["parallel"] = True
    if not entry and _wrapper_optional():
        opts["no_cpython_wrapper"] = True
        opts["no_cfunc_wrapper"] = True

    def wrap(fn: Fn) -> Fn:
        try:
            compiled: Any = numba.njit(cache=True, **opts)(fn)
        except Exception:  # no writable cache location: compile in every process instead
            compiled = numba.njit(cache=False, **opts)(fn)
        return cast(Fn, compiled)

    return wrap


def _wrapper_optional() -> bool:
    """Whether this Numba takes the (internal) options that leave out a function's wrappers."""
    try:
        from numba.core.cpu import CPUTargetOptions
    except ImportError:
        return False
    return all(hasattr(CPUTargetOptions, k) for k in ("no_cpython_wrapper", "no_cfunc_wrapper"))


# -- news of compiling ---------------------------------------------------------------------------


def set_compile_hook(hook: Callable[[str], None] | None) -> None:
    """Call ``hook(COMPILE_MESSAGE)`` once, from the compiling thread, when Numba starts
    compiling one of detente's kernels for the first time in this process (a cache miss; loading
    compiled code from the cache says nothing). ``None`` removes the hook. A hook registered
    after that moment is not called."""
    with _lock:
        _hook[:] = [] if hook is None else [hook]


def announce_compiling(stream: IO[str] | None = None) -> None:
    """Say :data:`COMPILE_MESSAGE` once on ``stream`` (standard error by default) when the
    kernels get compiled: a hook for command-line programs (see :func:`set_compile_hook`)."""

    def say(message: str) -> None:
        print(message, file=stream if stream is not None else sys.stderr, flush=True)

    set_compile_hook(say)


def compiling_started() -> bool:
    """Whether Numba has started compiling one of detente's kernels in this process."""
    return bool(_compile_seen)


def _first_compile() -> None:
    with _lock:
        if _compile_seen:
            return
        _compile_seen.append(True)
        hooks = list(_hook)
    log.info(COMPILE_MESSAGE)
    for hook in hooks:
        hook(COMPILE_MESSAGE)


def _ours(data: Any) -> bool:
    """Whether a ``numba:compile`` event compiles a function of detente."""
    func = getattr(getattr(data, "get", lambda _key: None)("dispatcher"), "py_func", None)
    return str(getattr(func, "__module__", "")).startswith("detente.")


def _listen() -> None:
    """Follow Numba's compile events (once per process) to tell :func:`_first_compile`."""
    with _lock:
        if _listening:
            return
        _listening.append(True)
    try:
        from numba.core import event
    except ImportError:  # an older or newer Numba without the event API: no news
        return

    class _Listener(event.Listener):
        def on_start(self, ev: Any) -> None:
            if not _compile_seen and _ours(ev.data):
                _first_compile()

        def on_end(self, ev: Any) -> None:
            pass

    event.register("numba:compile", _Listener())  # type: ignore[no-untyped-call]
