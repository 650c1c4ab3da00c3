"""The reviewer screen's JSON API: take a task, submit or skip it, refine a mask, and the images
that only the task's holder may see (the pre-label, heatmaps as overlays).

Everything about a task goes through its lease: a reviewer who lost it (expired and re-leased,
already answered) gets a 409 telling them to take the next one, whatever else is wrong with the
request. Responses are written with ``json.dumps`` (``JSONResponse``) rather than FastAPI's Rust
serializer, so floats and the rest come out byte for byte as they always have.
"""

from __future__ import annotations

import base64
from typing import Annotated
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from maskgate.io.images import ImageReadError, load_image
from maskgate.review import queue
from maskgate.review.accounts import Account
from maskgate.review.importer import stored_record
from maskgate.review.masks import (
    MaskError,
    decode_rle,
    encode_rle,
    grabcut_refine,
    mask_to_rgba_png,
    png_to_mask,
)
from maskgate.review.overlays import heat_rgba, rgba_png
from maskgate.review.questionnaire import AnswerError, parse_answer, questions
from maskgate.review.roots import read_path
from maskgate.review.schema import Item
from maskgate.review.security import UnsafePathError
from maskgate.review.web.api_schema import (
    Criterion,
    ItemOut,
    NextTask,
    RefineIn,
    Skipped,
    SubmitIn,
    Submitted,
    TaskOut,
)
from maskgate.review.web.deps import (
    AppSettings,
    CurrentUser,
    DbEngine,
    DbId,
    DbSessions,
    JsonObject,
    current_user,
    json_model,
    load_item,
)
from maskgate.review.web.files import file_url

router = APIRouter(dependencies=[Depends(current_user)], default_response_class=JSONResponse)


def body_doc(model: type | None) -> dict:
    """The JSON body in the OpenAPI document. The writes read their body themselves (see
    ``deps.json_object``), so FastAPI cannot see it; this keeps the schema, and the fuzz run
    against it in the tests, honest about what the routes accept."""
    schema = model.model_json_schema() if model else {"type": "object"}
    return {"requestBody": {"content": {"application/json": {"schema": schema}}}}


def is_heat(name: str) -> bool:
    """Evidence served as a see-through overlay rather than the file as written."""
    return "heat" in name.lower()


def take_next(
    engine: Engine, db: sessionmaker[Session], settings, acct: Account
) -> tuple[queue.Task, Item] | None:
    """The /review page and /api/next hand out work the same way: the lease held (renewed), else a new one."""
    t = queue.next_task(engine, acct.id, lease_seconds=settings.lease_seconds, gold_every=settings.gold_every)
    return None if t is None else (t, load_item(db, t.item_id))


def task_payload(it: Item, t: queue.Task) -> TaskOut:
    rec = stored_record(it.check_record)
    return TaskOut(
        assignment_id=t.assignment_id,
        expires_at=t.expires_at,
        item=ItemOut(
            id=it.ext_id,
            kind=it.kind,
            verdict=it.verdict,
            score=it.score,
            width=it.width,
            height=it.height,
            has_background=it.has_background,
            original=file_url(it, it.original),
            edited=file_url(it, it.edited),
            evidence={
                k: (
                    f"/api/tasks/{t.assignment_id}/evidence/{quote(k)}.png" if is_heat(k) else file_url(it, v)
                )
                for k, v in (it.evidence or {}).items()
                if k != "product_mask"
            },
            premask=f"/api/tasks/{t.assignment_id}/premask.png" if it.premask else None,
            criteria={k: Criterion(pass_=v.passed, score=v.score) for k, v in rec.criteria.items()}
            if rec
            else {},
            notes=list(rec.notes) if rec else [],
        ),
        questions=questions(it.has_background),
    )


def held_lease(
    assignment_id: DbId, acct: CurrentUser, engine: DbEngine, db: DbSessions
) -> tuple[queue.Task, Item]:
    t = queue.lease_of(engine, acct.id, assignment_id)
    if t is None:
        raise HTTPException(409, "this task is not leased to you any more; take the next one")
    return t, load_item(db, t.item_id)


HeldLease = Annotated[tuple[queue.Task, Item], Depends(held_lease)]


def decode_mask(url: str | None, key: str, it: Item) -> np.ndarray | None:
    """A PNG data URL (already checked by the body model) as a mask at the item's size."""
    if url is None:
        return None
    try:
        raw = base64.b64decode(url.split(",", 1)[1], validate=True)
        return png_to_mask(raw, size=(it.height, it.width) if it.height else None)
    except (ValueError, MaskError) as e:
        raise HTTPException(400, f"{key}: {e}") from e


def item_file(db: sessionmaker[Session], it: Item, rel: str):
    """One of the item's files, through the same allowed-root check as the file route."""
    try:
        return read_path(db, it.root_id, rel)
    except LookupError as e:
        raise UnsafePathError(str(e)) from e


@router.get("/api/next")
def next_task(acct: CurrentUser, engine: DbEngine, db: DbSessions, settings: AppSettings) -> NextTask:
    nxt = take_next(engine, db, settings, acct)
    return NextTask(task=None if nxt is None else task_payload(nxt[1], nxt[0]))


@router.get("/api/tasks/{assignment_id}/premask.png")
def premask(lease: HeldLease) -> Response:
    _t, it = lease
    if not it.premask:
        raise HTTPException(404, "no pre-label for this item")
    return Response(
        mask_to_rgba_png(decode_rle(it.premask)),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/api/tasks/{assignment_id}/evidence/{name}.png")
def heat_overlay(name: str, lease: HeldLease, db: DbSessions) -> Response:
    """A heatmap as RGBA: transparent where the heat is low (see maskgate.review.overlays)."""
    _t, it = lease
    rel = (it.evidence or {}).get(name)
    if rel is None or not is_heat(name):
        raise HTTPException(404, "no such heatmap")
    try:
        heat = load_image(item_file(db, it, rel)).rgb
    except (ImageReadError, UnsafePathError) as e:
        raise HTTPException(422, f"cannot read the heatmap: {e}") from e
    try:
        base = load_image(item_file(db, it, it.edited)).rgb
    except (ImageReadError, UnsafePathError):
        base = None
    return Response(
        rgba_png(heat_rgba(heat, base)),
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


# The parameters of the writes below are in the order their checks run: login (the router's),
# CSRF and the body being a JSON object, the lease, then the body's fields.


@router.post("/api/tasks/{assignment_id}/submit", openapi_extra=body_doc(SubmitIn))
def submit(
    acct: CurrentUser,
    _data: JsonObject,
    lease: HeldLease,
    body: Annotated[SubmitIn, Depends(json_model(SubmitIn))],
    engine: DbEngine,
) -> Submitted:
    t, it = lease
    m = decode_mask(body.mask, "mask", it)
    try:
        ans = parse_answer(
            body.model_dump(exclude={"mask"}), it.has_background, encode_rle(m) if m is not None else None
        )
    except AnswerError as e:
        raise HTTPException(422, str(e)) from e
    try:
        aid = queue.submit(engine, acct.id, t.assignment_id, ans)
    except queue.LeaseLost as e:
        raise HTTPException(409, str(e)) from e
    return Submitted(answer_id=aid, next="/review")


@router.post("/api/tasks/{assignment_id}/skip", openapi_extra=body_doc(None))
def skip(assignment_id: DbId, acct: CurrentUser, _data: JsonObject, engine: DbEngine) -> Skipped:
    try:
        queue.skip(engine, acct.id, assignment_id)
    except queue.LeaseLost as e:
        raise HTTPException(409, str(e)) from e
    return Skipped(next="/review")


@router.post("/api/tasks/{assignment_id}/refine", openapi_extra=body_doc(RefineIn))
def refine(
    _data: JsonObject,
    lease: HeldLease,
    body: Annotated[RefineIn, Depends(json_model(RefineIn))],
    db: DbSessions,
) -> Response:
    _t, it = lease
    m = decode_mask(body.mask, "mask", it)
    fg = decode_mask(body.fg, "fg", it)
    bg = decode_mask(body.bg, "bg", it)
    try:
        img = load_image(item_file(db, it, it.original), max_side=1024)
    except (ImageReadError, UnsafePathError) as e:
        raise HTTPException(422, f"cannot read the original: {e}") from e
    out = grabcut_refine(img.rgb, m, fg, bg)
    return Response(mask_to_rgba_png(out), media_type="image/png")
