"""The upload area: each uploaded file in a new folder with a generated name, kept for a while.

Files are saved as sent (under a sanitised copy of the client's name: readers take a
scenario's name from the file's), read by a worker process, and deleted when they do not
parse. A file that parses is kept for ``ttl`` seconds (0: deleted once read), and at most
``keep`` files are kept (the oldest go first); :meth:`UploadArea.sweep` removes what has
outlived its time, including what an earlier server left behind, and :meth:`UploadArea.close`
removes everything this server saved.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid
from pathlib import Path

_FOLDER = re.compile(r"^[0-9a-f]{32}$")


def display_name(filename: str) -> str:
    """The last part of a client's file name, printable, at most 100 characters."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[-100:] or "upload"


def safe_name(name: str) -> str:
    """``name`` with only letters, digits, spaces, dots, dashes and underscores, no leading dot."""
    safe = re.sub(r"[^\w .-]", "_", name).lstrip(". ")
    return safe or "upload"


class UploadArea:
    """Uploaded files under ``root`` (see the module docstring)."""

    def __init__(self, root: Path, ttl: float, keep: int) -> None:
        self.root = root.resolve()
        self.ttl, self.keep = ttl, keep
        self._lock = threading.Lock()
        self._mine: dict[Path, float] = {}  # folder -> when it was saved
        self._reading: set[Path] = set()  # saved, not yet read: never swept

    def save(self, shown: str, data: bytes) -> Path:
        """Write ``data`` to a new folder; the path of the file."""
        folder = self.root / uuid.uuid4().hex
        path = folder / safe_name(shown)
        if not path.resolve().is_relative_to(self.root):  # cannot happen: checked anyway
            raise ValueError(f"{shown}: not a usable file name")
        folder.mkdir(parents=True)
        with self._lock:
            self._mine[folder] = time.time()
            self._reading.add(folder)
        with path.open("xb") as fh:  # "x": never replace a file
            fh.write(data)
        return path

    def kept(self, path: Path) -> None:
        """``path`` parsed: keep it for the time-to-live (or not at all), within the count."""
        with self._lock:
            self._reading.discard(path.parent)
        if self.ttl <= 0:
            self.discard(path)
        self.sweep()

    def discard(self, path: Path) -> None:
        """Delete an uploaded file and its folder."""
        folder = path.parent
        if folder.parent != self.root or not _FOLDER.match(folder.name):
            return
        shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            self._mine.pop(folder, None)
            self._reading.discard(folder)

    def sweep(self, now: float | None = None) -> int:
        """Delete folders older than the time-to-live, then the oldest beyond the count."""
        now = time.time() if now is None else now
        with self._lock:
            reading = set(self._reading)
        try:
            folders = [
                p
                for p in self.root.iterdir()
                if p.is_dir() and _FOLDER.match(p.name) and p not in reading
            ]
        except OSError:
            return 0
        aged: list[tuple[float, Path]] = []
        for folder in folders:
            try:
                aged.append((folder.stat().st_mtime, folder))
            except OSError:
                continue
        aged.sort(reverse=True)  # newest first
        removed = 0
        for rank, (saved, folder) in enumerate(aged):
            if now - saved > self.ttl or rank >= self.keep:
                shutil.rmtree(folder, ignore_errors=True)
                with self._lock:
                    self._mine.pop(folder, None)
                removed += 1
        return removed

    def close(self) -> None:
        """Delete every file this server saved."""
        with self._lock:
            mine = list(self._mine)
            self._mine.clear()
            self._reading.clear()
        for folder in mine:
            shutil.rmtree(folder, ignore_errors=True)
