"""Pictures under MEDIA_ROOT, served by the shop itself whatever DEBUG says (the file-system mode).

config/urls.py routes MEDIA_URL here unless media live on an object store (MEDIA_STORAGE_URL), whose
own URLs the pages link to. In front of several web machines the file system is not shared: use the
object store there (docs/operations.md, "Media: product pictures"); nginx may serve MEDIA_ROOT
itself (deploy/), this view is then never reached.

Only pictures are served, with a Content-Type fixed by their extension (never guessed from their
bytes, and `nosniff` says so to the browser), a Cache-Control of MEDIA_CACHE_SECONDS and a
Last-Modified a browser may revalidate against. A name that leaves MEDIA_ROOT (`..`, an absolute
path, a link pointing outside), a folder, another kind of file or a missing one: 404.
No database query.
"""

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def _picture_path(name: str) -> Path:
    """The file `name` (relative to MEDIA_ROOT) names, if it is a picture inside MEDIA_ROOT; else Http404."""
    root = Path(settings.MEDIA_ROOT).resolve()
    parts = name.split("/")
    if not name or "\\" in name or "\x00" in name or any(part in ("", ".", "..") for part in parts):
        raise Http404("No such picture.")
    path = (root / name).resolve()  # follows links: where the file really is
    if not path.is_relative_to(root) or path.suffix.lower() not in CONTENT_TYPES or not path.is_file():
        raise Http404("No such picture.")
    return path


@require_safe
def media_serve(request: HttpRequest, path: str) -> HttpResponse:
    picture = _picture_path(path)
    stat = picture.stat()
    if not was_modified_since(request.headers.get("If-Modified-Since"), stat.st_mtime):
        response = HttpResponseNotModified()
    else:
        response = FileResponse(picture.open("rb"), content_type=CONTENT_TYPES[picture.suffix.lower()])
        response["Last-Modified"] = http_date(stat.st_mtime)
    response["Cache-Control"] = f"public, max-age={settings.MEDIA_CACHE_SECONDS}"
    response["X-Content-Type-Options"] = "nosniff"
    return response
