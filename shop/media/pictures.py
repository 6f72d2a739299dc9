"""A product's pictures as its page shows them: the main picture first, then its gallery.

`product_gallery` reads what `shop.selectors.product_page_get` prefetched (no query) and asks the
cache about every thumbnail's state in one round trip (imagekit's `prefetch_cachefile_states`), so
a page of N pictures costs one cache read, whatever N, and no call to the storage once the
thumbnails are made (shop/media/thumbnails.py).
"""

from dataclasses import dataclass

from imagekit.cachefiles.state import prefetch_cachefile_states, use_cachefile_state_cache

from shop.models import Product


@dataclass(frozen=True)
class Picture:
    url: str  # the page-size thumbnail (thumbnails.PAGE)
    strip_url: str  # the small square under it (thumbnails.STRIP)
    alt: str


def product_gallery(*, product: Product) -> list[Picture]:
    """The product's main picture (`image`, described by the product's name), then its `images` by
    position; [] when it has none. Needs `images` prefetched (`product_page_get` does)."""
    sources = [(product, product.name)] if product.image else []
    sources += [(extra, extra.alt_text or product.name) for extra in product.images.all()]
    files = [(owner.page_thumbnail, owner.strip_thumbnail, alt) for owner, alt in sources]
    with use_cachefile_state_cache() as states:
        prefetch_cachefile_states([f for page, strip, _ in files for f in (page, strip)], state_cache=states)
        return [Picture(url=page.url, strip_url=strip.url, alt=alt) for page, strip, alt in files]
