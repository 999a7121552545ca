"""A recorded run as a file: JSON (the whole record), CSV (a tidy table of its results) or XLSX.

The CSV columns depend on the kind of run:

* ``run``: ``model, issue, forecast`` — each model's forecast of each issue.
* ``mc``: ``issue, median, q05, q95`` — the statistics of each issue's forecast over the draws
  (the columns after ``issue`` are those of the payload's ``issues`` entries, in its order).
* ``compare`` and ``shock``: ``shock, model, issue, baseline, shocked, delta, method, explained,
  pivot_before, pivot_after`` — one row per shock (``shock``: the shocks joined by ``+``),
  model and issue.
* ``sensitivity``: ``issue, rank, input`` and the method's indices (sobol: ``S1, S1_conf, ST,
  ST_conf``; morris: ``mu, mu_star, mu_star_conf, sigma``), inputs in rank order.

Empty cells stand for null (no forecast). CSV numbers are written in full (``repr``); the
workbook's to the 16 significant digits that openpyxl writes.

The XLSX workbook has the sheets ``run`` (the record's fields), ``results`` (the CSV table),
``scenario`` (actors × issues: capability, then position and salience on each issue) and
``yaml`` (the scenario file, one line per row).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any, Literal

from detente.store.record import RunRecord

ExportFormat = Literal["csv", "json", "xlsx"]


def export_record(record: RunRecord, fmt: ExportFormat) -> bytes:
    """``record`` as the bytes of a ``fmt`` file."""
    if fmt == "json":
        return to_json(record)
    if fmt == "csv":
        return to_csv(record)
    if fmt == "xlsx":
        return to_xlsx(record)
    raise ValueError(f"unknown export format {fmt!r} (known: csv, json, xlsx)")


def to_json(record: RunRecord) -> bytes:
    """The whole record (as ``detente runs show ID --format json`` prints it)."""
    text = json.dumps(record.model_dump(mode="json"), indent=1, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def to_csv(record: RunRecord) -> bytes:
    """The tidy table of :func:`results_table`."""
    columns, rows = results_table(record)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_csv_cell(x) for x in row] for row in rows)
    return buf.getvalue().encode("utf-8")


def results_table(record: RunRecord) -> tuple[list[str], list[list[Any]]]:
    """The run's results as one tidy table: column names and rows (``None``: no value).

    >>> from datetime import UTC, datetime
    >>> rec = RunRecord(id=1, kind="run", created_at=datetime.now(UTC), scenario_name="s",
    ...     scenario_hash="", models=["mean"], seed=0, version="", scenario_yaml="", params={},
    ...     results={"model": "mean", "forecast": {"a": 40.0, "b": None}})
    >>> results_table(rec)
    (['model', 'issue', 'forecast'], [['mean', 'a', 40.0], ['mean', 'b', None]])
    """
    res = record.results
    if record.kind == "run":
        objs = res if isinstance(res, list) else [res]
        return ["model", "issue", "forecast"], [
            [o.get("model"), issue, value] for o in objs for issue, value in o["forecast"].items()
        ]
    if record.kind == "mc":
        stats = _keys(res["issues"].values(), skip=())
        return ["issue", *stats], [
            [issue, *(entry.get(s) for s in stats)] for issue, entry in res["issues"].items()
        ]
    if record.kind in ("compare", "shock"):
        cols = ["baseline", "shocked", "delta", "method", "explained", "pivot_before"]
        cols.append("pivot_after")
        return ["shock", "model", "issue", *cols], [
            [r["shock"], r["model"], c["issue"], *(c.get(k) for k in cols)]
            for r in res["results"]
            for c in r["issues"]
        ]
    if record.kind == "sensitivity":
        entries = [e for ranked in res["issues"].values() for e in ranked]
        metrics = _keys(entries, skip=("input",))
        return ["issue", "rank", "input", *metrics], [
            [issue, rank, e["input"], *(e.get(m) for m in metrics)]
            for issue, ranked in res["issues"].items()
            for rank, e in enumerate(ranked, start=1)
        ]
    raise ValueError(f"unknown run kind {record.kind!r}")


def _keys(entries: Iterable[dict[str, Any]], skip: tuple[str, ...]) -> list[str]:
    """Every key of ``entries`` but ``skip``, in order of first appearance."""
    return list(dict.fromkeys(k for e in entries for k in e if k not in skip))


def _csv_cell(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return repr(x)
    return str(x)


def to_xlsx(record: RunRecord) -> bytes:
    """A workbook: ``run``, ``results``, ``scenario`` and ``yaml`` sheets."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    bold = Font(bold=True)

    meta = book.active
    meta.title = "run"
    _put(meta, ["field", "value"], bold)
    for key, value in (
        ("id", record.id),
        ("kind", record.kind),
        ("created_at", record.created_at.isoformat()),
        ("scenario", record.scenario_name),
        ("scenario_hash", record.scenario_hash),
        ("models", ", ".join(record.models)),
        ("seed", record.seed),
        ("version", record.version),
        ("params", json.dumps(record.params, ensure_ascii=False)),
    ):
        _put(meta, [key, value])

    columns, rows = results_table(record)
    results = book.create_sheet("results")
    _put(results, columns, bold)
    for row in rows:
        _put(results, row)

    grid = book.create_sheet("scenario")
    for i, row in enumerate(_scenario_grid(record)):
        _put(grid, row, bold if i == 0 else None)

    lines = book.create_sheet("yaml")
    for line in record.scenario_yaml.splitlines():
        _put(lines, [line])

    for sheet in book.worksheets:
        sheet.freeze_panes = "A2" if sheet.title != "yaml" else None
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _scenario_grid(record: RunRecord) -> list[list[Any]]:
    """Actors × issues, or a one-cell note when the stored YAML no longer reads."""
    from detente.errors import InputError
    from detente.io.yaml_io import read_yaml

    try:
        sc = read_yaml(f"<run {record.id}>", record.scenario_yaml.encode("utf-8"))
    except InputError as exc:
        return [[f"the scenario could not be read: {exc} (see the yaml sheet)"]]
    head: list[Any] = ["actor", "label", "capability"]
    for issue in sc.issues:
        head += [f"{issue.id} position", f"{issue.id} salience"]
    out = [head]
    for actor in sc.actors:
        row: list[Any] = [actor.id, actor.title, actor.capability.value]
        for issue in sc.issues:
            stance = actor.stances.get(issue.id)
            row += (
                [None, None] if stance is None else [stance.position.value, stance.salience.value]
            )
        out.append(row)
    return out


def _put(sheet: Any, values: list[Any], font: Any = None) -> None:
    """Append a row; text is always text (a label starting with '=' never becomes a formula)."""
    sheet.append(values)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
        if font is not None:
            cell.font = font
