"""libyaml's parser and emitter (the fast path) against PyYAML's pure-Python ones (the
reference): the same scenarios, the same errors, byte-identical YAML text."""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from detente.errors import InputError
from detente.io import yaml_io
from tests.io.strategies import YAML_TOKENS, YAML_VALUES, mutate, scenarios
from tests.io.test_malformed import SEED_YAML

pytestmark = pytest.mark.skipif(
    yaml_io._CLoader is None or yaml_io._CDumper is None,
    reason="PyYAML was built without libyaml: only the pure-Python path exists",
)

TOP = "a mapping with name, issues and actors at the top"


def _builtin() -> bytes:
    return (resources.files("detente") / "data" / "ukraine-talks.yaml").read_bytes()


def _read(data: bytes, *, pure: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The scenario, or the error's message, as one path reads ``data``."""
    with monkeypatch.context() as m:
        if pure:
            m.setenv(yaml_io.PURE_YAML_ENV, "1")
        else:
            m.delenv(yaml_io.PURE_YAML_ENV, raising=False)
        try:
            return yaml_io.read_yaml("s.yaml", data)
        except InputError as exc:
            return f"error: {exc}"


def _write(data: Any, *, pure: bool, monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as m:
        m.setenv(yaml_io.PURE_YAML_ENV, "1" if pure else "0")
        return yaml_io.write_yaml(data, "s.yaml")


def test_the_fast_path_is_taken_for_a_valid_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid scenario goes through libyaml alone: the pure-Python parser never starts."""
    monkeypatch.delenv(yaml_io.PURE_YAML_ENV, raising=False)

    def refuse(*args: object) -> None:
        raise AssertionError("the pure-Python loader ran")

    monkeypatch.setattr(yaml_io._Loader, "__init__", refuse)
    assert yaml_io.read_yaml("u.yaml", _builtin()).name == "ukraine-talks"


@pytest.mark.parametrize("seed", ["builtin", "small"])
def test_both_paths_read_mutants_alike(seed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutants of valid files (the hostile-input corpus): the same scenario or the same error
    message, line and field included, from either path."""
    original = _builtin() if seed == "builtin" else SEED_YAML
    count = 60 if seed == "builtin" else 400
    differ = []
    for k in range(count):
        data = mutate(original, random.Random(f"fast-{seed}-{k}"), YAML_TOKENS, YAML_VALUES)
        fast = _read(data, pure=False, monkeypatch=monkeypatch)
        pure = _read(data, pure=True, monkeypatch=monkeypatch)
        if fast != pure:
            differ.append(f"mutant {k}: {fast!r:.200} != {pure!r:.200}")
    assert not differ, "\n".join(differ[:5])


def test_validation_errors_keep_the_reference_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _builtin().decode().replace("capability: {value: 100.0", "capability: {value: -3", 1)
    fast = _read(text.encode(), pure=False, monkeypatch=monkeypatch)
    assert fast == _read(text.encode(), pure=True, monkeypatch=monkeypatch)
    assert isinstance(fast, str)
    assert "capability" in fast


def _empty_parameter_key() -> Any:
    from detente.scenario import Scenario

    sc = Scenario.model_validate(
        {
            "name": "0",
            "issues": [{"id": "0", "scale": {"min": 0, "max": 1}}],
            "actors": [{"id": "0", "capability": 1, "stances": {}}],
            "parameters": {"0": {"": None}},
        }
    )
    return sc


@settings(max_examples=60, deadline=None)
@given(scenario=scenarios())
@example(scenario=_empty_parameter_key())  # libyaml writes an empty key as "? ''"
def test_both_emitters_write_the_same_bytes(scenario: Any) -> None:
    mp = pytest.MonkeyPatch()
    try:
        fast = _write(scenario, pure=False, monkeypatch=mp)
        assert fast == _write(scenario, pure=True, monkeypatch=mp)
        assert yaml_io.read_yaml("w.yaml", fast) == scenario
    finally:
        mp.undo()


# Strings that stress the emitters' choice of style: breaks of every kind, quotes, leading and
# trailing spaces, non-ASCII and characters YAML must escape.
_AWKWARD = st.text(
    st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from(list("\n\r\t \x85\u2028\u2029\ufeff'\"#:-?,[]{}&*!|>%@`\\")),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_AWKWARD, min_size=1, max_size=4))
def test_libyaml_text_without_double_quotes_is_the_reference_text(values: list[str]) -> None:
    """The rule :func:`write_yaml` relies on: where libyaml writes no double quote, PyYAML
    writes the same text (they differ in folding double-quoted text and in escapes)."""
    data: dict[str, Any] = {"name": values[0], "texts": values}
    data["nested"] = {v[:20] or "k": v for v in values}
    if yaml_io._short_keys({values[-1] + "x": 0}):
        data["nested"][values[-1] + "x"] = values
    options: dict[str, Any] = {
        "sort_keys": False,
        "allow_unicode": True,
        "default_flow_style": False,
        "width": 100,
    }
    assert yaml_io._CDumper is not None
    fast = yaml.dump(data, Dumper=yaml_io._CDumper, **options)
    if '"' not in fast:  # the rule of write_yaml
        assert fast == yaml.dump(data, Dumper=yaml_io._Dumper, **options)


@pytest.mark.parametrize(
    "text",
    ["a\x07b", "astral \U0001f600 here", "tab\there and a long line " * 8, "x\n  y", "q'uote"],
)
def test_awkward_descriptions_are_written_as_the_reference_writes_them(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = yaml_io.read_yaml("u.yaml", _builtin())
    changed = scenario.model_copy(update={"description": text})
    fast = _write(changed, pure=False, monkeypatch=monkeypatch)
    assert fast == _write(changed, pure=True, monkeypatch=monkeypatch)
    assert yaml_io.read_yaml("w.yaml", fast) == changed


def test_the_pure_switch_is_read_at_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``DETENTE_PURE_YAML=1`` takes libyaml out of both directions, for comparisons."""
    scenario = yaml_io.read_yaml("u.yaml", _builtin())
    monkeypatch.setenv(yaml_io.PURE_YAML_ENV, "1")
    calls: list[str] = []
    real = yaml_io._CLoader
    assert real is not None

    def spy(text: str) -> Any:
        calls.append("c")
        return real(text)

    monkeypatch.setattr(yaml_io, "_CLoader", spy)
    yaml_io.read_yaml("u.yaml", _builtin())
    assert calls == []
    monkeypatch.setenv(yaml_io.PURE_YAML_ENV, "0")
    assert yaml_io.read_yaml("u.yaml", _builtin()) == scenario
    assert calls == ["c"]
