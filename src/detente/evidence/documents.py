"""Source documents, identified by the SHA-256 of their UTF-8 text."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from detente.errors import InputError


class EvidenceError(InputError):
    """A source that cannot be read: missing or changed document, span out of range, bad folder.

    A kind of :class:`~detente.errors.InputError`, so the command line reports it the same way:
    one line, exit code 2. ``str(error)`` names the estimate when known, e.g.
    ``russia.territory.position: document 'a.txt' has changed since the anchor was made
    (sha256 4141819a… expected, 0b7e2c55… found)``.
    """

    def __init__(
        self, reason: str, *, file: str | Path | None = None, where: str | None = None
    ) -> None:
        self.where = where  # set first: the base class formats the message at once
        super().__init__(file, reason)

    @property
    def message(self) -> str:
        context = ", ".join(str(part) for part in (self.file, self.where) if part)
        text = f"{context}: {self.expected}" if context else self.expected
        return " ".join(text.split())

    def at(self, where: str) -> EvidenceError:
        """The same error, naming the estimate (e.g. ``'usa.aid.position'``) it concerns."""
        return EvidenceError(self.expected, file=self.file, where=where)


def document_id(text: str) -> str:
    """The identifier of a document: the SHA-256 hex digest of its UTF-8 encoding.

    For a file read as UTF-8 without newline translation (as :class:`DocumentStore` reads it)
    this equals ``sha256sum`` of the file.

    Parameters
    ----------
    text : str
        The full text of the document.

    Returns
    -------
    str
        64 lower-case hexadecimal digits.

    Examples
    --------
    >>> document_id("abc")
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Document:
    """One source document: its id (content hash), file name and full text."""

    id: str
    name: str
    text: str
    path: Path | None = None

    @classmethod
    def from_text(cls, text: str, name: str, path: Path | None = None) -> Document:
        """A document whose id is computed from ``text``."""
        return cls(id=document_id(text), name=name, text=text, path=path)


class DocumentStore:
    """Source documents indexed by content hash, with their file names.

    Parameters
    ----------
    documents : iterable of Document
        The documents. When two have the same text, the first is kept under that id;
        both names stay known to :meth:`named`.
    skipped : iterable of str
        Warnings about files that were not read, kept in ``.skipped``.
    root : path, optional
        The folder the documents came from, named in error messages.

    Examples
    --------
    >>> store = DocumentStore.from_texts({"memo.txt": "Talks resume in May."})
    >>> doc = store.named("memo.txt")
    >>> doc.id == document_id("Talks resume in May.") and doc.id in store
    True
    """

    def __init__(
        self,
        documents: Iterable[Document] = (),
        *,
        skipped: Iterable[str] = (),
        root: str | Path | None = None,
    ) -> None:
        self._by_id: dict[str, Document] = {}
        self._by_name: dict[str, Document] = {}
        for doc in documents:
            self._by_id.setdefault(doc.id, doc)
            self._by_name.setdefault(doc.name, doc)
        self.skipped: tuple[str, ...] = tuple(skipped)
        self.root = Path(root) if root is not None else None

    @classmethod
    def from_dir(cls, path: str | Path) -> DocumentStore:
        """Read every regular file of a folder (not its sub-folders) as UTF-8 text.

        Files are read byte for byte (no newline translation), so character offsets and hashes
        refer to the file exactly as stored. Files that are not UTF-8 text (undecodable, or
        containing NUL bytes) or cannot be read are skipped, with a warning in ``.skipped``.

        Parameters
        ----------
        path : str or Path
            The folder.

        Returns
        -------
        DocumentStore

        Raises
        ------
        EvidenceError
            If ``path`` is not a folder.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = (pathlib.Path(folder) / "memo.txt").write_text("Talks resume.", "utf-8")
        ...     _ = (pathlib.Path(folder) / "scan.bin").write_bytes(b"\\xff\\xfe\\x00")
        ...     store = DocumentStore.from_dir(folder)
        >>> [doc.name for doc in store], store.skipped
        (['memo.txt'], ('scan.bin: not UTF-8 text (byte 0 cannot be decoded)',))
        """
        folder = Path(path)
        if not folder.is_dir():
            what = "does not exist" if not folder.exists() else "is not a folder"
            raise EvidenceError(f"the folder of source documents {what}", file=folder)
        documents: list[Document] = []
        skipped: list[str] = []
        for file in sorted(folder.iterdir()):
            if not file.is_file():
                continue
            try:
                data = file.read_bytes()
            except OSError as error:
                skipped.append(f"{file.name}: cannot be read ({error.strerror or error})")
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                reason = f"not UTF-8 text (byte {error.start} cannot be decoded)"
                skipped.append(f"{file.name}: {reason}")
                continue
            if "\x00" in text:
                skipped.append(f"{file.name}: not a text file (contains NUL bytes)")
                continue
            documents.append(Document.from_text(text, file.name, file))
        return cls(documents, skipped=skipped, root=folder)

    @classmethod
    def from_texts(cls, texts: Mapping[str, str]) -> DocumentStore:
        """A store of in-memory documents, given as ``{name: text}``."""
        return cls(Document.from_text(text, name) for name, text in texts.items())

    def get(self, doc_id: str) -> Document | None:
        """The document with this id (SHA-256), or ``None``."""
        return self._by_id.get(doc_id)

    def named(self, name: str) -> Document | None:
        """The document read from a file of this name (folders in ``name`` are ignored)."""
        return self._by_name.get(Path(name).name)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._by_id

    def __iter__(self) -> Iterator[Document]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        where = f", root={str(self.root)!r}" if self.root is not None else ""
        return f"DocumentStore({len(self)} documents{where})"
