"""The optional compiled kernels (Numba, extra ``fast``): loading them and compiling them.

The NumPy kernels (:mod:`detente.models.smp_kernel`, :mod:`detente.models.eu_kernel`) are the
reference; where Numba is installed they hand their heavy work to a compiled module
(:mod:`detente.models.smp_numba`, :mod:`detente.models.eu_numba`) with the same numbers. This
module decides whether they can: :func:`load` imports a compiled module on first use and gives
``None`` when Numba is missing, when :data:`NO_NUMBA_ENV` is set, or when Numba is installed but
broken (then with one :class:`RuntimeWarning` per process, whichever kernel asked first).

Numba compiles the kernels on their first call and keeps them in its on-disk cache. Compiling
costs more than small jobs take in NumPy (CPU time on the benchmark machine: SMP's whole-turn
batch kernel about 38 s, SMP's fused inner loops about 6 s, eu's kernel about 11 s; importing
Numba and loading cached kernels about a second), so the compiled code is used only where it pays
(:data:`MODE_ENV`):

* :func:`choose`, for kernels that give the NumPy kernels' numbers bit for bit (SMP): a
  process runs NumPy and counts the time the compiled module could have saved
  (:func:`charge`); the module is used once that time, with the caller's estimate of the job at
  hand, exceeds the cost of loading it from Numba's cache (if it is there), or the cost of
  compiling it. This is the ski-rental rule: a job never costs more than about twice what it
  would with the best choice made in hindsight, and small jobs never wait for a compiler.
  Switching in the middle of a run changes no number.
* :func:`worth`, for kernels that agree with NumPy to rounding only (eu): a rule on the size of
  the job alone, so that the same job takes the same path and gives the same numbers whatever
  the cache holds or the clock says.

The library prints nothing about compiling; a program that wants to say so once registers
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
from pathlib import Path
from types import ModuleType
from typing import IO, Any, TypeVar, cast

NO_NUMBA_ENV = "DETENTE_NO_NUMBA"
"""Set this environment variable (to anything but ``0`` or empty) to run the NumPy kernels
only, even where the compiled ones are available (the same as ``DETENTE_NUMBA=never``)."""

MODE_ENV = "DETENTE_NUMBA"
"""When to use the compiled kernels: ``auto`` (the default: where it pays, see the module's
docstring), ``always`` (from the first call, compiling if need be; e.g. to fill the cache
ahead of a long job) or ``never`` (NumPy only)."""

MODES = ("auto", "always", "never")

LOAD_SECONDS = 1.0
"""What importing Numba and loading a module's cached kernels costs, about (CPU seconds on the
benchmark machine: 0.4 s for Numba, 0.3–0.7 s for SMP's kernels)."""

COMPILE_MESSAGE = (
    "compiling detente's Numba kernels for this long job (once: later runs load them)..."
)
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
    """False when :data:`NO_NUMBA_ENV` or :data:`MODE_ENV` ask for the NumPy kernels only
    (read at every call)."""
    return mode() != "never"


def mode() -> str:
    """``auto``, ``always`` or ``never``: :data:`MODE_ENV`, with :data:`NO_NUMBA_ENV` meaning
    ``never`` (read at every call; an unknown value counts as ``auto``, with one warning)."""
    if os.environ.get(NO_NUMBA_ENV, "").strip() not in ("", "0"):
        return "never"
    value = os.environ.get(MODE_ENV, "").strip().lower() or "auto"
    if value not in MODES:
        if value not in _bad_modes:
            _bad_modes.append(value)
            warnings.warn(
                f"{MODE_ENV}={value!r} is not one of {', '.join(MODES)}; using auto",
                RuntimeWarning,
                stacklevel=2,
            )
        return "auto"
    return value


_bad_modes: list[str] = []


# -- when the compiled kernels pay ---------------------------------------------------------------


class _Account:
    """What one compiled module could have saved so far in this process."""

    def __init__(self) -> None:
        self.spent = 0.0
        """CPU seconds run in NumPy that the module could have run (:func:`charge`)."""
        self.active = False
        """Decided: the module is used from now on."""
        self.cached: bool | None = None
        """Whether its kernels were in Numba's cache when first looked at."""


_accounts: dict[str, _Account] = {}


def choose(
    name: str, *, compile_seconds: float, expected_seconds: float = 0.0
) -> ModuleType | None:
    """The compiled module ``name`` if it is worth using now, else ``None`` (run NumPy and
    :func:`charge` the time). For modules whose numbers are the NumPy kernels' bit for bit.

    In mode ``auto`` (:data:`MODE_ENV`) the module is used, from then on, once the NumPy time
    already charged plus ``expected_seconds`` (the caller's estimate of the NumPy time of the
    job at hand) reaches :data:`LOAD_SECONDS` and its kernels are in Numba's cache
    (:func:`in_cache`), or once the time charged reaches ``compile_seconds`` (an estimate of
    compiling it here), or the estimate reaches twice that (an estimate may be off).
    """
    current = mode()
    if current == "never":
        return None
    if current == "always":
        return load(name)
    acct = _accounts.setdefault(name, _Account())
    if acct.active:
        return load(name)
    if acct.spent + expected_seconds < LOAD_SECONDS:
        return None
    compile_pays = acct.spent >= compile_seconds or expected_seconds >= 2.0 * compile_seconds
    if acct.cached is None and not compile_pays and not _cache_files(name):
        acct.cached = False  # nothing on disk: not worth importing Numba to look closer
    if acct.cached is False and not compile_pays:
        return None
    module = load(name)
    if module is None:
        return None
    if acct.cached is None:
        acct.cached = in_cache(module)
    if acct.cached or compile_pays:
        acct.active = True
        return module
    return None


def charge(name: str, seconds: float) -> None:
    """Count ``seconds`` of NumPy work that the compiled module ``name`` could have done
    (see :func:`choose`)."""
    with _lock:
        _accounts.setdefault(name, _Account()).spent += max(0.0, seconds)


def worth(expected_seconds: float, compile_seconds: float) -> bool:
    """Whether to use a compiled module whose numbers agree with NumPy's to rounding only: in
    mode ``auto``, when the job's estimated NumPy time reaches ``compile_seconds`` (a rule on
    the job alone, so the same job always takes the same path)."""
    current = mode()
    return current == "always" or (current == "auto" and expected_seconds >= compile_seconds)


def _cache_files(name: str) -> bool:
    """Whether Numba's cache may hold kernels of module ``name``: index files named after it
    where Numba keeps them, under ``NUMBA_CACHE_DIR`` if that is set, else beside the source
    (``__pycache__``). Looked up without importing Numba or the module; a yes is checked by
    :func:`in_cache` (files of an older version of the source count here)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    source = Path(spec.origin)
    pattern = f"{source.stem}.*.nbi"
    user_dir = os.environ.get("NUMBA_CACHE_DIR", "")
    if user_dir:  # Numba's user-provided locator: one folder per source folder
        return any(Path(user_dir).glob(f"*/{pattern}"))
    return any((source.parent / "__pycache__").glob(pattern))


def in_cache(module: ModuleType) -> bool:
    """Whether every kernel in ``module.CACHED_KERNELS`` has compiled code in Numba's on-disk
    cache for its current source (so that loading the module compiles nothing big). False when
    that cannot be told (a Numba without this cache layout)."""
    kernels = getattr(module, "CACHED_KERNELS", ())
    try:
        return bool(kernels) and all(bool(k._cache._cache_file._load_index()) for k in kernels)
    except Exception:  # Numba's cache internals differ: assume nothing is cached
        return False


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
