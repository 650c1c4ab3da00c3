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
from maskgate.review.questionnaire import AnswerError, doubtful, parse_answer, questions
from maskgate.review.roots import read_path
from maskgate.review.schema import Item
from maskgate.review.security import UnsafePathError
from maskgate.review.web.api_schema import (
    Criterion,
    ItemOut,
    NextTask,
    ProgressOut,
    RefineIn,
    ReviseOut,
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


def task_payload(
    it: Item,
    t: queue.Task | None,
    engine: Engine | None = None,
    reviewer_id: int | None = None,
    revise: ReviseOut | None = None,
) -> TaskOut:
    """The screen's data for a leased task ``t``, or (``t`` None) for going back over an answer:
    then no lease is held, so images are the files themselves (no lease-only overlays)."""
    rec = stored_record(it.check_record)
    aid = t.assignment_id if t is not None else None
    if aid is not None:
        evidence = {
            k: (f"/api/tasks/{aid}/evidence/{quote(k)}.png" if is_heat(k) else file_url(it, v))
            for k, v in (it.evidence or {}).items()
            if k != "product_mask"
        }
    else:
        evidence = {k: file_url(it, v) for k, v in (it.evidence or {}).items() if k != "product_mask"}
    doubt = doubtful(dict(rec.criteria), evidence) if rec else []
    for d in doubt:
        d["missing"] = [m for m in d["missing"] if m != "product_mask"]
    prog, previous = None, None
    if engine is not None and reviewer_id is not None:
        p = queue.progress(engine, reviewer_id)
        prog = ProgressOut(
            n=p.answered + (1 if revise is None else 0),
            total=p.total,
            answered=p.answered,
            last_hour=p.last_hour,
        )
        recent = queue.recent_answers(engine, reviewer_id, 1)
        previous = recent[0]["id"] if recent else None
    return TaskOut(
        assignment_id=aid,
        expires_at=t.expires_at if t is not None else 0.0,
        progress=prog,
        revise=revise,
        previous=previous,
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
            evidence=evidence,
            premask=f"/api/tasks/{aid}/premask.png" if it.premask and aid is not None else None,
            doubtful=doubt,
            model_version=rec.model_version if rec else None,
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
    return NextTask(task=None if nxt is None else task_payload(nxt[1], nxt[0], engine, acct.id))


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


def revise_payload(
    engine: Engine, db: sessionmaker[Session], acct: Account, answer_id: int
) -> tuple[TaskOut, Item]:
    """The screen for going back over one of the reviewer's last answers (404 for any other)."""
    mine = {a["id"]: a for a in queue.recent_answers(engine, acct.id)}
    a = mine.get(answer_id)
    if a is None:
        raise HTTPException(404, f"answer {answer_id} is not one of your last {queue.REVISE_LAST} answers")
    it = load_item(db, a["item_id"])
    values: dict[str, bool | None] = {"q1": a["q1"], "q2": a["q2"], "acceptable": a["acceptable"]}
    values.update(
        {
            k: (a["labels"] or {}).get(k)
            for k in ("quality", "segmentation", "comprehensibility", "consistency", "background")
        }
    )
    shown = {q.key for q in questions(it.has_background)}
    rev = ReviseOut(
        answer_id=answer_id, answers={k: v for k, v in values.items() if k in shown}, note=a["note"] or ""
    )
    task = task_payload(it, None, engine, acct.id, rev)
    older = sorted(i for i in mine if i < answer_id)
    task.previous = older[-1] if older else None  # going back further, up to the last five
    return task, it


@router.post("/api/answers/{answer_id}/revise")
def revise(
    answer_id: int,
    acct: CurrentUser,
    _data: JsonObject,
    body: Annotated[SubmitIn, Depends(json_model(SubmitIn))],
    engine: DbEngine,
    db: DbSessions,
) -> Skipped:
    """Replace one of the reviewer's last answers (questionnaire and note; the mask stays)."""
    _task, it = revise_payload(engine, db, acct, answer_id)
    try:
        ans = parse_answer(body.model_dump(exclude={"mask"}), it.has_background, None)
    except AnswerError as e:
        raise HTTPException(422, str(e)) from e
    try:
        queue.revise(engine, acct.id, answer_id, ans)
    except queue.LeaseLost as e:
        raise HTTPException(409, str(e)) from e
    return Skipped(next="/review")
