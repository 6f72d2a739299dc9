"""Settings for the backorder shop, read from environment variables.

Every value a deployment may want to change comes from the environment (or a
`.env` file next to `manage.py`). The defaults are chosen so that a fresh clone
runs with nothing else installed: a SQLite file, a Celery broker on the local
filesystem, and emails printed to the console.
"""

import sys
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from split_settings.tools import include

from config.csp_policy import content_security_policy
from config.database import database_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"  # local runtime data: SQLite file, broker folders, uploads

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    # A development-only key; production must set SECRET_KEY (check --deploy warns otherwise).
    default="django-insecure-dev-only-key-do-not-use-in-production-0123456789",
)
# Old keys still accepted for signatures while a new SECRET_KEY rolls out, so the links in emails
# already sent (order pages, delay and unsubscribe links) keep working (docs/security.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # search lookups (shop/search.py); on SQLite they are simply not used
    "crispy_forms",
    "crispy_bootstrap5",
    "django_countries",  # country names in the customer's language (orders.forms.country_choices, invoices)
    "bootstrap",  # Bootstrap 5 CSS/JS from the django-bootstrap-static wheel (no CDN)
    "import_export",  # CSV import/export of the catalog and stock in the admin
    "csp",  # Content-Security-Policy header (docs/security.md); its system checks catch old-style settings
    "imagekit",  # product picture thumbnails (shop/media/thumbnails.py)
    "rest_framework",  # the integration API (api/, docs/api.md)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as static files, no CDN
    "shop",
    "inventory",
    "orders",
    "notifications",
    "accounts",
    "tax",
    "invoices",
    "api",
    "webhooks",
]

MIDDLEWARE = [
    "config.observability.request_id.RequestIdMiddleware",  # first: every log line of a request has its id
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # after sessions, before common: the language from the path
    "shop.middleware.PreferredLanguageRedirectMiddleware",  # a first German visit to /x/ goes to /de/x/
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "inventory.middleware.ReadScopeMiddleware",  # the calendar and supplier habits once per request
    "config.observability.metrics.WebhookFailureMiddleware",  # counts failed Stripe webhooks for /metrics
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
                "orders.context_processors.cart",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

# DATABASE_POOL: "" (a connection per thread, kept CONN_MAX_AGE s), "psycopg" (Django's pool in each
# process) or "pgbouncer" (transaction pooling in front); what each changes: config/database.py and
# docs/operations.md, "Database connections".
DATABASES = {
    "default": database_settings(
        parsed=env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        pool=env.str("DATABASE_POOL", default=""),
        conn_max_age=env.int("CONN_MAX_AGE", default=60),
        pool_min_size=env.int("DATABASE_POOL_MIN_SIZE", default=2),
        pool_max_size=env.int("DATABASE_POOL_MAX_SIZE", default=4),
        pool_timeout=env.int("DATABASE_POOL_TIMEOUT", default=10),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

include("settings_parts/workers.py")  # Redis, the cache, sessions, Celery

# --- Email ------------------------------------------------------------------------

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Backorder Shop <shop@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
STAFF_ALERT_EMAILS = env.list("STAFF_ALERT_EMAILS", default=[])
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=6)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=30)
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = env.int("NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", default=600)
# The sweep (every 30 s, CELERY_BEAT_SCHEDULE) leaves a pending email this long to its own broker message
# before it sends it itself: an email whose message was lost goes out at most GRACE + 30 s after it was
# written, once beat and a worker are connected (docs/operations.md).
NOTIFICATIONS_SWEEP_GRACE_SECONDS = env.int("NOTIFICATIONS_SWEEP_GRACE_SECONDS", default=60)
# Emails sent per task (and per SMTP session) when a back-in-stock wave goes out.
NOTIFICATIONS_SEND_BATCH_SIZE = env.int("NOTIFICATIONS_SEND_BATCH_SIZE", default=100)

# --- Back-in-stock alerts -------------------------------------------------------------------

# A wave notifies at most RATIO x (units free beyond the backorder queue), oldest confirmations first;
# if units are still free after the wait, the next wave goes out.
BACK_IN_STOCK_NOTIFY_RATIO = env.int("BACK_IN_STOCK_NOTIFY_RATIO", default=3)
BACK_IN_STOCK_WAVE_WAIT_MINUTES = env.int("BACK_IN_STOCK_WAVE_WAIT_MINUTES", default=60)
BACK_IN_STOCK_PAGE_SIZE = env.int("BACK_IN_STOCK_PAGE_SIZE", default=5000)  # subscriptions locked per query
# "Notify me" signups allowed per client IP and per email address (django-ratelimit rates).
BACK_IN_STOCK_SIGNUP_RATE_PER_IP = env.str("BACK_IN_STOCK_SIGNUP_RATE_PER_IP", default="20/h")
BACK_IN_STOCK_SIGNUP_RATE_PER_EMAIL = env.str("BACK_IN_STOCK_SIGNUP_RATE_PER_EMAIL", default="5/h")

# --- Delays, escalation and feedback (docs/delays.md) ------------------------------------------

# A delay email waits this long after the last slip found for its order, so that several changes
# (three purchase-order edits in a morning) become one email; but never longer than MAX_WAIT after
# the first slip. At most one delay email per order a day: a later one waits for NEXT_DAY_HOUR.
DELAY_NOTIFY_QUIET_MINUTES = env.int("DELAY_NOTIFY_QUIET_MINUTES", default=30)
DELAY_NOTIFY_MAX_WAIT_MINUTES = env.int("DELAY_NOTIFY_MAX_WAIT_MINUTES", default=240)
DELAY_NOTIFY_NEXT_DAY_HOUR = env.int("DELAY_NOTIFY_NEXT_DAY_HOUR", default=8)
# How long the "Keep waiting" and "Cancel these items" links of a delay email work.
DELAY_LINK_MAX_AGE_DAYS = env.int("DELAY_LINK_MAX_AGE_DAYS", default=30)
# A line still waiting this many days after its first promised date is flagged for staff.
DELAY_ESCALATE_AFTER_DAYS = env.int("DELAY_ESCALATE_AFTER_DAYS", default=14)
# The daily overdue scan runs at this hour (shop time); the staff digest half an hour later.
DELAY_DAILY_SCAN_HOUR = env.int("DELAY_DAILY_SCAN_HOUR", default=6)
# An order counts as delivered this many days after its last shipment (no carrier tracking yet);
# orders delivered longer than MAX_AGE days ago are never asked.
FEEDBACK_DELAY_DAYS = env.int("FEEDBACK_DELAY_DAYS", default=5)
FEEDBACK_MAX_AGE_DAYS = env.int("FEEDBACK_MAX_AGE_DAYS", default=30)
FEEDBACK_LINK_MAX_AGE_DAYS = env.int("FEEDBACK_LINK_MAX_AGE_DAYS", default=60)
FEEDBACK_SEND_HOUR = env.int("FEEDBACK_SEND_HOUR", default=10)

CELERY_BEAT_SCHEDULE |= {  # noqa: F821  (defined by settings_parts/workers.py, included above)
    # Send delay emails whose quiet period is over (the due time lives in the database).
    "delay-notices": {"task": "orders.tasks.send_due_delay_notices", "schedule": 60.0},
    # Overdue lines (promised date passed, still waiting) and any slip a lost message missed.
    "delay-daily-scan": {
        "task": "orders.tasks.scan_delays",
        "schedule": crontab(hour=DELAY_DAILY_SCAN_HOUR, minute=0),
    },
    "delay-staff-digest": {
        "task": "orders.tasks.send_delay_digest",
        "schedule": crontab(hour=DELAY_DAILY_SCAN_HOUR, minute=30),
    },
    "feedback-requests": {
        "task": "orders.tasks.send_feedback_requests",
        "schedule": crontab(hour=FEEDBACK_SEND_HOUR, minute=0),
    },
    # Unpaid card charges: the reminder before their grace ends, then their units to the next customer.
    "card-payments-grace": {"task": "orders.tasks.card_payments_grace_sweep", "schedule": 15 * 60.0},
}

# django-ratelimit counts in the default cache: Redis when REDIS_URL is set, else the shared file
# cache (its increments are not atomic, so under a burst a few extra requests may get through).
RATELIMIT_USE_CACHE = "default"
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
# If the cache itself is down (Redis outage), let requests through rather than refuse everyone.
RATELIMIT_FAIL_OPEN = env.bool("RATELIMIT_FAIL_OPEN", default=True)
# Behind a proxy, the META key (e.g. HTTP_X_REAL_IP) that holds the client address; REMOTE_ADDR when it
# is not set, or when a request lacks the header or its value is not an address (config/client_ip.py).
RATELIMIT_CLIENT_IP_HEADER = env.str("RATELIMIT_IP_META_KEY", default="")
RATELIMIT_IP_META_KEY = "config.client_ip.client_ip"
# Account pages (docs/security.md): POSTs counted per client IP and per email address typed; over
# the limit the page answers 429 and does not check the password, create the account or send email.
LOGIN_RATE_PER_IP = env.str("LOGIN_RATE_PER_IP", default="10/m")
LOGIN_RATE_PER_USERNAME = env.str("LOGIN_RATE_PER_USERNAME", default="10/m")
SIGNUP_RATE_PER_IP = env.str("SIGNUP_RATE_PER_IP", default="5/h")  # accounts created
SIGNUP_ATTEMPT_RATE_PER_IP = env.str("SIGNUP_ATTEMPT_RATE_PER_IP", default="20/h")  # forms posted
PASSWORD_RESET_RATE_PER_IP = env.str("PASSWORD_RESET_RATE_PER_IP", default="10/h")
PASSWORD_RESET_RATE_PER_EMAIL = env.str("PASSWORD_RESET_RATE_PER_EMAIL", default="3/h")
# "Send the link again" on the account page (accounts.views): confirmation emails per account.
ACCOUNT_VERIFY_RESEND_RATE = env.str("ACCOUNT_VERIFY_RESEND_RATE", default="3/h")
# "Ask about this order" (orders.views.questions): questions sent per client IP and per order.
ORDER_QUESTION_RATE_PER_IP = env.str("ORDER_QUESTION_RATE_PER_IP", default="10/h")
ORDER_QUESTION_RATE_PER_ORDER = env.str("ORDER_QUESTION_RATE_PER_ORDER", default="5/d")

# --- Auth -------------------------------------------------------------------------

# The login is the email address (accounts.User, docs/accounts.md).
AUTH_USER_MODEL = "accounts.User"
# How long a "confirm your email address" link works (accounts.tokens), in hours.
ACCOUNT_VERIFY_LINK_HOURS = env.int("ACCOUNT_VERIFY_LINK_HOURS", default=72)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

# --- Internationalisation -----------------------------------------------------------

# docs/i18n.md. English is the default and has no URL prefix; every other language's customer pages
# are under /<code>/ (config/urls.py). Admin, API and webhooks stay English.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# config/formats/en: English keeps the British date and number formats it had as "en-gb".
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Shop -------------------------------------------------------------------------

SHOP_NAME = env.str("SHOP_NAME", default="Backorder Shop")
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="EUR")
# VAT (docs/tax.md): the shop's own VAT country (its B2B customers there pay VAT; those of other EU
# countries with a valid VAT number do not: reverse charge); catalog prices entered including VAT (B2C)
# or net; whether buyers outside the EU pay the price less the VAT it includes (else the price as shown).
SHOP_TAX_COUNTRY = env.str("SHOP_TAX_COUNTRY", default="DE").upper()
SHOP_PRICES_INCLUDE_VAT = env.bool("SHOP_PRICES_INCLUDE_VAT", default=True)
SHOP_EXPORT_PRICES_NET = env.bool("SHOP_EXPORT_PRICES_NET", default=False)
SHOP_BASE_URL = env.str("SHOP_BASE_URL", default="http://127.0.0.1:8000")
SHOP_PAGE_SIZE = env.int("SHOP_PAGE_SIZE", default=24)
# The page cache (shop/cache.py, docs/operations.md): the longest a cached listing grid or navbar may
# miss a change that no hook reports (stock changes report theirs). 0 turns the page cache off.
SHOP_PAGE_CACHE_TTL = env.int("SHOP_PAGE_CACHE_TTL", default=60)
# Part of every page-cache key: two sites sharing one Redis database keep apart (each test has its own).
SHOP_CACHE_NAMESPACE = env.str("SHOP_CACHE_NAMESPACE", default="")
# "split": ship what is in stock now, the rest as it arrives; "together": one shipment when all is in.
SHOP_DEFAULT_SHIP_POLICY = env.str("SHOP_DEFAULT_SHIP_POLICY", default="split")
# How customers reach the shop: every page's footer, the contact page (/contact/) and every email's
# footer show these; questions from "Ask about this order" go to SHOP_CONTACT_EMAIL. An empty value
# is left out. The defaults are a demo's (example.com, and a number Ofcom reserves for drama).
SHOP_CONTACT_EMAIL = env.str("SHOP_CONTACT_EMAIL", default="support@example.com")
SHOP_CONTACT_PHONE = env.str("SHOP_CONTACT_PHONE", default="+44 20 7946 0321")
SHOP_ADDRESS = env.str(
    "SHOP_ADDRESS", default="Backorder Shop Ltd, 12 Analytical Row, London N1 9GU, United Kingdom"
)
SHOP_SUPPORT_HOURS = env.str("SHOP_SUPPORT_HOURS", default="Monday to Friday, 9:00 to 17:00 UK time")
# The seller on invoices and credit notes (docs/tax.md, "Invoices and credit notes"): the legal name,
# the address (comma-separated parts, a printed line each) and the VAT identification number. The
# defaults are a demo's: set the real ones before issuing a real invoice. A document keeps the values
# it was issued with. Their PDFs are kept under SHOP_DOCUMENTS_ROOT, never served as media.
SHOP_LEGAL_NAME = env.str("SHOP_LEGAL_NAME", default="Backorder Shop GmbH")
SHOP_LEGAL_ADDRESS = env.str("SHOP_LEGAL_ADDRESS", default="Musterstraße 1, 10115 Berlin, Germany")
SHOP_VAT_ID = env.str("SHOP_VAT_ID", default="DE123456789")
SHOP_DOCUMENTS_ROOT = env.str("SHOP_DOCUMENTS_ROOT", default=str(VAR_DIR / "documents"))

# --- Payments (README "Paying by card") ------------------------------------------------------

# A test run: pytest itself (pytest-django loads these settings before any conftest runs), or a
# process a test harness starts with SHOP_TEST_HARNESS=1 (conftest.py sets it for every process the
# suite starts; `make bench` and `make load` for theirs). Only there may the test card gateway run
# with DEBUG off.
UNDER_PYTEST = "pytest" in sys.modules
TEST_HARNESS = UNDER_PYTEST or env.bool("SHOP_TEST_HARNESS", default=False)
# The raw-card "test_card" gateway (orders/payments.py): card numbers typed into the shop's own form,
# never charged anywhere. For tests and demos only; a production process refuses to start with it.
PAYMENT_TEST_GATEWAY = env.bool("PAYMENT_TEST_GATEWAY", default=TEST_HARNESS)
if PAYMENT_TEST_GATEWAY and not DEBUG and not TEST_HARNESS:
    raise ImproperlyConfigured(
        "PAYMENT_TEST_GATEWAY is on with DEBUG off: the test card gateway takes card numbers on the "
        "shop's own form and charges nothing. Unset PAYMENT_TEST_GATEWAY in production."
    )

# Stripe (orders/stripe_api.py). Card payments are on when both keys are set. STRIPE_API_BASE points
# the same code at another server speaking Stripe's API: localstripe under `make run` and in tests
# (http://127.0.0.1:8420, `manage.py localstripe`); empty means Stripe itself.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
# Signs the events Stripe posts to /payments/stripe/webhook/ (Dashboard, or `stripe listen` locally).
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
if UNDER_PYTEST:
    # A developer's real keys in the environment never reach a test: a test that wants Stripe asks
    # for conftest.py's `stripe_settings`, which points it at the suite's own localstripe.
    STRIPE_SECRET_KEY = STRIPE_PUBLISHABLE_KEY = STRIPE_WEBHOOK_SECRET = STRIPE_API_BASE = ""
if STRIPE_API_BASE and (
    urlsplit(STRIPE_API_BASE).scheme not in ("http", "https") or not urlsplit(STRIPE_API_BASE).netloc
):
    raise ImproperlyConfigured(f"STRIPE_API_BASE={STRIPE_API_BASE!r}: expected e.g. http://127.0.0.1:8420")
STRIPE_ENABLED = bool(STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY)
# Stripe.js; localstripe serves its stand-in at the same path under its own address.
STRIPE_JS_URL = f"{STRIPE_API_BASE}/js.stripe.com/v3/" if STRIPE_API_BASE else "https://js.stripe.com/v3/"

# How an order is paid by card unless the customer chooses otherwise: "ship" (the card is saved at
# checkout and each parcel is charged as it ships), "now" (everything at checkout) or "deposit"
# (PAYMENT_DEPOSIT_PERCENT of the order at checkout, the rest as the parcels ship).
PAYMENT_PLAN_DEFAULT = env.str("PAYMENT_PLAN_DEFAULT", default="ship")
PAYMENT_DEPOSIT_PERCENT = env.int("PAYMENT_DEPOSIT_PERCENT", default=20)
# A card authorization (a hold on the money) is trusted this many days; later the charge is a new one.
PAYMENT_AUTHORIZATION_DAYS = env.int("PAYMENT_AUTHORIZATION_DAYS", default=7)
# A payment that needs the customer (a declined charge, a bank asking them to confirm) leaves them this
# many days to act before the shop gives up on it; a reminder goes PAYMENT_REMINDER_HOURS before the end.
PAYMENT_GRACE_DAYS = env.int("PAYMENT_GRACE_DAYS", default=3)
PAYMENT_REMINDER_HOURS = env.int("PAYMENT_REMINDER_HOURS", default=24)
# Card holds in their last day are released before they expire; their parcels are charged at
# shipment instead (orders.services.card_expiry, docs/payments.md).
CELERY_BEAT_SCHEDULE |= {  # noqa: F821  (defined by settings_parts/workers.py, included above)
    "card-authorizations-renew": {"task": "orders.tasks.card_authorizations_renew", "schedule": 3600.0},
}
SUPPLIER_CONFIRM_REMINDER_DAYS = env.int("SUPPLIER_CONFIRM_REMINDER_DAYS", default=3)  # docs/inventory.md


def _require(ok: bool, problem: str) -> None:
    if not ok:
        raise ImproperlyConfigured(problem)


_require(
    PAYMENT_PLAN_DEFAULT in ("ship", "now", "deposit"),
    f"PAYMENT_PLAN_DEFAULT={PAYMENT_PLAN_DEFAULT!r}: expected ship, now or deposit",
)
_require(
    1 <= PAYMENT_DEPOSIT_PERCENT <= 99, f"PAYMENT_DEPOSIT_PERCENT={PAYMENT_DEPOSIT_PERCENT}: expected 1 to 99"
)
_require(
    PAYMENT_AUTHORIZATION_DAYS >= 1,
    f"PAYMENT_AUTHORIZATION_DAYS={PAYMENT_AUTHORIZATION_DAYS}: expected 1 or more",
)
_require(PAYMENT_GRACE_DAYS >= 1, f"PAYMENT_GRACE_DAYS={PAYMENT_GRACE_DAYS}: expected 1 or more")
_require(
    0 < PAYMENT_REMINDER_HOURS < PAYMENT_GRACE_DAYS * 24,
    f"PAYMENT_REMINDER_HOURS={PAYMENT_REMINDER_HOURS}: expected 1 to {PAYMENT_GRACE_DAYS * 24 - 1}, "
    f"inside PAYMENT_GRACE_DAYS={PAYMENT_GRACE_DAYS}",
)

# --- Inventory defaults (a variant's own BackorderPolicy overrides them) -------------------

INVENTORY_DEFAULT_BACKORDER_MODE = env.str("INVENTORY_DEFAULT_BACKORDER_MODE", default="deny")  # deny | allow
INVENTORY_DEFAULT_LEAD_TIME_DAYS = env.int("INVENTORY_DEFAULT_LEAD_TIME_DAYS", default=21)
INVENTORY_LOW_STOCK_THRESHOLD = env.int("INVENTORY_LOW_STOCK_THRESHOLD", default=5)
# A purchase order past its expected date is still coming; promise it this many shipping days from today.
INVENTORY_OVERDUE_GRACE_DAYS = env.int("INVENTORY_OVERDUE_GRACE_DAYS", default=3)
# Promised dates fall on shipping days (docs/dates.md): these weekdays, minus SHOP_COUNTRY's public
# holidays (ISO 3166 code, "GB-ENG" = England's bank holidays, as the shop's address) and staff closures.
SHOP_COUNTRY = env.str("SHOP_COUNTRY", default="GB-ENG")
SHOP_SHIPPING_WEEKDAYS = env.list("SHOP_SHIPPING_WEEKDAYS", default=["mon", "tue", "wed", "thu", "fri"])
# Order lines served per transaction by the allocation pass, over all its variants (each batch
# commits on its own and holds the variants' locks about 0.1 s; on PostgreSQL the orders of one
# batch are updated while the next is served, so smaller batches also overlap more).
INVENTORY_ALLOCATION_BATCH_SIZE = env.int("INVENTORY_ALLOCATION_BATCH_SIZE", default=2500)

# Replenishment report (docs/staff.md): sales velocity window, safety stock and review period, in days.
INVENTORY_REPLENISHMENT_WINDOW_DAYS = env.int("INVENTORY_REPLENISHMENT_WINDOW_DAYS", default=30)
INVENTORY_REPLENISHMENT_SAFETY_DAYS = env.int("INVENTORY_REPLENISHMENT_SAFETY_DAYS", default=7)
INVENTORY_REPLENISHMENT_REVIEW_DAYS = env.int("INVENTORY_REPLENISHMENT_REVIEW_DAYS", default=14)
# Supplier habits (docs/inventory.md): received orders needed to learn; days late assumed until then.
SUPPLIER_MIN_SAMPLE = env.int("SUPPLIER_MIN_SAMPLE", default=5)
SUPPLIER_DEFAULT_LATE_P50_DAYS = env.int("SUPPLIER_DEFAULT_LATE_P50_DAYS", default=2)
SUPPLIER_DEFAULT_LATE_P90_DAYS = env.int("SUPPLIER_DEFAULT_LATE_P90_DAYS", default=7)

# --- CSV import/export (django-import-export) ------------------------------------------------

# An import runs in one transaction: a bad row and nothing is written.
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
# Importing needs the model's "change" permission, exporting its "view" permission.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"

include("settings_parts/storage.py")  # static and media files

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security (strict unless DEBUG) ---------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp 4 format), on every page in every mode, the admin included: no
# inline script or style anywhere, so templates link static files only (docs/security.md).
# frame-src only spells out what default-src already allows: the admin's email preview shows the
# email's HTML in a sandboxed same-origin iframe; that one response carries its own narrower policy.
# With card payments on, Stripe.js adds its origins (config/csp_policy.py); pictures on an object
# store add its origin to img-src (MEDIA_ORIGIN, config/settings_parts/storage.py).
CONTENT_SECURITY_POLICY = content_security_policy(
    stripe_enabled=STRIPE_ENABLED,
    stripe_api_base=STRIPE_API_BASE,
    media_origin=MEDIA_ORIGIN,  # noqa: F821 (set by settings_parts/storage.py, included above)
)

include("settings_parts/api.py")  # the integration API: REST framework, the OpenAPI schema
include("settings_parts/webhooks.py")  # outgoing webhooks: timeouts, retries, the sweep
include("settings_parts/observability.py")  # logging, ADMINS, Sentry, the metrics token
