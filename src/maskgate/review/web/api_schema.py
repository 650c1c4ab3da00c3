"""The reviewer screen's JSON API on the wire: what static/review.js posts and what it reads back.

Request models check only what can be checked before the item is known, and only in the words
the handlers have always used (``deps.json_model`` turns the first problem into a 400 with that
sentence). Decoding a mask needs the item's size, and the answers need the questions shown for that
item, so both stay with the route and ``questionnaire.parse_answer``; the answer fields are
therefore typed ``Any`` here rather than checked twice with different messages.

Response fields copied from a ``maskgate check`` record (criteria, notes) are ``Any`` too: they are
passed through as the record has them, never coerced.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from maskgate.review.questionnaire import Question

PNG_DATA_URL = "data:image/png;base64,"


def _png_data_url(value: Any, info: ValidationInfo) -> Any:
    if value is None or (isinstance(value, str) and value.startswith(PNG_DATA_URL)):
        return value
    raise PydanticCustomError("png_data_url", "'{key}' must be a PNG data URL", {"key": info.field_name})


# A canvas exported with toDataURL("image/png"); decoded by the route, at the item's size.
PngDataUrl = Annotated[str, BeforeValidator(_png_data_url)]
OptionalPngDataUrl = Annotated[str | None, BeforeValidator(_png_data_url)]


class SubmitIn(BaseModel):
    """An answered questionnaire, with the corrected mask when the reviewer has one."""

    mask: OptionalPngDataUrl = None
    answers: Any = None  # question key -> true/false, checked by questionnaire.parse_answer
    note: Any = None
    seconds: Any = None  # time on the task as the browser measured it; dropped when implausible


class RefineIn(BaseModel):
    """The mask to refine with GrabCut, and optional painted hints (sure product / sure not)."""

    mask: PngDataUrl
    fg: OptionalPngDataUrl = None
    bg: OptionalPngDataUrl = None

    @model_validator(mode="before")
    @classmethod
    def _mask_given(cls, data: Any) -> Any:
        # Before the fields, so a missing mask is the problem reported even when a hint is bad too.
        if isinstance(data, dict) and data.get("mask") is None:
            raise PydanticCustomError("png_data_url", "'mask' (a PNG data URL) is required")
        return data


class Criterion(BaseModel):
    pass_: Any = Field(serialization_alias="pass")
    score: Any


class ItemOut(BaseModel):
    id: str
    kind: str | None
    verdict: str | None
    score: float | None
    width: int | None
    height: int | None
    has_background: bool
    original: str  # URLs, all of them same-origin
    edited: str
    evidence: dict[str, str]  # evidence name -> image URL (heatmaps as see-through overlays)
    premask: str | None
    criteria: dict[str, Criterion]
    notes: Any
    # the criteria that sent the pair to a person, with their scores and evidence image names
    doubtful: list[dict[str, Any]] = []
    model_version: str | None = None  # which model judged it (None: the packaged calibration)


class ProgressOut(BaseModel):
    n: int  # this task's number for the reviewer
    total: int  # answered + still open to them
    answered: int
    last_hour: int


class ReviseOut(BaseModel):
    """Going back: the answer being revised, to start the questionnaire from."""

    answer_id: int
    answers: dict[str, bool | None]
    note: str


class TaskOut(BaseModel):
    """A leased task: everything the reviewer screen needs, also embedded in the /review page.
    When going back to revise an earlier answer, ``assignment_id`` is None and ``revise`` holds it."""

    assignment_id: int | None
    expires_at: float
    item: ItemOut
    questions: list[Question]
    progress: ProgressOut | None = None
    revise: ReviseOut | None = None
    previous: int | None = None  # the reviewer's last answer, to go back to


class NextTask(BaseModel):
    task: TaskOut | None  # None: nothing left for this reviewer


class Submitted(BaseModel):
    answer_id: int
    next: str


class Skipped(BaseModel):
    next: str
