"""Static and media files: where they are stored and how they are served (docs/operations.md).

Part of config/settings.py, included into it by django-split-settings (`include`): it runs in the
settings' own namespace, so it reads `env`, `BASE_DIR`, `VAR_DIR` and the settings above it, and
defines settings the same way. Every environment variable it reads has a row in README.md.
"""

# ruff: noqa: F821  (env, BASE_DIR, VAR_DIR, DEBUG... come from config/settings.py)

# --- Static and media files -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))  # collectstatic writes here
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
