"""Static and media files: where they are stored and how they are served (docs/operations.md).

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

import hashlib

from shop.media.storage_url import media_storage

# --- Static and media files -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))  # collectstatic writes here
STATICFILES_DIRS = [BASE_DIR / "static"]

# Media: product pictures and their thumbnails (shop/media/, docs/operations.md "Media: product
# pictures"). MEDIA_STORAGE_URL empty: files under MEDIA_ROOT, served at MEDIA_URL by
# shop.media.serve (DEBUG on or off) or by nginx in front; s3://BUCKET?...: an S3-compatible
# object store, whose own URLs the pages link to (the CSP's img-src lets them in).
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_STORAGE_URL = env.str("MEDIA_STORAGE_URL", default="")
# Cache-Control max-age of media: the file-system view's responses and every object written to
# the store. Uploads never overwrite a name, so a URL always means the same bytes.
MEDIA_CACHE_SECONDS = env.int("MEDIA_CACHE_SECONDS", default=86400)
_media = media_storage(
    MEDIA_STORAGE_URL,
    access_key=env.str("MEDIA_STORAGE_ACCESS_KEY_ID", default=""),
    secret_key=env.str("MEDIA_STORAGE_SECRET_ACCESS_KEY", default=""),
    cache_seconds=MEDIA_CACHE_SECONDS,
)
MEDIA_ON_OBJECT_STORE = _media.is_object_store
MEDIA_ORIGIN = _media.origin  # "" when the shop serves media itself

STORAGES = {
    "default": _media.storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Thumbnails (django-imagekit, shop/media/thumbnails.py): written through the default storage under
# this folder, named after their source; made when a picture is saved, else the first time a page
# needs one. Whether one exists is remembered in the cache (Redis or the file cache), so a page
# asks the store nothing once its thumbnails are made.
IMAGEKIT_CACHEFILE_DIR = "thumbnails"
IMAGEKIT_DEFAULT_CACHEFILE_STRATEGY = "shop.media.thumbnails.MadeOnSaveOrWhenMissing"
IMAGEKIT_SPEC_CACHEFILE_NAMER = "imagekit.cachefiles.namers.source_name_as_path"
# The states are keyed by the storage they describe: a shop pointed at another store (or another
# MEDIA_ROOT) never takes a thumbnail made in the old one for made (docs/operations.md, moving files).
IMAGEKIT_CACHE_PREFIX = (
    f"imagekit:{hashlib.sha256((MEDIA_STORAGE_URL or MEDIA_ROOT).encode()).hexdigest()[:12]}:"
)
