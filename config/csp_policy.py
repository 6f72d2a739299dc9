"""The Content-Security-Policy of every page (config/settings.py, docs/security.md), with what Stripe.js
needs when card payments are on."""

from urllib.parse import urlsplit

from csp.constants import NONE, SELF


def content_security_policy(*, stripe_enabled: bool, stripe_api_base: str, media_origin: str = "") -> dict:
    """The site's policy; with Stripe on, plus exactly what Stripe.js needs.

    Stripe itself: its script from js.stripe.com, its calls to api.stripe.com, its card fields and
    3-D Secure pages in frames from js.stripe.com and hooks.stripe.com. localstripe (a
    STRIPE_API_BASE): script and calls to that one origin; its stand-in draws no frames.
    `media_origin`: the object store product pictures load from (MEDIA_ORIGIN), "" when the shop
    serves them itself.
    """
    directives = {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *([media_origin] if media_origin else [])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "frame-src": [SELF],
    }
    if stripe_enabled and stripe_api_base:
        parts = urlsplit(stripe_api_base)
        origin = f"{parts.scheme}://{parts.netloc}"
        directives["script-src"] += [origin]
        directives["connect-src"] = [SELF, origin]
    elif stripe_enabled:
        directives["script-src"] += ["https://js.stripe.com"]
        directives["connect-src"] = [SELF, "https://api.stripe.com"]
        directives["frame-src"] += ["https://js.stripe.com", "https://hooks.stripe.com"]
    return {"DIRECTIVES": directives}
