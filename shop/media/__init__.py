"""Product pictures: where media files are stored, how they are served, their thumbnails and galleries.

- `storage_url`: MEDIA_STORAGE_URL read into the default storage (S3-compatible object store, or the
  file system under MEDIA_ROOT) and the origin pages load pictures from (the CSP's img-src).
- `serve`: the view that serves MEDIA_ROOT's pictures with DEBUG off (the file-system mode).
- `thumbnails`: the sizes the pages show (django-imagekit specs), stored through the same storage.
- `pictures`: a product's pictures with their thumbnails' URLs resolved for a page, in one batch.

Nothing here imports the shop's models at import time: config.settings reads `storage_url`.
docs/operations.md ("Media: product pictures") says how to run each mode.
"""
