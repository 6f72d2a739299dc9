"""The integration API (api/, docs/api.md): Django REST framework and the OpenAPI schema.

Part of config/settings.py, included by django-split-settings. Every environment variable it reads
has a row in README.md.
"""

# ruff: noqa: F821  (env, SHOP_NAME... come from config/settings.py)

# Requests per minute for a staff session using the API (each API key has its own limit, set in the admin).
API_STAFF_RATE_PER_MINUTE = env.int("API_STAFF_RATE_PER_MINUTE", default=600)
# Answers to POSTs with an Idempotency-Key are replayed to retries for this many days, then pruned daily.
API_IDEMPOTENCY_KEEP_DAYS = env.int("API_IDEMPOTENCY_KEEP_DAYS", default=7)
if API_IDEMPOTENCY_KEEP_DAYS < 1:
    raise ImproperlyConfigured(
        f"API_IDEMPOTENCY_KEEP_DAYS={API_IDEMPOTENCY_KEEP_DAYS}: expected 1 or more days"
    )

CELERY_BEAT_SCHEDULE |= {
    "api-idempotent-requests-prune": {
        "task": "api.tasks.prune_idempotent_requests",
        "schedule": crontab(hour=3, minute=45),  # after data-retention (03:15)
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.ApiKeyAuthentication",
        "api.auth.StaffSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerKeyRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.ShopCursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ShopAutoSchema",
    "EXCEPTION_HANDLER": "api.errors.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_VERSIONING_CLASS": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": f"{SHOP_NAME} integration API",
    "DESCRIPTION": "Read and drive stock, purchase orders and backorders from an ERP, a warehouse system or a "
    "CRM. Guide: docs/api.md. Authenticate with `Authorization: Bearer <API key>`; every POST needs an "
    "`Idempotency-Key` header; errors are RFC 9457 problem details.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Redoc's search runs in a worker made from a blob: URL, which the shop's CSP refuses (api.views.docs).
    "REDOC_UI_SETTINGS": {"disableSearch": True},
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    # The schema's sections, in this order (api.schema.TAGS_BY_PATH puts each endpoint in one).
    "TAGS": [
        {"name": "Catalog", "description": "Variants with the product page's availability; warehouses."},
        {
            "name": "Stock and the ledger",
            "description": "Stock per warehouse and every movement; adjust and count.",
        },
        {"name": "Purchasing", "description": "Purchase orders from draft to received; suppliers."},
        {
            "name": "Orders",
            "description": "Orders with lines, amounts and timeline; backorder queues; ship, cancel waiting units, "
            "priority.",
        },
    ],
}
