"""The load test's `Shopper` (load/locustfile.py), as a browser sends it over HTTPS through nginx.

Django checks a secure POST's Origin (or Referer) against the host: browsers send Origin, locust
does not, so every request carries the Origin of SCALE_ORIGIN (https://127.0.0.1:<nginx port>).
"""

import os

from load.locustfile import Shopper


class ScaleShopper(Shopper):
    default_headers = {"Origin": os.environ.get("SCALE_ORIGIN", "")}
