"""The first visit in another language than English (docs/i18n.md, "How the language is chosen").

LocaleMiddleware takes the language from the path alone (English unprefixed, German under /de/), so
a page's language never depends on headers and the page cache keys by path and language. This
middleware sends a visitor who prefers another language of settings.LANGUAGES (their language cookie,
set by the switcher; with no cookie, the browser's Accept-Language) from an unprefixed customer page
to the same page under their prefix, once: the redirect is a GET (or HEAD) to a URL that exists under
that prefix (admin, API, webhooks, health and metrics do not), and the answer varies on both headers.
A visitor who picked English in the switcher has an "en" cookie and is never redirected.
"""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.urls import get_urlconf, is_valid_path
from django.utils import translation
from django.utils.cache import patch_vary_headers


class PreferredLanguageRedirectMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        redirect = self._redirect(request)
        return redirect if redirect is not None else self.get_response(request)

    def _redirect(self, request) -> HttpResponseRedirect | None:
        if request.method not in ("GET", "HEAD") or translation.get_language_from_path(request.path_info):
            return None
        preferred = translation.get_language_from_request(request, check_path=False)
        if preferred == settings.LANGUAGE_CODE:
            return None
        prefixed = f"/{preferred}{request.path_info}"
        with translation.override(preferred):  # the prefix patterns match the active language's prefix
            exists = is_valid_path(prefixed, get_urlconf())
        if not exists:
            return None  # not a customer page (admin, /api/, webhooks, /healthz, /metrics)
        query = request.META.get("QUERY_STRING", "")
        response = HttpResponseRedirect(
            f"{request.META.get('SCRIPT_NAME', '')}{prefixed}" + (f"?{query}" if query else "")
        )
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response
