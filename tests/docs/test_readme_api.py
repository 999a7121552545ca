"""The README's "Python API" snippets run as they stand, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO


def _snippets() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Python API\n")
    end = text.index("\n## ", start + 1)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def test_the_python_api_section_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    snippets = _snippets()
    assert len(snippets) >= 4
    namespace: dict[str, object] = {}
    for code in snippets:
        exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "territory.png").stat().st_size > 0
