"""Where a signed-in person lands: admins on /admin, reviewers on /review, the page of their next
task (the same task the JSON API would hand out, embedded so the screen needs no extra request)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from maskgate.review.web.deps import AppSettings, CurrentUser, DbEngine, DbSessions, current_user, render
from maskgate.review.web.tasks import revise_payload, take_next, task_payload

router = APIRouter(dependencies=[Depends(current_user)])


@router.get("/", response_class=HTMLResponse)
def home(acct: CurrentUser) -> RedirectResponse:
    return RedirectResponse("/admin" if acct.role == "admin" else "/review", status_code=303)


@router.get("/review", response_class=HTMLResponse)
def review(
    request: Request, acct: CurrentUser, engine: DbEngine, db: DbSessions, settings: AppSettings
) -> HTMLResponse:
    nxt = take_next(engine, db, settings, acct)
    if nxt is None:
        return render(request, "done.html", acct)
    t, it = nxt
    task = task_payload(it, t, engine, acct.id)
    return render(request, "review.html", acct, task=task.model_dump(by_alias=True), item=it)


@router.get("/review/answers/{answer_id}", response_class=HTMLResponse)
def review_again(
    request: Request, answer_id: int, acct: CurrentUser, engine: DbEngine, db: DbSessions
) -> HTMLResponse:
    """Going back: the screen of one of the reviewer's last answers, to revise it. The lease of
    the task they were on is kept; "Next" returns to it."""
    task, it = revise_payload(engine, db, acct, answer_id)
    return render(request, "review.html", acct, task=task.model_dump(by_alias=True), item=it)
