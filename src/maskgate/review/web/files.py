"""Images from the registered roots, by (root id, relative path).

Pages and the API never hand out file system paths, only these URLs, and a request is served
only if its path stays inside its root (``security.safe_join`` refuses ``..`` before touching the
disk) and names an image: a root also holds results.jsonl and other files nobody should read.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse

from maskgate.review.schema import Item, Root
from maskgate.review.security import UnsafePathError, safe_join
from maskgate.review.web.deps import DbSessions, current_user

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"}

router = APIRouter(dependencies=[Depends(current_user)])


def file_url(it: Item, rel: str) -> str:
    return f"/files/{it.root_id}/{quote(rel)}"


@router.get("/files/{root_id}/{rel:path}")
def image(root_id: int, rel: str, db: DbSessions) -> FileResponse:
    with db() as s:
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
