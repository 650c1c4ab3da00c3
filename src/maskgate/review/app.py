"""The review web app: the routers of ``maskgate.review.web`` behind a body size limit and
security headers.

Every route except /login and /static needs a session (a row in ``auth_sessions``, named by a
signed cookie); every write (form or JSON) needs the session's CSRF token; admin pages need the
admin role; images are served only from inside allowed roots, by (root id, relative path) with
traversal refused before touching the disk. The routers carry those rules (see
``maskgate.review.web.deps``); what applies to every response lives here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from maskgate.review import queue
from maskgate.review.accounts import SESSION_HOURS
from maskgate.review.db import open_db, sessions
from maskgate.review.schema import Setting
from maskgate.review.security import MAX_BODY_BYTES
from maskgate.review.throttle import ThrottlePolicy
from maskgate.review.web import admin, auth, files, home, tasks
from maskgate.review.web.deps import NeedLogin

HERE = Path(__file__).parent


@dataclass
class Settings:
    lease_seconds: float = queue.LEASE_SECONDS
    gold_every: int = queue.GOLD_EVERY
    max_body: int = MAX_BODY_BYTES
    # True: cookies always Secure; False: never; None: Secure on requests that came over HTTPS
    # (uvicorn takes the scheme from X-Forwarded-Proto when the proxy is in --forwarded-allow-ips).
    secure_cookies: bool | None = None
    session_hours: float = SESSION_HOURS
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)


def secure_cookie_setting(flag: bool | None, base_url: str | None) -> bool | None:
    """``serve``'s rule: an explicit --secure-cookies/--no-secure-cookies wins; else an https
    --base-url turns them on; else they follow each request's scheme (None)."""
    if flag is not None:
        return flag
    if base_url and base_url.lower().startswith("https://"):
        return True
    return None


class BodyLimit:
    """Refuse request bodies over the limit, by Content-Length or while streaming (chunked)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                return await _too_large(send)
        seen = 0

        async def counted():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, "request body too large")
            return msg

        return await self.app(scope, counted, send)


async def _too_large(send):
    body = b'{"detail":"request body too large"}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def security_headers(request: Request, call_next) -> Response:
    """On every response, errors and static files included: no MIME sniffing, no framing, no
    referrer to other sites, and scripts and styles from this origin only (the pages inline none)."""
    resp = await call_next(request)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'"
    )
    return resp


async def need_login(request: Request, _exc: NeedLogin) -> Response:
    """A person opening a page is sent to the login form (and back afterwards); scripts, images and
    form posts get a 401 they can act on instead of a login page they cannot use."""
    path = request.url.path
    if path.startswith("/api/") or path.startswith("/files/") or request.method != "GET":
        return JSONResponse({"detail": "login required"}, status_code=401)
    return RedirectResponse("/login?next=" + quote(path), status_code=303)


def session_secret(engine: Engine) -> str:
    """The key cookies are signed with. Stored in the database so every worker agrees on it; a
    signature only spares a look-up for a forged cookie, the session row decides."""
    with sessions(engine).begin() as s:
        row = s.get(Setting, "session_secret")
        if row is None:
            row = Setting(key="session_secret", value=secrets.token_urlsafe(48))
            s.add(row)
        return row.value


def create_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="maskgate review", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.middleware("http")(security_headers)
    app.add_exception_handler(NeedLogin, need_login)
    app.state.engine = engine
    app.state.secret = session_secret(engine)
    app.state.sessions = sessions(engine)
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.state.templates.env.filters["utc"] = lambda t: time.strftime("%Y-%m-%d %H:%M", time.gmtime(t))
    for area in (auth, home, tasks, files, admin):
        app.include_router(area.router)
    return app


def run_server(
    url: str | None,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Migrate the database, then serve the app with uvicorn (one process; the DB does the locking).
    ``forwarded_allow_ips``: the proxies whose X-Forwarded-For/-Proto uvicorn believes (its own
    default, 127.0.0.1 or $FORWARDED_ALLOW_IPS, when None); that is where the client address the
    login throttle counts, and the scheme the cookie rule reads, come from."""
    engine = open_db(url)
    uvicorn.run(
        create_app(engine, settings),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
