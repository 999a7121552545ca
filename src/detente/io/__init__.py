"""Reading and writing scenarios: YAML, analyst CSV and XLSX tables, KTAB's CSV and XML.

>>> loaded = load("talks.csv")            # doctest: +SKIP
>>> loaded.scenario, loaded.notes          # doctest: +SKIP
>>> save(loaded.scenario, "talks.yaml")    # doctest: +SKIP

Every reader raises only :class:`detente.errors.InputError` for bad input, naming the file,
the row or line, the column or field, what was expected and what was found. ``notes`` are
the interpretations a user must see (a scale divided by 100, a column ignored, ...).

Formats: ``yaml`` (.yaml, .yml), ``csv`` (analyst table, see :mod:`detente.io.table`),
``ktab-csv`` (a .csv whose title line declares actor and dimension counts), ``ktab-xml``
(.xml), ``xlsx`` (.xlsx), ``decide`` (a .csv, .tsv or .txt of the decide-exchange-model
program's ``#A``/``#P``/``#M``/``#D`` rows, see :mod:`detente.io.decide`). Writes are atomic:
a failed save leaves the old file as it was.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module, resources
from importlib.resources.abc import Traversable
from pathlib import Path

from detente.errors import InputError
from detente.io.common import atomic_write, decode_text, read_bytes
from detente.io.yaml_io import read_shocks, read_yaml
from detente.scenario import Scenario

# The table, KTAB, XLSX and decide readers load when a file of theirs is read (start-up).

__all__ = [
    "FORMATS",
    "Loaded",
    "builtin_names",
    "load",
    "load_builtin",
    "load_default",
    "read",
    "resolve",
    "save",
    "with_shocks",
]

FORMATS = ("yaml", "csv", "ktab-csv", "ktab-xml", "xlsx", "decide")
"""The format names ``load`` and ``save`` accept."""

DEFAULT_SCENARIO = "ukraine-talks"

_BY_SUFFIX = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xml": "ktab-xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
_SUFFIXES = ", ".join(sorted(_BY_SUFFIX))


@dataclass(frozen=True)
class Loaded:
    """A scenario as read, the format it was read as, and the notes on its interpretation."""

    scenario: Scenario
    format: str
    notes: tuple[str, ...] = ()


def _format_for(path: Path, format: str | None) -> str:
    if format is not None:
        if format not in FORMATS:
            raise InputError(path, f"expected a format among {', '.join(FORMATS)}", found=format)
        return format
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise InputError(path, "expected an .xlsx workbook; save this old-style .xls file as .xlsx")
    fmt = _BY_SUFFIX.get(suffix)
    if fmt is None:
        raise InputError(
            path,
            f"expected a file name ending in one of {_SUFFIXES} (or give the format)",
            found=suffix or "no extension",
        )
    return fmt


def load(
    path: str | Path,
    *,
    format: str | None = None,
    sheet: str | None = None,
    issue: str | None = None,
    scale: str | None = None,
) -> Loaded:
    """Read a scenario file.

    Parameters
    ----------
    path
        The file.
    format
        One of :data:`FORMATS`; by default from the extension, and for ``.csv`` from the
        content (a KTAB title line makes it ``ktab-csv``).
    sheet
        XLSX only: the sheet to read (default: the first holding a recognisable table).
    issue
        CSV and XLSX only: the issue id of a one-issue table (default: from the file or
        sheet name, or the title above the table).
    scale
        CSV and XLSX only: ``"MIN:MAX"``, the scale of every issue's positions (default:
        0–100, or the positions' range where some lie outside it, with a note).

    Returns
    -------
    Loaded
        The scenario, the format read and the notes on how it was interpreted.

    Raises
    ------
    InputError
        For anything wrong with the file, naming where and what.
    """
    p = Path(path)
    data = read_bytes(p)
    fmt = _format_for(p, format)
    if sheet is not None and fmt != "xlsx":
        raise InputError(p, f"expected no sheet for a {fmt} file (sheets exist in .xlsx only)")
    if issue is not None and fmt not in ("csv", "xlsx"):
        raise InputError(p, f"expected no issue= for a {fmt} file (it names its issues)")
    bounds = parse_scale(scale) if scale is not None else None
    if bounds is not None and fmt not in ("csv", "xlsx"):
        raise InputError(p, f"expected no --scale for a {fmt} file (it gives its scales)")
    notes: list[str] = []
    if fmt == "yaml":
        scenario = read_yaml(p, data)
    elif fmt == "ktab-xml":
        from detente.io.ktab import read_ktab_xml

        scenario, notes = read_ktab_xml(p, data)
    elif fmt == "xlsx":
        from detente.io.xlsx import read_xlsx

        scenario, notes = read_xlsx(p, data, sheet=sheet, issue=issue, scale=bounds)
    else:
        from detente.io.csv_io import parse_csv, read_csv
        from detente.io.decide import looks_like_decide, read_decide
        from detente.io.ktab import looks_like_ktab_csv, read_ktab_csv

        text = decode_text(data, p)
        if format is None and looks_like_decide(text) and not _ktab_title(text, str(p)):
            fmt = "decide"
        if fmt == "decide":
            if issue is not None or bounds is not None:
                raise InputError(p, "expected no issue= or --scale for a decide file (#P, #M)")
            scenario, notes = read_decide(p, text)
            return Loaded(scenario, fmt, tuple(notes))
        if format is None and looks_like_ktab_csv(parse_csv(text, str(p))[:8]):
            fmt = "ktab-csv"
            if issue is not None:
                raise InputError(p, "expected no issue= for a KTAB CSV file (it names its issues)")
        if fmt == "ktab-csv":
            if bounds is not None:
                raise InputError(p, "expected no --scale for a KTAB CSV file (it is on 0–100)")
            scenario, notes = read_ktab_csv(p, text)
        else:
            scenario, notes = read_csv(p, text, issue=issue, scale=bounds)
    return Loaded(scenario, fmt, tuple(notes))


def parse_scale(text: str) -> tuple[float, float]:
    """``"MIN:MAX"`` (e.g. ``0:10``, ``-5:5``) as two finite numbers, MIN < MAX; else an
    ``InputError``."""
    lo_text, sep, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text)
    except ValueError:
        lo = hi = math.nan
    if not sep or not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(None, "expected --scale MIN:MAX with MIN < MAX, e.g. 0:10", found=text)
    return lo, hi


def _ktab_title(text: str, file: str) -> bool:
    """Whether ``text`` opens with a KTAB CSV title line, whose first cell (the scenario's
    name) may itself look like a decide row kind such as ``#A``."""
    from detente.io.csv_io import parse_csv
    from detente.io.ktab import looks_like_ktab_csv

    try:
        return looks_like_ktab_csv(parse_csv(text, file)[:8])
    except InputError:
        return False


def read(path: str | Path, **kw: str | None) -> Scenario:
    """The scenario of :func:`load` (same arguments), without the notes."""
    return load(path, **kw).scenario


def with_shocks(scenario: Scenario, path: str | Path) -> Scenario:
    """``scenario`` with the shocks of the YAML shock file at ``path`` added (see
    :func:`detente.io.yaml_io.read_shocks`); any problem is an ``InputError``."""
    p = Path(path)
    return read_shocks(p, read_bytes(p), scenario)


_WRITERS = {
    "yaml": ("detente.io.yaml_io", "write_yaml"),
    "csv": ("detente.io.csv_io", "write_csv"),
    "ktab-csv": ("detente.io.ktab", "write_ktab_csv"),
    "ktab-xml": ("detente.io.ktab", "write_ktab_xml"),
    "xlsx": ("detente.io.xlsx", "write_xlsx"),
    "decide": ("detente.io.decide", "write_decide"),
}
"""Each format's writer ``(scenario, file name) -> bytes``: module and function."""


def _writer(fmt: str) -> Callable[[Scenario, str], bytes]:
    module, name = _WRITERS[fmt]
    writer: Callable[[Scenario, str], bytes] = getattr(import_module(module), name)
    return writer


def save(scenario: Scenario, path: str | Path, *, format: str | None = None) -> None:
    """Write a scenario; the format comes from the extension unless given.

    ``.csv`` writes the long analyst form (give ``format="ktab-csv"`` for KTAB's CSV);
    ``.xml`` writes KTAB's XML. The file is replaced atomically: if anything fails, an
    existing file keeps its content.

    Raises
    ------
    InputError
        When the format cannot hold the scenario (e.g. KTAB needs 0–100 scales) or the file
        cannot be written.
    """
    p = Path(path)
    fmt = _format_for(p, format)
    data = _writer(fmt)(scenario, str(p))
    atomic_write(p, lambda fh: fh.write(data))


# -- built-in scenarios ---------------------------------------------------------------

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _data_dir() -> Traversable:
    return resources.files("detente").joinpath("data")


def builtin_names() -> list[str]:
    """The names of the scenarios shipped with detente, sorted."""
    folder = _data_dir()
    if not folder.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml") and entry.is_file()
    )


def load_builtin(name: str) -> Loaded:
    """A scenario shipped with detente, by name (see :func:`builtin_names`).

    Raises
    ------
    InputError
        ``unknown scenario 'x' (built-in scenarios: ...)`` for a name not shipped.
    """
    names = builtin_names()
    if name not in names or not _NAME_RE.match(name):
        raise InputError(
            None,
            f"unknown scenario {name!r} (built-in scenarios: {', '.join(names) or 'none'})",
        )
    entry = _data_dir().joinpath(f"{name}.yaml")
    return Loaded(read_yaml(f"detente/data/{name}.yaml", entry.read_bytes()), "yaml", ())


def load_default() -> Scenario:
    """The default scenario, ``ukraine-talks``."""
    return load_builtin(DEFAULT_SCENARIO).scenario


def resolve(name_or_path: str | Path, **kw: str | None) -> Loaded:
    """A built-in scenario when ``name_or_path`` names one and no such file exists, else a file.

    A bare word that is neither raises ``unknown scenario ...``; anything that looks like a
    path (a folder part or an extension) is read as a file, so a typo there says "file not
    found".
    """
    text = str(name_or_path)
    path = Path(text)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long or with a NUL: load() will say so
        exists = True
    if exists:
        return load(path, **kw)
    if text in builtin_names():
        # Built-ins are YAML: format="yaml" is harmless, anything else a mistake.
        given = ", ".join(
            k for k, v in kw.items() if v is not None and (k, v) != ("format", "yaml")
        )
        if given:
            raise InputError(None, f"expected no {given} for built-in scenario {text!r}")
        return load_builtin(text)
    if path.suffix or len(path.parts) > 1:
        return load(path, **kw)
    return load_builtin(text)


def target_format(path: str | Path, format: str | None = None) -> str:
    """The format :func:`save` writes ``path`` in."""
    return _format_for(Path(path), format)


def losses(scenario: Scenario, fmt: str) -> list[str]:
    """What of ``scenario`` a file of format ``fmt`` cannot hold, in words (empty for YAML).

    Examples
    --------
    >>> losses(load_default(), "csv")[:2]
    ['6 issue labels', '6 issue descriptions']
    >>> losses(load_default(), "yaml")
    []
    """
    if fmt == "yaml":
        return []
    sc = scenario
    table = fmt in ("csv", "xlsx")
    ktab = fmt.startswith("ktab")
    texts = fmt != "decide"  # the decide format keeps issue names, comments and #M labels
    out: list[tuple[int, str]] = [
        (sum(1 for i in sc.issues if i.label) if texts else 0, "issue labels"),
        (sum(1 for i in sc.issues if i.description) if texts else 0, "issue descriptions"),
        (
            sum(
                (i.scale.min_label is not None) + (i.scale.max_label is not None) for i in sc.issues
            )
            if texts
            else 0,
            "scale-end meanings (what an issue's 0 and 100 stand for)",
        ),
        (
            sum(1 for i in sc.issues if i.scale.min != 0.0 or i.scale.max != 100.0) if table else 0,
            "scale ends other than 0–100 (read back from the positions' range)",
        ),
        (sum(1 for _, e in sc.estimates() if e.source is not None), "value sources"),
        (len(sc.sources), "source entries"),
        (sum(1 for _, e in sc.estimates() if e.uncertainty is not None), "uncertainties"),
        (sum(1 for i in sc.issues if i.reference is not None), "issue reference points"),
        (len(sc.shocks), "shocks"),
        (len(sc.thresholds), "thresholds"),
        (1 if sc.description else 0, "scenario description"),
        (
            sum(1 for a in sc.actors if a.risk is not None) if ktab or not texts else 0,
            "actor risk attitudes",
        ),
        (sum(1 for a in sc.actors if a.label and a.description) if ktab else 0, "actor labels"),
    ]
    other = [m for m in sc.parameters if not (fmt == "ktab-xml" and m == "smp")]
    out.append((len(other), "model parameter sets"))
    if table or fmt in ("ktab-csv", "decide"):
        out.append((1 if sc.seed is not None else 0, "seed"))
    return [f"{n} {what}" if n != 1 else f"1 {what.removesuffix('s')}" for n, what in out if n]
