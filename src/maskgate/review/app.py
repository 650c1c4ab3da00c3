"""HTTP routes: server-rendered pages, a small JSON API for the reviewer screen, and images.

Every route except /login and /static needs a session; every write (form or JSON) needs the
session's CSRF token; admin pages need the admin role; images are served only from registered
roots, by (root id, relative path) with traversal refused before touching the disk.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, select
from starlette.middleware.sessions import SessionMiddleware

from maskgate.review import queue
from maskgate.review.accounts import Account, authenticate, get_account
from maskgate.review.adjudication import AdjudicationError, final_records, final_values, record_final
from maskgate.review.db import sessions
from maskgate.review.masks import (
    MaskError,
    decode_rle,
    encode_rle,
    grabcut_refine,
    mask_to_png,
    mask_to_rgba_png,
    png_to_mask,
)
from maskgate.review.overlays import heat_rgba, rgba_png
from maskgate.review.questionnaire import AnswerError, parse_answer, questions
from maskgate.review.schema import Answer, Item, Root, Setting, User
from maskgate.review.security import MAX_BODY_BYTES, UnsafePathError, new_token, safe_join, tokens_match
from maskgate.review.stats import QUESTION_KEYS, answer_value, overview

HERE = Path(__file__).parent


def is_heat(name: str) -> bool:
    """Evidence served as a see-through overlay rather than the file as written."""
    return "heat" in name.lower()


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}


@dataclass
class Settings:
    lease_seconds: float = queue.LEASE_SECONDS
    gold_every: int = queue.GOLD_EVERY
    max_body: int = MAX_BODY_BYTES


class NeedLogin(Exception):
    pass


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


def session_secret(engine: Engine) -> str:
    """Stored in the database so sessions survive restarts and all workers agree on it."""
    with sessions(engine).begin() as s:
        row = s.get(Setting, "session_secret")
        if row is None:
            row = Setting(key="session_secret", value=secrets.token_urlsafe(48))
            s.add(row)
        return row.value


def create_app(engine: Engine, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(title="maskgate review", docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(engine),
        session_cookie="maskgate_session",
        max_age=12 * 3600,
        same_site="strict",
        https_only=False,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.state.engine = engine
    app.state.settings = settings
    Session = sessions(engine)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        resp = await call_next(request)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'"
        )
        return resp

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, _exc: NeedLogin):
        path = request.url.path
        if path.startswith("/api/") or path.startswith("/files/") or request.method != "GET":
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse("/login?next=" + quote(path), status_code=303)

    # ------------------------------------------------------------ helpers
    def csrf_token(request: Request) -> str:
        tok = request.session.get("csrf")
        if not tok:
            tok = request.session["csrf"] = new_token()
        return tok

    def user(request: Request) -> Account:
        uid = request.session.get("uid")
        acct = get_account(engine, uid) if isinstance(uid, int) else None
        if acct is None:
            raise NeedLogin()
        return acct

    def admin(request: Request) -> Account:
        acct = user(request)
        if acct.role != "admin":
            raise HTTPException(403, "admins only")
        return acct

    async def check_csrf_form(request: Request) -> dict:
        form = await request.form()
        if not tokens_match(request.session.get("csrf"), form.get("csrf")):
            raise HTTPException(403, "CSRF token missing or wrong; reload the page")
        return dict(form)

    def check_csrf_header(request: Request) -> None:
        if not tokens_match(request.session.get("csrf"), request.headers.get("x-csrf-token")):
            raise HTTPException(403, "CSRF token missing or wrong; reload the page")

    async def json_body(request: Request) -> dict:
        check_csrf_header(request)
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError as e:
            raise HTTPException(400, "body is not JSON") from e
        if not isinstance(data, dict):
            raise HTTPException(400, "body must be a JSON object")
        return data

    def page(request: Request, name: str, acct: Account | None, **ctx) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"user": acct, "csrf": csrf_token(request), **ctx})

    def load_item(item_id: int) -> Item:
        with Session() as s:
            it = s.get(Item, item_id)
            if it is None:
                raise HTTPException(404, "no such item")
            return it

    def held(acct: Account, assignment_id: int) -> tuple[queue.Task, Item]:
        t = queue.lease_of(engine, acct.id, assignment_id)
        if t is None:
            raise HTTPException(409, "this task is not leased to you any more; take the next one")
        return t, load_item(t.item_id)

    def file_url(it: Item, rel: str) -> str:
        return f"/files/{it.root_id}/{quote(rel)}"

    def item_payload(it: Item, t: queue.Task) -> dict:
        rec = it.check_record or {}
        crit = {
            k: {"pass": (v or {}).get("pass"), "score": (v or {}).get("score")}
            for k, v in (rec.get("criteria") or {}).items()
            if v
        }
        return {
            "assignment_id": t.assignment_id,
            "expires_at": t.expires_at,
            "item": {
                "id": it.ext_id,
                "kind": it.kind,
                "verdict": it.verdict,
                "score": it.score,
                "width": it.width,
                "height": it.height,
                "has_background": it.has_background,
                "original": file_url(it, it.original),
                "edited": file_url(it, it.edited),
                "evidence": {
                    k: (
                        f"/api/tasks/{t.assignment_id}/evidence/{quote(k)}.png"
                        if is_heat(k)
                        else file_url(it, v)
                    )
                    for k, v in (it.evidence or {}).items()
                    if k != "product_mask"
                },
                "premask": f"/api/tasks/{t.assignment_id}/premask.png" if it.premask else None,
                "criteria": crit,
                "notes": rec.get("notes") or [],
            },
            "questions": [asdict(q) for q in questions(it.has_background)],
        }

    # ------------------------------------------------------------ login
    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):
        return page(
            request,
            "login.html",
            None,
            next=next if next.startswith("/") and not next.startswith("//") else "/",
            error=None,
        )

    @app.post("/login")
    async def login(request: Request):
        form = await check_csrf_form(request)
        acct = authenticate(engine, str(form.get("username", "")), str(form.get("password", "")))
        nxt = str(form.get("next") or "/")
        nxt = nxt if nxt.startswith("/") and not nxt.startswith("//") else "/"
        if acct is None:
            resp = page(request, "login.html", None, next=nxt, error="Wrong user name or password.")
            resp.status_code = 401
            return resp
        request.session.clear()  # new session on login: no fixation
        request.session["uid"] = acct.id
        request.session["csrf"] = new_token()
        return RedirectResponse(nxt, status_code=303)

    @app.post("/logout")
    async def logout(request: Request):
        await check_csrf_form(request)
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------ reviewer
    @app.get("/", response_class=HTMLResponse)
    def home(request: Request):
        acct = user(request)
        return RedirectResponse("/admin" if acct.role == "admin" else "/review", status_code=303)

    @app.get("/review", response_class=HTMLResponse)
    def review(request: Request):
        acct = user(request)
        t = queue.next_task(
            engine, acct.id, lease_seconds=settings.lease_seconds, gold_every=settings.gold_every
        )
        if t is None:
            return page(request, "done.html", acct)
        it = load_item(t.item_id)
        return page(request, "review.html", acct, task=item_payload(it, t), item=it)

    @app.get("/api/next")
    def api_next(request: Request):
        acct = user(request)
        t = queue.next_task(
            engine, acct.id, lease_seconds=settings.lease_seconds, gold_every=settings.gold_every
        )
        if t is None:
            return JSONResponse({"task": None})
        return {"task": item_payload(load_item(t.item_id), t)}

    @app.get("/api/tasks/{assignment_id}/premask.png")
    def premask(request: Request, assignment_id: int):
        acct = user(request)
        _t, it = held(acct, assignment_id)
        if not it.premask:
            raise HTTPException(404, "no pre-label for this item")
        return Response(
            mask_to_rgba_png(decode_rle(it.premask)),
            media_type="image/png",
            headers={"Cache-Control": "private, no-store"},
        )

    @app.get("/api/tasks/{assignment_id}/evidence/{name}.png")
    def heat_overlay(request: Request, assignment_id: int, name: str):
        """A heatmap as RGBA: transparent where the heat is low (see maskgate.review.overlays)."""
        acct = user(request)
        _t, it = held(acct, assignment_id)
        rel = (it.evidence or {}).get(name)
        if rel is None or not is_heat(name):
            raise HTTPException(404, "no such heatmap")
        from maskgate.io.images import ImageReadError, load_image

        with Session() as s:
            root = s.get(Root, it.root_id)
        try:
            heat = load_image(safe_join(root.path, rel)).rgb
        except (ImageReadError, UnsafePathError) as e:
            raise HTTPException(422, f"cannot read the heatmap: {e}") from e
        try:
            base = load_image(safe_join(root.path, it.edited)).rgb
        except (ImageReadError, UnsafePathError):
            base = None
        return Response(
            rgba_png(heat_rgba(heat, base)),
            media_type="image/png",
            headers={"Cache-Control": "private, max-age=3600"},
        )

    def mask_from(data: dict, key: str, it: Item, required: bool):
        url = data.get(key)
        if url is None:
            if required:
                raise HTTPException(400, f"'{key}' (a PNG data URL) is required")
            return None
        if not isinstance(url, str) or not url.startswith("data:image/png;base64,"):
            raise HTTPException(400, f"'{key}' must be a PNG data URL")
        try:
            raw = base64.b64decode(url.split(",", 1)[1], validate=True)
            return png_to_mask(raw, size=(it.height, it.width) if it.height else None)
        except (ValueError, MaskError) as e:
            raise HTTPException(400, f"{key}: {e}") from e

    @app.post("/api/tasks/{assignment_id}/submit")
    async def submit(request: Request, assignment_id: int):
        acct = user(request)
        data = await json_body(request)
        _t, it = held(acct, assignment_id)
        m = mask_from(data, "mask", it, required=False)
        try:
            ans = parse_answer(data, it.has_background, encode_rle(m) if m is not None else None)
        except AnswerError as e:
            raise HTTPException(422, str(e)) from e
        try:
            aid = queue.submit(engine, acct.id, assignment_id, ans)
        except queue.LeaseLost as e:
            raise HTTPException(409, str(e)) from e
        return {"answer_id": aid, "next": "/review"}

    @app.post("/api/tasks/{assignment_id}/skip")
    async def skip(request: Request, assignment_id: int):
        acct = user(request)
        await json_body(request)
        try:
            queue.skip(engine, acct.id, assignment_id)
        except queue.LeaseLost as e:
            raise HTTPException(409, str(e)) from e
        return {"next": "/review"}

    @app.post("/api/tasks/{assignment_id}/refine")
    async def refine(request: Request, assignment_id: int):
        acct = user(request)
        data = await json_body(request)
        _t, it = held(acct, assignment_id)
        m = mask_from(data, "mask", it, required=True)
        fg = mask_from(data, "fg", it, required=False)
        bg = mask_from(data, "bg", it, required=False)
        from maskgate.io.images import ImageReadError, load_image

        with Session() as s:
            root = s.get(Root, it.root_id)
        try:
            img = load_image(safe_join(root.path, it.original), max_side=1024)
        except (ImageReadError, UnsafePathError) as e:
            raise HTTPException(422, f"cannot read the original: {e}") from e
        out = grabcut_refine(img.rgb, m, fg, bg)
        return Response(mask_to_rgba_png(out), media_type="image/png")

    # ------------------------------------------------------------ images
    @app.get("/files/{root_id}/{rel:path}")
    def files(request: Request, root_id: int, rel: str):
        user(request)
        with Session() as s:
            root = s.get(Root, root_id)
        if root is None:
            raise HTTPException(404, "no such root")
        try:
            p = safe_join(root.path, rel)
        except UnsafePathError as e:
            raise HTTPException(400, str(e)) from e
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            raise HTTPException(404, "no such image")
        return FileResponse(p, headers={"Cache-Control": "private, max-age=3600"})

    # ------------------------------------------------------------ admin
    @app.get("/admin", response_class=HTMLResponse)
    def admin_home(request: Request):
        acct = admin(request)
        return page(request, "admin.html", acct, ov=overview(engine))

    @app.get("/admin/items/{item_id}", response_class=HTMLResponse)
    def admin_item(request: Request, item_id: int):
        acct = admin(request)
        it = load_item(item_id)
        with Session() as s:
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
                    k: answer_value(
                        {"q1": a.q1, "q2": a.q2, "acceptable": a.acceptable, "labels": a.labels}, k
                    )
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
        return page(
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

    @app.post("/admin/items/{item_id}/final")
    async def admin_final(request: Request, item_id: int):
        acct = admin(request)
        form = await check_csrf_form(request)
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

    @app.get("/admin/answers/{answer_id}/mask.png")
    def answer_mask(request: Request, answer_id: int):
        admin(request)
        with Session() as s:
            a = s.get(Answer, answer_id)
        if a is None or not a.mask:
            raise HTTPException(404, "no mask")
        return Response(mask_to_png(decode_rle(a.mask)), media_type="image/png")

    return app


def run_server(
    url: str | None, host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None
) -> None:
    """Migrate the database, then serve the app with uvicorn (one process; the DB does the locking)."""
    import uvicorn

    from maskgate.review.db import open_db

    engine = open_db(url)
    uvicorn.run(create_app(engine, settings), host=host, port=port, log_level="info")
