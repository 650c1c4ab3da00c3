"""Images by (base root id, relative path), served only from inside allowed roots.

Pages and the API never hand out file system paths, only these URLs, and a request is served
only if its path stays inside its base (``security.safe_join`` refuses ``..`` before touching the
disk), its real path (symlinks resolved) lies inside an allowed root (``roots.served_path``), and
it names an image: a root also holds results.jsonl and other files nobody should read.
"""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from pathlib import Path
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, Response
from PIL import Image

from maskgate.io.images import IMAGE_EXTS, ImageReadError, load_image
from maskgate.review.roots import read_path
from maskgate.review.schema import Item
from maskgate.review.security import UnsafePathError
from maskgate.review.web.deps import DbId, DbSessions, current_user

# The content type of each image served, stated here rather than guessed: Python's mimetypes knows
# neither .webp nor .avif before 3.13 (the system's mime.types may add them, or not), and a guess of
# text/plain under ``X-Content-Type-Options: nosniff`` is a broken image in every browser. AVIF only
# where this Pillow decodes it: otherwise the import already stored the item with that reason.
CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
} | ({".avif": "image/avif"} if ".avif" in IMAGE_EXTS else {})
# Chromium and Firefox do not draw TIFF, a common format for catalogue masters that the check reads:
# a TIFF is sent as PNG, decoded by the same guarded reader as the check (pixel limit, bombs, EXIF
# orientation), at full size and with its alpha, so masks drawn over it line up with the check's.
TRANSCODED = {".tif", ".tiff"}
IMAGE_SUFFIXES = set(CONTENT_TYPES) | TRANSCODED
CACHE = {"Cache-Control": "private, max-age=3600"}

router = APIRouter(dependencies=[Depends(current_user)])


def file_url(it: Item, rel: str) -> str:
    return f"/files/{it.root_id}/{quote(rel)}"


@router.get("/files/{root_id}/{rel:path}")
def image(root_id: DbId, rel: str, db: DbSessions) -> Response:
    try:
        p = read_path(db, root_id, rel)
    except LookupError as e:
        raise HTTPException(404, str(e)) from e
    except UnsafePathError as e:
        raise HTTPException(400, str(e)) from e
    if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
        raise HTTPException(404, "no such image")
    if p.suffix.lower() in TRANSCODED:
        st = p.stat()
        try:
            png = as_png(str(p), st.st_mtime_ns, st.st_size)
        except ImageReadError as e:
            raise HTTPException(404, f"cannot show this image: {e}") from e
        return Response(png, media_type="image/png", headers=CACHE)
    return FileResponse(p, media_type=CONTENT_TYPES[p.suffix.lower()], headers=CACHE)


@lru_cache(maxsize=8)
def as_png(path: str, mtime_ns: int, size: int) -> bytes:
    """The file as PNG bytes, made once per version of the file (``mtime_ns`` and ``size`` key the
    cache: a reviewer pages back and forth over the same pair)."""
    im = load_image(Path(path))
    px = im.rgb if im.alpha is None else np.dstack([im.rgb, im.alpha])
    buf = BytesIO()
    Image.fromarray(px).save(buf, format="PNG", compress_level=1)  # speed over size: a local viewer
    return buf.getvalue()
