"""Where a number comes from: an anchor into a document, a citation, or a judgement."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Id = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
"""An identifier: 1-80 characters, no surrounding whitespace (actors, issues, shocks, concepts)."""

_SHA256 = r"^[0-9a-f]{64}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class Anchor(_Frozen):
    """A character span ``[start, end)`` of a document identified by the SHA-256 of its UTF-8 text.

    The span is read from the document at run time; the scenario never stores the quoted text.
    """

    kind: Literal["anchor"] = "anchor"
    document: Annotated[str, Field(pattern=_SHA256, description="SHA-256 of the UTF-8 text")]
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(gt=0)]
    file: str | None = Field(default=None, description="file name hint, e.g. the seed's name")
    note: str | None = Field(default=None, description="why the span supports the value")

    @model_validator(mode="after")
    def _ordered(self) -> Anchor:
        if self.end <= self.start:
            raise ValueError(f"anchor end ({self.end}) must be greater than start ({self.start})")
        return self


class Citation(_Frozen):
    """An external publication (dataset, table, report) with the figure it gives."""

    kind: Literal["citation"] = "citation"
    publication: Annotated[str, Field(min_length=1)]
    table: str | None = None
    year: int | None = None
    figure: str | None = Field(default=None, description="the cited figure, e.g. '109 bn USD'")
    url: str | None = None
    note: str | None = None


class Judgement(_Frozen):
    """An analyst's judgement with a one-line rationale."""

    kind: Literal["judgement"] = "judgement"
    rationale: Annotated[str, Field(min_length=1)]


Source = Annotated[Anchor | Citation | Judgement, Field(discriminator="kind")]
"""Any of the three kinds of source, told apart by ``kind``."""

SourceRef = str | Source
"""A source given inline, or the id of an entry of ``Scenario.sources``."""
