"""Helpers: slugs, number formats, decoding, atomic writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detente.errors import InputError
from detente.io.common import (
    atomic_write,
    decode_text,
    format_decimal,
    format_number,
    format_percent,
    ranges,
    slugify,
)


def test_slugify() -> None:
    assert slugify("Emission_Standards 2") == "emission-standards-2"
    assert slugify("  ") == "issue"
    assert slugify("a b c d e", max_words=2) == "a-b"
    assert len(slugify("word " * 40)) <= 80


def test_number_formats() -> None:
    assert format_number(100.0) == "100"
    assert format_number(0.1) == "0.1"
    assert format_number(1e-05) == "1e-05"
    assert format_decimal(1e-05) == "0.00001"
    assert format_decimal(1e20) == "100000000000000000000"
    assert format_decimal(-0.0) == "0"
    assert format_decimal(0.4953, 100) == "49.53"
    assert format_percent(0.6728000000000001) == "67.28"
    assert ranges([5, 3, 4, 9]) == "3–5, 9"


@settings(max_examples=60)
@given(st.floats(0.0, 1.0))
def test_format_percent_reads_back(s: float) -> None:
    text = format_percent(s)
    assert "e" not in text.lower()
    assert abs(float(text) / 100 - s) <= 1e-15


@settings(max_examples=60)
@given(st.integers(0, 10_000))
def test_format_percent_is_exact_for_decimal_inputs(hundredths: int) -> None:
    text = f"{hundredths // 100}.{hundredths % 100:02d}"
    s = float(text) / 100
    assert float(format_percent(s)) / 100 == s


def test_decode_text() -> None:
    assert decode_text(b"\xef\xbb\xbfa,b\n", "f") == "a,b\n"
    with pytest.raises(InputError, match="byte 0xe9 at byte offset 5") as info:
        decode_text(b"ab\ncd\xe9\n", "f")
    assert (info.value.row, info.value.row_kind) == (2, "line")


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("old content\n", encoding="utf-8")
    os.chmod(path, 0o640)

    def half(fh: BinaryIO) -> None:
        fh.write(b"new conte")
        raise RuntimeError("serializer broke")

    with pytest.raises(RuntimeError, match="serializer broke"):
        atomic_write(path, half)
    assert path.read_text(encoding="utf-8") == "old content\n"
    assert os.listdir(tmp_path) == ["s.yaml"]  # no temporary file left behind

    atomic_write(path, lambda fh: fh.write(b"new\n"))
    assert path.read_text(encoding="utf-8") == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # permissions kept


def test_atomic_write_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"folder .* not found"):
        atomic_write(tmp_path / "no" / "s.yaml", lambda fh: fh.write(b"x"))
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="it is a directory"):
        atomic_write(tmp_path / "d", lambda fh: fh.write(b"x"))
    assert sorted(os.listdir(tmp_path)) == ["d"]
