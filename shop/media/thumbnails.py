"""The sizes the pages show product pictures at, and when those thumbnails are made.

Each size is an ImageSpecField of the model that holds the picture (shop.models): django-imagekit
writes the thumbnail through the default storage (the file system or the object store) under
IMAGEKIT_CACHEFILE_DIR, named after its source and a hash of the spec, e.g.
`thumbnails/products/tent/3f1c...e9.jpg`. Uploads never overwrite a name (storage_url.py), so a
thumbnail's name always stands for the same picture and its URL may be cached for long.

The sizes, in pixels, are twice the CSS size at which the widest layout shows them (sharp on
2x screens), in JPEG:

    CARD    480 x 360   a listing card (static/css/shop.css: .product-card-image, 4:3, about 300
                        px wide at four cards a row); cropped to fill, as the card crops
    PAGE    800 x 800   the product page's picture (a 1:1 box half the page wide, at most 636 px);
                        fitted inside, never enlarged, so the whole picture shows
    STRIP   120 x 120   the product page's strip of pictures under it (60 px squares); cropped
"""

from imagekit.cachefiles.strategies import JustInTime
from imagekit.processors import ResizeToFill, ResizeToFit

JPEG_QUALITY = 82
_JPEG = {"format": "JPEG", "options": {"quality": JPEG_QUALITY, "optimize": True, "progressive": True}}

CARD_SIZE = (480, 360)
PAGE_SIZE = (800, 800)
STRIP_SIZE = (120, 120)

# ImageSpecField(source="image", **CARD) and so on, in shop.models.
CARD = {"processors": [ResizeToFill(*CARD_SIZE)], **_JPEG}
PAGE = {"processors": [ResizeToFit(*PAGE_SIZE, upscale=False)], **_JPEG}
STRIP = {"processors": [ResizeToFill(*STRIP_SIZE)], **_JPEG}


class MadeOnSaveOrWhenMissing(JustInTime):
    """Thumbnails are made when their picture is saved (a new upload in the admin), and otherwise the
    first time a page asks for one's URL (pictures written in bulk, e.g. by seed_demo, or a thumbnail
    deleted from the store).

    Asking is cheap once made: imagekit's cache-file backend keeps each thumbnail's state ("exists")
    in the default cache, with no expiry when DEBUG is off (5 minutes with it on), so only the first page after a
    thumbnail is made, or after the cache is emptied, asks the storage whether it is there; a missing
    one is asked about again after 5 s. The page then links to the storage's URL, which costs no call
    to the storage (an unsigned S3 URL, or MEDIA_URL + name, is built locally).
    """

    def on_source_saved(self, file) -> None:
        file.generate()
