"""Logging in and out: the only routes that need no login. Both still check the CSRF token: the
login form's comes from the signed login cookie set with the form, so another site cannot log a
browser into an account of its choosing, nor log people out.

A login is throttled per account and per client address (``maskgate.review.throttle``) before its
password is checked; it starts a new server-side session and ends the one the browser came with
(no fixation). Logging out ends every session of that user, on every device: a copied cookie dies
with the one the user can see.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maskgate.review import throttle
from maskgate.review.accounts import authenticate, end_session, revoke_sessions, start_session
from maskgate.review.security import sign
from maskgate.review.web.deps import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    AppSettings,
    CsrfForm,
    DbEngine,
    clear_cookie,
    live_session,
    render,
    set_cookie,
)

router = APIRouter()


def local_path(nxt: str) -> str:
    """Where to go after login: a path on this site only ("//host" is another site)."""
    return nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"


def client_address(request: Request) -> str | None:
    """The peer as uvicorn reports it: the proxy's X-Forwarded-For only when that proxy is trusted
    (``serve --forwarded-allow-ips``), so a client cannot pick the address it is counted under."""
    return request.client.host if request.client else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", None, next=local_path(next), error=None)


@router.post("/login")
def login(request: Request, form: CsrfForm, engine: DbEngine, settings: AppSettings) -> Response:
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    nxt = local_path(str(form.get("next") or "/"))
    addr = client_address(request)
    wait = throttle.begin_attempt(engine, username, addr, settings.throttle)
    if wait is not None:
        secs = max(1, math.ceil(wait))
        resp = render(
            request,
            "login.html",
            None,
            next=nxt,
            error=f"Too many failed logins for this account or from this address; try again in {secs} s.",
        )
        resp.status_code = 429
        resp.headers["Retry-After"] = str(secs)
        return resp
    acct = authenticate(engine, username, password)
    if acct is None:
        resp = render(request, "login.html", None, next=nxt, error="Wrong user name or password.")
        resp.status_code = 401
        return resp
    throttle.succeeded(engine, username, addr, settings.throttle)
    old = live_session(request)
    if old is not None:
        end_session(engine, old.id_hash)  # new session on login: no fixation
    sid = start_session(engine, acct.id, addr, settings.session_hours)
    resp = RedirectResponse(nxt, status_code=303)
    set_cookie(
        request,
        resp,
        SESSION_COOKIE,
        sign(request.app.state.secret, sid, "session"),
        max_age=int(settings.session_hours * 3600),
    )
    clear_cookie(request, resp, LOGIN_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, _form: CsrfForm, engine: DbEngine) -> RedirectResponse:
    live = live_session(request)
    if live is not None:
        revoke_sessions(engine, live.account.id)
    resp = RedirectResponse("/login", status_code=303)
    clear_cookie(request, resp, SESSION_COOKIE)
    return resp
