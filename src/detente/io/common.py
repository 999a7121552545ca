"""File access, text decoding, slugs, number formatting and atomic writes for every format."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from detente.errors import InputError

UTF8_BOM = b"\xef\xbb\xbf"

# Ids of the scenario model: 1–80 characters, no white space at either end.
ID_MAX = 80
_ID_RE = re.compile(r"^\S(.*\S)?$")


MAX_INT_DIGITS = 4300
"""Integers read have at most this many digits: Python's default limit for turning them into
text (``sys.get_int_max_str_digits``), past which printing one fails."""

MAX_FILE_BYTES = 64 * 1024 * 1024
"""The largest input file read (64 MiB): hundreds of times any real scenario, and small
enough that no reader runs out of memory on it."""

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str | None:
    """What a non-regular file is (``None`` for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def _open_for_reading(path: Path) -> int:
    # O_NONBLOCK: a FIFO put in the file's place after the check below must not block open().
    return os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))


def _refuse(path: Path, mode: int, size: int) -> None:
    kind = _kind(mode)
    if kind == "a directory":
        raise InputError(path, "expected a file, got a directory")
    if kind is not None:
        raise InputError(path, f"expected a regular file, got {kind}")
    if size > MAX_FILE_BYTES:
        raise InputError(
            path,
            f"expected a file of at most {MAX_FILE_BYTES // 2**20} MiB, got {size:,} bytes",
        )


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable, non-regular or too large file
    (:data:`MAX_FILE_BYTES`) is an ``InputError``, raised before anything is read."""
    try:
        info = os.stat(path)
        _refuse(path, info.st_mode, info.st_size)
        fd = _open_for_reading(path)
        try:
            info = os.fstat(fd)  # the file opened may not be the one checked
            _refuse(path, info.st_mode, info.st_size)
            data = bytearray()
            while len(data) <= MAX_FILE_BYTES:  # a file may grow, or (/proc) report size 0
                chunk = os.read(fd, min(1 << 20, MAX_FILE_BYTES + 1 - len(data)))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
        if len(data) > MAX_FILE_BYTES:
            raise InputError(
                path, f"expected a file of at most {MAX_FILE_BYTES // 2**20} MiB, got more"
            )
        return bytes(data)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except PermissionError:
        raise InputError(path, "cannot read the file: permission denied") from None
    except IsADirectoryError:
        raise InputError(path, "expected a file, got a directory") from None
    except OSError as exc:
        raise InputError(path, f"cannot read the file: {exc.strerror or exc}") from None
    except ValueError:  # e.g. a NUL character in the name
        raise InputError(path, "expected a file name without control characters") from None


def decode_text(data: bytes, file: str | Path) -> str:
    """UTF-8 text without a byte-order mark; bad bytes and empty files are ``InputError``."""
    offset = 0
    if data.startswith(UTF8_BOM):
        offset = len(UTF8_BOM)
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = exc.start + offset
        line = data.count(b"\n", 0, at) + 1
        raise InputError(
            file,
            f"expected UTF-8 text, but byte 0x{data[at]:02x} at byte offset {at} is not valid"
            " UTF-8 (save the file as UTF-8)",
            row=line,
            row_kind="line",
        ) from None
    if not text.strip():
        raise InputError(file, "expected a scenario, got an empty file")
    return text


def is_id(text: str) -> bool:
    """Whether ``text`` is a valid id of the scenario model."""
    return 0 < len(text) <= ID_MAX and _ID_RE.match(text) is not None


def slugify(text: str, *, fallback: str = "issue", max_words: int | None = None) -> str:
    """Lower-case words joined by ``-``: ``"Emission_Standards 2"`` → ``"emission-standards-2"``."""
    words = [w for w in re.split(r"[\W_]+", text.casefold()) if w]
    if max_words is not None:
        words = words[:max_words]
    slug = "-".join(words)
    while len(slug) > ID_MAX:
        slug = slug.rsplit("-", 1)[0] if "-" in slug else slug[:ID_MAX]
    return slug or fallback


def unique_id(base: str, taken: set[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever is not in ``taken``."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def format_number(x: float) -> str:
    """Shortest text that reads back as exactly ``x``: ``100.0`` → ``100``, ``0.25`` → ``0.25``."""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def format_decimal(x: float, scale: int = 1) -> str:
    """``x × scale`` in plain decimal notation (no exponent), from the shortest repr of ``x``.

    Scaling the decimal text (not the float) keeps ``0.4953 × 100`` as ``49.53``.
    """
    d = Decimal(repr(float(x))) * scale
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def format_percent(fraction: float) -> str:
    """``fraction × 100`` as plain decimal text that reads back exactly after ``/ 100``.

    KTAB stores saliences as percentages and detente divides them by 100 on reading, so the
    shortest text ``t`` with ``float(t) / 100 == fraction`` is chosen (``0.6728000000000001``
    → ``67.28``); when no such text exists the exact decimal product is written.
    """
    for digits in range(1, 18):
        text = format_decimal(float(f"{fraction * 100:.{digits}g}"))
        if float(text) / 100 == fraction:
            return text
    return format_decimal(fraction, 100)


def ranges(numbers: list[int]) -> str:
    """``[3, 4, 5, 9]`` → ``"3–5, 9"`` for notes naming rows."""
    parts: list[str] = []
    nums = sorted(set(numbers))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}–{nums[j]}")
        i = j + 1
    return ", ".join(parts)


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a file so that it is either wholly replaced or left untouched.

    ``write`` fills a temporary file in the same folder, which then replaces ``path`` in one
    ``os.replace``; if anything fails the temporary file is removed and ``path`` keeps its old
    content. The new file gets the old file's permissions, or the usual ones (umask applied).
    """
    folder = path.parent
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        # O_EXCL with mode 0o666 lets the kernel apply the umask, as for any new file.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:
        raise InputError(path, f"cannot write the file: folder {str(folder)!r} not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot write the file: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileNotFoundError):  # a new file keeps the umask's mode
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            if path.is_dir():
                raise InputError(path, "cannot write the file: it is a directory") from None
            raise InputError(path, f"cannot write the file: {exc.strerror or exc}") from None
        raise
