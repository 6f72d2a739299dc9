"""The client's address for the rate limits (django-ratelimit's RATELIMIT_IP_META_KEY callable).

Behind nginx the shop reads the header the proxy sets (RATELIMIT_CLIENT_IP_HEADER, from the
environment variable RATELIMIT_IP_META_KEY, e.g. HTTP_X_REAL_IP). A request that arrives without it,
or with something that is not an IP address in it (a health check straight to gunicorn, a
misconfigured proxy), is counted by its peer address, REMOTE_ADDR, instead of failing with a 500, as
django-ratelimit does when the key it is given is missing. Trusting the header is safe only when
every request comes through the proxy (docs/deploy.md); the fallback does not change that.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest

# A request with no address at all (a Unix socket without a proxy header): every such request shares
# one counter rather than being refused.
UNKNOWN_ADDRESS = "0.0.0.0"


def client_ip(request: HttpRequest) -> str:
    header = getattr(settings, "RATELIMIT_CLIENT_IP_HEADER", "")
    for value in (request.META.get(header, "") if header else "", request.META.get("REMOTE_ADDR", "")):
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            continue
    return UNKNOWN_ADDRESS
