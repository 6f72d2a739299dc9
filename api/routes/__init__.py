"""Routes under /api/v1/, one module per sub-domain, included by api/urls.py."""
