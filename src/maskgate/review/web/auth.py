"""Logging in and out: the only routes that need no login. Both still check the CSRF token: the
login form's comes from the anonymous session it was served in, so another site cannot log a
browser into an account of its choosing, nor log people out.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maskgate.review.accounts import authenticate
from maskgate.review.security import new_token
from maskgate.review.web.deps import CsrfForm, DbEngine, render

router = APIRouter()


def local_path(nxt: str) -> str:
    """Where to go after login: a path on this site only ("//host" is another site)."""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=local_path(next), error=None)


@router.post("/login")
def login(request: Request, form: CsrfForm, engine: DbEngine) -> Response:
    acct = authenticate(engine, str(form.get("username", "")), str(form.get("password", "")))
    nxt = local_path(str(form.get("next") or "/"))
    if acct is None:
        resp = render(request, "login.html", None, next=nxt, error="Wrong user name or password.")
        resp.status_code = 401
        return resp
    request.session.clear()  # new session on login: no fixation
    request.session["uid"] = acct.id
    request.session["csrf"] = new_token()
    return RedirectResponse(nxt, status_code=303)


@router.post("/logout")
def logout(request: Request, _form: CsrfForm) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
