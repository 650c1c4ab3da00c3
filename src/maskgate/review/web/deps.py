"""What the routers share: who is asking, whether they may, and what the app holds.

Login, role and CSRF are dependencies, and the routers also declare login (or the admin role) for
all their routes, so a new route cannot forget them. FastAPI runs a route's dependencies in the
order they are declared, and each route declares them in the order the checks have always run
(login, then CSRF, then the body, then the lease), so a request that fails several checks still
gets the status of the first. Engine, session factory, settings and templates come from
``request.app.state``: the routers hold no globals, so one process can serve several apps (the
tests start one per database).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from maskgate.review.accounts import Account, LiveSession, session_for
from maskgate.review.schema import Item
from maskgate.review.security import new_token, sign, tokens_match, unsign

CSRF_WRONG = "CSRF token missing or wrong; reload the page"
SESSION_COOKIE = "maskgate_session"  # the signed session id, nothing else
LOGIN_COOKIE = "maskgate_login"  # before login: the signed token the login form must echo


class NeedLogin(Exception):
    """No valid session. Raised rather than answered here because the answer depends on who asks:
    the app sends pages to the login form and gives API, file and write requests a 401."""


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions


def get_settings(request: Request):
    """The app's ``maskgate.review.app.Settings``."""
    return request.app.state.settings


# An id in a URL. Bounded to the Integer columns' range: a larger number would not be "not found"
# but a database error (SQLite cannot bind it, PostgreSQL overflows int4), i.e. a 500.
DbId = Annotated[int, Path(ge=0, le=2**31 - 1)]
DbEngine = Annotated[Engine, Depends(get_engine)]
DbSessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
AppSettings = Annotated[Any, Depends(get_settings)]


def live_session(request: Request) -> LiveSession | None:
    """The request's session, looked up once per request in the database, so a revoked session,
    a deleted account or a changed role counts at once."""
    if not hasattr(request.state, "live_session"):
        sid = unsign(request.app.state.secret, request.cookies.get(SESSION_COOKIE), "session")
        request.state.live_session = session_for(request.app.state.engine, sid)
    return request.state.live_session


def current_user(request: Request) -> Account:
    live = live_session(request)
    if live is None:
        raise NeedLogin()
    return live.account


CurrentUser = Annotated[Account, Depends(current_user)]


def admin_user(acct: CurrentUser) -> Account:
    if acct.role != "admin":
        raise HTTPException(403, "admins only")
    return acct


AdminUser = Annotated[Account, Depends(admin_user)]


async def csrf_form(request: Request) -> dict:
    """The submitted form, once its ``csrf`` field matches the session's token (forms cannot set
    headers, so pages put the token in a hidden field)."""
    form = await request.form()
    if not tokens_match(await run_in_threadpool(expected_csrf, request), form.get("csrf")):
        raise HTTPException(403, CSRF_WRONG)
    return dict(form)


def csrf_header(request: Request) -> None:
    """The JSON API's variant: review.js sends the page's token as ``X-CSRF-Token``."""
    if not tokens_match(expected_csrf(request), request.headers.get("x-csrf-token")):
        raise HTTPException(403, CSRF_WRONG)


CsrfForm = Annotated[dict, Depends(csrf_form)]


async def json_object(request: Request, _csrf: Annotated[None, Depends(csrf_header)]) -> dict:
    """The body as a JSON object, read whatever the Content-Type (an empty body is ``{}``).

    Parsed here rather than as a FastAPI body parameter because FastAPI reads the body before any
    dependency runs: a malformed body would then answer 422 before login and CSRF were checked."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as e:
        raise HTTPException(400, "body is not JSON") from e
    if not isinstance(data, dict):
        raise HTTPException(400, "body must be a JSON object")
    return data


JsonObject = Annotated[dict, Depends(json_object)]
M = TypeVar("M", bound=BaseModel)


def json_model(model: type[M]) -> Callable[[dict], M]:
    """A dependency giving the JSON body as ``model``; a body that does not fit is a 400 whose
    ``detail`` is the first problem as one sentence, which review.js shows the reviewer as is
    (FastAPI's 422 would give a list, shown as "[object Object]")."""

    def parse(data: JsonObject) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as e:
            raise HTTPException(400, e.errors(include_url=False)[0]["msg"]) from e

    return parse


def expected_csrf(request: Request) -> str | None:
    """A signed-in request's token is its session's; before login it is the one the login cookie
    carries, so another site cannot log a browser into an account of its choosing."""
    live = live_session(request)
    if live is not None:
        return live.csrf
    return unsign(request.app.state.secret, request.cookies.get(LOGIN_COOKIE), "login")


def csrf_token(request: Request) -> str:
    tok = expected_csrf(request)
    if not tok:
        tok = request.state.new_login_token = new_token()
    return tok


def secure_cookies(request: Request) -> bool:
    """The Secure flag: as ``serve`` set it, else whether this request came over HTTPS."""
    flag = request.app.state.settings.secure_cookies
    return request.url.scheme == "https" if flag is None else bool(flag)


def set_cookie(request: Request, resp: Response, name: str, value: str, max_age: int | None = None) -> None:
    resp.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def clear_cookie(request: Request, resp: Response, name: str) -> None:
    resp.delete_cookie(name, path="/", httponly=True, samesite="strict", secure=secure_cookies(request))


def render(request: Request, name: str, acct: Account | None, **ctx) -> HTMLResponse:
    """Every page gets the user (for the header) and the CSRF token (for its forms and for
    review.js, which reads it from a meta tag); a first anonymous page also sets the login cookie."""
    templates = request.app.state.templates
    resp = templates.TemplateResponse(request, name, {"user": acct, "csrf": csrf_token(request), **ctx})
    tok = getattr(request.state, "new_login_token", None)
    if tok:
        set_cookie(request, resp, LOGIN_COOKIE, sign(request.app.state.secret, tok, "login"))
    return resp


def load_item(db: sessionmaker[Session], item_id: int) -> Item:
    with db() as s:
        it = s.get(Item, item_id)
        if it is None:
            raise HTTPException(404, "no such item")
        return it
