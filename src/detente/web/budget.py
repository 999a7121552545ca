"""What one request may cost: the web app's limits, in one place, and the checks that apply them.

:class:`Budget` holds every limit (``detente serve`` has an option for each). A request over
one of the size limits is refused before any work starts, with :class:`OverBudget`: HTTP 413
for bodies and uploads, 422 otherwise, and JSON naming the limit, the value found and the value
allowed::

    {"detail": "the scenario has 1,000 actors; this server allows at most 200 (--max-actors)",
     "limit": "max_actors", "value": 1000, "allowed": 200}

Memory is estimated from a run's sizes before it starts (:func:`run_memory`,
:func:`monte_carlo_memory`, :func:`compare_memory`), from formulas fitted to measured peaks of
the whole request in a worker process (model, ``to_dict``, JSON, the store's record); a run
whose estimate exceeds :attr:`Budget.max_memory_bytes` is refused. While it runs, its worker
process is killed if it takes longer than :attr:`Budget.max_seconds` or its resident memory
grows by more than the budget plus :data:`WORKER_ALLOWANCE` (see
:mod:`detente.web.workers`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from detente.models import ModelSpec
from detente.scenario import Scenario

if TYPE_CHECKING:  # FastAPI loads with the web app, not with the CLI's serve options
    from fastapi.responses import JSONResponse

MiB = 2**20
GiB = 2**30

WORKER_ALLOWANCE = 256 * MiB
"""Growth of a worker's resident memory tolerated beyond the request's budget before the worker
is killed: room for what a first call loads once (Numba's compiled kernels take about 190 MiB)
and for the estimate's error."""

MAX_SEED = 2**63 - 1
"""The largest seed the run store records (a signed 64-bit column)."""


def _limit(default: Any, option: str, doc: str) -> Any:
    return field(default=default, metadata={"option": option, "doc": doc})


def _cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Budget:
    """Every limit of the web app; ``detente serve`` has an option for each (``--max-actors``
    for :attr:`max_actors` and so on, see :meth:`option`)."""

    # -- what a request may carry ------------------------------------------------------
    max_body_bytes: int = _limit(4_000_000, "--max-body", "largest JSON request body, bytes")
    max_upload_bytes: int = _limit(2_000_000, "--max-upload", "largest uploaded file, bytes")
    max_actors: int = _limit(200, "--max-actors", "actors in a scenario (shocks included)")
    max_issues: int = _limit(50, "--max-issues", "issues in a scenario")
    max_shocks: int = _limit(20, "--max-shocks", "shocks (variants) in one comparison")
    max_rounds: int = _limit(
        1000, "--max-rounds", "rounds of a multi-round model: eu's rounds, smp's max_turns"
    )
    max_draws: int = _limit(
        20_000, "--max-draws", "Monte Carlo draws, or model evaluations of a sensitivity analysis"
    )
    # -- what its work may use ---------------------------------------------------------
    max_memory_bytes: int = _limit(
        1 * GiB, "--max-memory", "estimated memory of one run, Monte Carlo or comparison"
    )
    max_seconds: float = _limit(
        60.0, "--time-limit", "wall time of one run, Monte Carlo, comparison or upload, seconds"
    )
    workers: int = _limit(_cpus(), "--workers", "worker processes running models at once")
    max_waiting: int = _limit(
        256, "--max-waiting", "requests waiting for or using a worker; more get 429"
    )
    max_jobs: int = _limit(16, "--max-jobs", "unfinished Monte Carlo jobs; more get 429")
    # -- the connection ------------------------------------------------------------------
    header_timeout: float = _limit(
        10.0, "--header-timeout", "seconds to receive a request's line and headers"
    )
    body_timeout: float = _limit(30.0, "--body-timeout", "seconds to receive a request's body")
    keep_alive: float = _limit(5.0, "--keep-alive", "seconds an idle connection is kept open")
    max_header_bytes: int = _limit(
        16 * 1024, "--max-header", "largest request line and headers, bytes"
    )
    max_connections: int = _limit(
        1000, "--max-connections", "open connections; requests beyond get 503"
    )
    shutdown_grace: float = _limit(
        2.0, "--shutdown-grace", "seconds running requests get to finish on shutdown"
    )
    # -- uploads -----------------------------------------------------------------------
    upload_ttl: float = _limit(
        600.0, "--upload-ttl", "seconds an uploaded file is kept (0: deleted once read)"
    )
    max_kept_uploads: int = _limit(100, "--max-kept-uploads", "uploaded files kept at most")

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{f.name} must be a number, got {value!r}")
            least = 0 if f.name == "upload_ttl" else 1 if isinstance(f.default, int) else 0.001
            if not value >= least or value != value:
                raise ValueError(f"{f.name} ({f.metadata['option']}) must be at least {least}")

    @staticmethod
    def option(name: str) -> str:
        """The ``detente serve`` option that sets the limit ``name``."""
        return str(_FIELDS[name].metadata["option"])

    @staticmethod
    def doc(name: str) -> str:
        return str(_FIELDS[name].metadata["doc"])

    def limits(self) -> dict[str, int | float]:
        """Every limit by name (``GET /api/info`` shows them)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # -- checks --------------------------------------------------------------------------

    def refuse(self, name: str, value: int | float, what: str, status: int = 422) -> OverBudget:
        """The refusal of ``value`` over the limit ``name``; ``what`` says what was too big."""
        allowed = getattr(self, name)
        detail = f"{what}; this server allows at most {_show(name, allowed)} ({self.option(name)})"
        return OverBudget(status, name, value, allowed, detail)

    def check_size(self, sc: Scenario | Mapping[str, Any], where: str = "the scenario") -> None:
        """Actors and issues (a scenario's JSON is counted as given, before validation)."""
        if isinstance(sc, Scenario):
            n, m = len(sc.actors), len(sc.issues)
        else:
            n, m = _count(sc.get("actors")), _count(sc.get("issues"))
        if n > self.max_actors:
            raise self.refuse("max_actors", n, f"{where} has {n:,} actors")
        if m > self.max_issues:
            raise self.refuse("max_issues", m, f"{where} has {m:,} issues")

    def check_rounds(self, spec: ModelSpec, params: Mapping[str, Any]) -> None:
        """A multi-round model's rounds parameter (resolved: defaults, scenario, request)."""
        key = spec.rounds_parameter
        if key is None:
            return
        value = params.get(key)
        if isinstance(value, int) and value > self.max_rounds:
            raise self.refuse("max_rounds", value, f"{spec.name}: {key} = {value:,}")

    def check_memory(self, estimate: int, what: str, hint: str = "") -> None:
        if estimate > self.max_memory_bytes:
            text = f"{what} needs about {_bytes(estimate)} of memory"
            raise self.refuse("max_memory_bytes", estimate, text + hint)

    def check_draws(self, draws: int) -> None:
        if draws > self.max_draws:
            raise self.refuse("max_draws", draws, f"{draws:,} draws were asked for")

    def check_evaluations(self, evaluations: int, what: str) -> None:
        """A sensitivity analysis's model evaluations, bounded like Monte Carlo draws."""
        if evaluations > self.max_draws:
            raise self.refuse("max_draws", evaluations, f"{what} needs {evaluations:,} evaluations")

    def check_shocks(self, count: int) -> None:
        if count > self.max_shocks:
            raise self.refuse("max_shocks", count, f"the comparison has {count:,} shocks")

    def check_run(self, spec: ModelSpec, params: Mapping[str, Any], sc: Scenario) -> int:
        """Rounds and memory of one run of ``spec`` on ``sc``; the memory estimate."""
        self.check_rounds(spec, params)
        n, m = len(sc.actors), len(sc.issues)
        estimate = run_memory(spec, params, n, m)
        hint = ""
        if spec.name == "eu" and params.get("pairs"):
            lighter = run_memory(spec, {**params, "pairs": False}, n, m)
            if lighter <= self.max_memory_bytes:
                hint = f" (with pairs = false: about {_bytes(lighter)})"
        self.check_memory(estimate, f"{_run_words(spec, params, n, m)}", hint)
        return estimate


class OverBudget(Exception):
    """A request over one of the limits: answered with ``status`` and JSON naming the limit."""

    def __init__(
        self, status: int, limit: str, value: int | float, allowed: int | float, detail: str
    ) -> None:
        super().__init__(detail)
        self.status, self.limit, self.value, self.allowed, self.detail = (
            status,
            limit,
            value,
            allowed,
            detail,
        )

    def response(self, headers: Mapping[str, str] | None = None) -> JSONResponse:
        body = {"detail": self.detail, "limit": self.limit, "value": self.value}
        body["allowed"] = self.allowed
        from fastapi.responses import JSONResponse

        return JSONResponse(body, status_code=self.status, headers=dict(headers or {}))


_FIELDS = {f.name: f for f in fields(Budget)}


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def _bytes(n: float) -> str:
    if n >= GiB:
        return f"{n / GiB:.1f} GiB"
    return f"{max(n, 0) / MiB:,.0f} MiB"


def _show(name: str, value: int | float) -> str:
    if name == "max_memory_bytes":
        return _bytes(value)
    if name.endswith("_bytes"):
        return f"{value:,} bytes"
    if isinstance(value, float):
        return f"{value:g} s"
    return f"{value:,}"


def _run_words(spec: ModelSpec, params: Mapping[str, Any], n: int, m: int) -> str:
    words = f"a {spec.name} run of {n:,} actors × {m:,} issues"
    key = spec.rounds_parameter
    if key is not None:
        words += f" with {key} = {params.get(key)}"
    if spec.name == "eu" and params.get("pairs"):
        words += " and pairs = true"
    if spec.name == "condorcet":
        words += f" (voting = {params.get('voting')}, space = {params.get('space')})"
    return words


# -- memory estimates ----------------------------------------------------------------------
#
# Peak resident memory of a whole request in a warmed-up worker process, above its idle size,
# fitted to measurements (Python 3.11, NumPy 2, synthetic scenarios of 8-1,000 actors and 1-50
# issues) and rounded up: the model, Trace.to_dict, the JSON copies the store makes, the
# scenario's YAML and the answer. Every term is the largest array or list the code builds:
#
# * any run: 2.6 KB per scenario cell (actor × issue: the scenario, its YAML and JSON);
# * per recorded position (round × actor × issue): 2.2 KB (the record's "rounds" list of
#   {actor, issue, position} objects, its JSON and the store's copy);
# * eu: 100 B per issue × actor² (the kernel's pair arrays, chunked); with pairs = true
#   800 B per issue × round × actor² (five pair matrices per round, as lists and as JSON);
# * smp: per turn 12 KB per actor, 2.2 KB per actor × issue (positions and each bargain's
#   positions by issue) and 40 B per actor² (the turn's option lists);
# * condorcet: proportional votes 40 B per issue × actor² (joint: per actor² × issue);
#   majority votes 16 B per issue × actor³ (joint: per actor³), the sign of every voter's
#   preference between every two candidates;
# * Monte Carlo (monte_carlo_memory): the larger of its phases, drawing, running and recording,
#   each from what detente.sim.montecarlo keeps (one block of inputs, the first CENTRE_KEPT
#   replicates' medians, the forecasts) and one chunk's work (chunk_memory); its constants
#   were measured with tracemalloc on in-process runs of the worker's task (NumPy kernels):
#   drawing a value costs 8 B plus, while its distribution's group is drawn, 8 B (triangular),
#   23-24 B (uniform, beta) or 89 B (truncated normal); recording 400 B per draw and 180-200 B
#   per draw × issue (the forecasts as JSON objects, their text, the store's copy); exchange's
#   possible exchanges 104-112 B each (NumPy, 40-80 actors; the compiled kernel's buffers take
#   about 185 B).
#
# Measured against estimated (MiB): eu 50 actors × 50 issues, 200 rounds 1,048 / 1,088; smp
# 200 × 2, 42 turns 140 / 212 (with max_turns = 42); condorcet majority 200 × 10 1,224 / 1,257.
# Monte Carlo (tracemalloc, every value uncertain): see tests/web/test_memory_estimates.py.

BASE = 16 * MiB
PER_CELL = 2_600
PER_POSITION = 2_200
EU_PAIR_WORK = 100
EU_PAIR_RECORD = 800
SMP_PER_ACTOR_TURN = 12_000
SMP_PER_CELL_TURN = 2_200
SMP_PER_PAIR_TURN = 40
CONDORCET_PAIR = 40
CONDORCET_TRIPLE = 16
DRAW_EXTRA = {"plusminus": 24, "uniform": 24, "triangular": 8, "beta": 24, "normal": 96}
MC_KEPT_COPIES = 5
MC_RECORD_PER_DRAW = 512
MC_RECORD_PER_DRAW_ISSUE = 224
CHUNK_INPUT_COPIES = 4
EU_GAME_PER_ROUND_ACTOR = 64
EU_GAME_PER_ROUND = 32
EU_KERNEL_WORK = 32 * MiB
SMP_PER_PAIR_CALL = 64
SMP_PER_POSITION = 32
EXCHANGE_PER_CANDIDATE = 256
EXCHANGE_PER_POSITION = 96
SENSITIVITY_PER_VALUE = 8


def _rounds(spec: ModelSpec, params: Mapping[str, Any]) -> int:
    key = spec.rounds_parameter
    if key is None:
        return 0
    value = params.get(key, 0)
    return max(0, int(value)) if isinstance(value, int) else 0


def model_memory(spec: ModelSpec, params: Mapping[str, Any], n: int, m: int) -> int:
    """Working memory of one replicate of the model on ``n`` actors × ``m`` issues, without
    per-round records (what a Monte Carlo chunk needs per replicate)."""
    if spec.name == "condorcet":
        joint = params.get("space") == "joint"
        if params.get("voting") == "majority":
            return CONDORCET_TRIPLE * n**3 * (1 if joint else m) + CONDORCET_PAIR * n * n * m
        return CONDORCET_PAIR * n * n * m
    if spec.name in ("mean", "median"):
        return 0
    return EU_PAIR_WORK * m * n * n  # eu, and any multi-round model added later


def run_memory(spec: ModelSpec, params: Mapping[str, Any], n: int, m: int) -> int:
    """Estimated peak memory of one recorded run (``POST /api/run``), in bytes."""
    rounds = _rounds(spec, params)
    total = BASE + PER_CELL * n * m
    if spec.name == "smp":  # the fit's per-turn terms include the recorded positions
        total += rounds * (SMP_PER_ACTOR_TURN * n + SMP_PER_CELL_TURN * n * m)
        total += rounds * SMP_PER_PAIR_TURN * n * n
        return int(total)
    total += model_memory(spec, params, n, m)
    if spec.rounds_parameter is not None:
        total += PER_POSITION * (rounds + 1) * n * m
    if spec.name == "eu" and params.get("pairs"):
        total += EU_PAIR_RECORD * m * rounds * n * n
    elif spec.name not in ("eu", "mean", "median", "condorcet"):
        total += EU_PAIR_WORK * m * n * n * rounds  # unknown multi-round model: pairs per round
    return int(total)


def draw_bytes(scenario: Scenario | None, n: int, m: int) -> int:
    """Peak bytes per replicate of drawing the inputs (:func:`detente.sim.draws.draw`): every
    value once (``8 · (n + 2·n·m)``), the clipped capabilities, and the largest group of
    uncertain values of one distribution while it is drawn (the groups are drawn one after
    another). Without ``scenario``: every value drawn from a truncated normal, the dearest."""
    values = n + 2 * n * m
    total = 8 * values + 8 * n
    if scenario is None:
        return total + DRAW_EXTRA["normal"] * values
    counts = dict.fromkeys(DRAW_EXTRA, 0)
    for _, estimate in scenario.estimates():
        if estimate.uncertainty is not None:
            counts[estimate.uncertainty.dist] += 1
    return total + max(DRAW_EXTRA[kind] * count for kind, count in counts.items())


def monte_carlo_memory(
    spec: ModelSpec,
    params: Mapping[str, Any],
    n: int,
    m: int,
    draws: int,
    chunk: int,
    scenario: Scenario | None = None,
) -> int:
    """Estimated peak memory of a recorded Monte Carlo run (:func:`detente.web.work.
    monte_carlo`), in bytes: the larger of its phases, as :func:`detente.sim.montecarlo.
    monte_carlo` keeps things.

    * drawing one block of inputs (at most :data:`~detente.sim.montecarlo.INPUT_BLOCK`
      replicates; :func:`draw_bytes`, from ``scenario``'s distributions);
    * running its chunks of ``chunk`` replicates one after another: the block's inputs (and a
      copy of its saliences, checked for actors left without any), one chunk's model work
      (:func:`chunk_memory`), every forecast so far (8 bytes per draw and issue, twice while
      they are joined) and the per-round medians of the first
      :data:`~detente.sim.montecarlo.CENTRE_KEPT` replicates (with their copies: padding,
      joining, quantiles);
    * recording: every draw's forecast as JSON objects, their text and the store's copy.
    """
    from detente.sim.montecarlo import CENTRE_KEPT, INPUT_BLOCK

    rounds = _rounds(spec, params) + 1
    block = min(draws, INPUT_BLOCK)
    kept = min(draws, CENTRE_KEPT) * rounds * m
    drawing = block * draw_bytes(scenario, n, m)
    running = block * 8 * (n + 3 * n * m + n) + chunk_memory(spec, params, n, m, chunk)
    running += 2 * 8 * draws * m + MC_KEPT_COPIES * 8 * kept
    recording = draws * (MC_RECORD_PER_DRAW + MC_RECORD_PER_DRAW_ISSUE * m) + 8 * kept
    return int(BASE + PER_CELL * n * m + max(drawing, running, recording))


def compare_memory(estimates: Sequence[int], shocked: Sequence[int]) -> int:
    """A comparison keeps every model's baseline run and builds one shocked run at a time."""
    return int(sum(estimates) + (max(shocked) if shocked else 0))


def chunk_memory(spec: ModelSpec, params: Mapping[str, Any], n: int, m: int, chunk: int) -> int:
    """One chunk of ``chunk`` replicates' model work in a batch run (``ModelSpec.batch``),
    without the chunk's inputs: each model's largest arrays.

    * any model: copies of the chunk's inputs (weights, sorted positions) and its results;
    * eu: a game per replicate and issue, each with its positions, risks, securities and
      offers by round and actor, and one kernel chunk's pair arrays;
    * smp: every turn's positions of one call (a chunk is split so that no [replicate, actor,
      actor] array exceeds :data:`detente.models.smp_kernel.MAX_BATCH_ELEMENTS` elements) and
      its pair arrays;
    * exchange: one replicate's possible exchanges at a time (pairs of actors × pairs of
      issues, at most :data:`detente.models.exchange.MAX_CANDIDATES`; the compiled kernel's
      buffers are as large), and the chunk's voting positions by round with their per-round
      medians;
    * condorcet: :func:`model_memory` per replicate.
    """
    rounds = _rounds(spec, params) + 1
    chunk = max(1, chunk)
    work = CHUNK_INPUT_COPIES * 8 * chunk * (n + 2 * n * m) + 2 * 8 * chunk * rounds * m
    if spec.name == "eu":
        work += chunk * m * (EU_GAME_PER_ROUND_ACTOR * rounds * n + EU_GAME_PER_ROUND * rounds)
        work += EU_KERNEL_WORK
    elif spec.name == "smp":
        from detente.models.smp_kernel import MAX_BATCH_ELEMENTS

        rows = min(chunk, max(1, MAX_BATCH_ELEMENTS // (n * n)))
        work += rows * (SMP_PER_PAIR_CALL * n * n + SMP_PER_POSITION * rounds * n * m)
    elif spec.name == "exchange":
        from detente.models.exchange import MAX_CANDIDATES

        pairs = min(MAX_CANDIDATES, (n * (n - 1) // 2) * (m * (m - 1) // 2))
        work += EXCHANGE_PER_CANDIDATE * pairs + EXCHANGE_PER_POSITION * chunk * rounds * n * m
    else:
        work += chunk * model_memory(spec, params, n, m)
    return int(work)


def sensitivity_evaluations(method: str, samples: int, inputs: int) -> int:
    """Model evaluations of :func:`detente.sim.sensitivity.analyse`: sobol ``N·(D + 2)`` with
    ``N`` rounded up to a power of 2, morris ``N·(D + 1)``, for ``D`` varied inputs."""
    if method == "sobol":
        return (1 << max(0, samples - 1).bit_length()) * (inputs + 2)
    return samples * (inputs + 1)


def sensitivity_memory(
    spec: ModelSpec, params: Mapping[str, Any], n: int, m: int, inputs: int, evaluations: int
) -> int:
    """Estimated peak memory of a recorded sensitivity analysis, in bytes: SALib's sample
    (evaluations × inputs), the scenario's inputs for every evaluation (two copies of
    evaluations × (actors + 2 · actors × issues): the filled array and the batch's), every
    chunk's forecasts and centres by round (evaluations × rounds × issues) and one chunk of
    model work.

    Measured peak (above a warmed-up process) against estimated, MiB: median 100 actors × 10
    issues, sobol N = 8 (16,816 evaluations) 576 / 829; median 8 × 6, sobol N = 256 (27,136)
    51 / 83; eu 30 × 5, sobol N = 16 (5,312) 82 / 84; smp 20 × 4, morris N = 16 (2,896)
    217 / 288."""
    rounds = _rounds(spec, params)
    total = BASE + PER_CELL * n * m + chunk_memory(spec, params, n, m, spec.chunk)
    total += SENSITIVITY_PER_VALUE * evaluations * (inputs + 2 * (n + 2 * n * m))
    total += SENSITIVITY_PER_VALUE * evaluations * (rounds + 2) * m
    return int(total)
