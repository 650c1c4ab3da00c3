"""Admin pages: progress and agreement, one item's answers side by side, recording the final
answer for an item, the reviewers' masks, and ending a user's sessions. Admin only, for every
route of this router."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from maskgate.review.accounts import live_sessions, revoke_sessions
from maskgate.review.adjudication import AdjudicationError, final_records, final_values, record_final
from maskgate.review.masks import decode_rle, mask_to_png
from maskgate.review.schema import Answer, User
from maskgate.review.stats import QUESTION_KEYS, answer_value, overview
from maskgate.review.web.deps import (
    AdminUser,
    CsrfForm,
    DbEngine,
    DbId,
    DbSessions,
    admin_user,
    load_item,
    render,
)
from maskgate.review.web.files import file_url

router = APIRouter(dependencies=[Depends(admin_user)])


@router.get("/admin", response_class=HTMLResponse)
def admin_home(request: Request, acct: AdminUser, engine: DbEngine) -> HTMLResponse:
    return render(request, "admin.html", acct, ov=overview(engine), sessions=live_sessions(engine))


@router.post("/admin/users/{user_id}/revoke")
def admin_revoke(user_id: DbId, acct: AdminUser, _form: CsrfForm, engine: DbEngine) -> RedirectResponse:
    """Sign a user out everywhere (a lost laptop, a shared screen); the admin's own included, if
    they choose themselves."""
    revoke_sessions(engine, user_id)
    return RedirectResponse("/admin" if user_id != acct.id else "/login", status_code=303)


@router.get("/admin/items/{item_id}", response_class=HTMLResponse)
def admin_item(
    request: Request, item_id: DbId, acct: AdminUser, engine: DbEngine, db: DbSessions
) -> HTMLResponse:
    it = load_item(db, item_id)
    with db() as s:
        rows = s.execute(
            select(Answer, User.username)
            .join(User, User.id == Answer.reviewer_id)
            .where(Answer.item_id == item_id)
            .order_by(Answer.id)
        ).all()
    answers = [
        {
            "reviewer": name,
            "values": {
                k: answer_value({"q1": a.q1, "q2": a.q2, "acceptable": a.acceptable, "labels": a.labels}, k)
                for k in QUESTION_KEYS
            },
            "note": a.note,
            "mask_id": a.id if a.mask else None,
        }
        for a, name in rows
    ]
    final = final_values(final_records(engine, [item_id]).get(item_id))
    # The form starts from the recorded final answer, else from the reviewers' majority (ties: blank).
    start = {}
    for k in QUESTION_KEYS:
        if k in final:
            start[k] = final[k]
            continue
        votes = [a["values"][k] for a in answers if a["values"][k] is not None]
        yes, no = votes.count(True), votes.count(False)
        start[k] = True if yes > no else False if no > yes else None
    return render(
        request,
        "item.html",
        acct,
        item=it,
        answers=answers,
        keys=QUESTION_KEYS,
        final=final,
        start=start,
        original=file_url(it, it.original),
        edited=file_url(it, it.edited),
    )


@router.post("/admin/items/{item_id}/final")
def admin_final(item_id: DbId, acct: AdminUser, form: CsrfForm, engine: DbEngine) -> RedirectResponse:
    values = {}
    for k in QUESTION_KEYS:
        v = str(form.get(k, "")).strip().lower()
        if v not in ("yes", "no", ""):
            raise HTTPException(400, f"{k}: expected yes, no or empty")
        values[k] = {"yes": True, "no": False, "": None}[v]
    try:
        record_final(engine, item_id, acct.id, values, note=str(form.get("note", ""))[:2000])
    except AdjudicationError as e:
        raise HTTPException(404 if "no item" in str(e) else 400, str(e)) from e
    return RedirectResponse(f"/admin/items/{item_id}", status_code=303)


@router.get("/admin/answers/{answer_id}/mask.png")
def answer_mask(answer_id: DbId, db: DbSessions) -> Response:
    with db() as s:
        a = s.get(Answer, answer_id)
    if a is None or not a.mask:
        raise HTTPException(404, "no mask")
    return Response(mask_to_png(decode_rle(a.mask)), media_type="image/png")
