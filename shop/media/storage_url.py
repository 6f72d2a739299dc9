"""MEDIA_STORAGE_URL: which storage holds uploaded and generated media, read once by the settings.

Empty: the file system under MEDIA_ROOT, served at MEDIA_URL (`shop.media.serve`, or nginx).
`s3://BUCKET[/PREFIX][?OPTION=VALUE&...]`: an S3-compatible object store through django-storages,
pictures loaded by browsers straight from the store's own URLs. The options:

    endpoint_url     the store's address when it is not AWS (MinIO, Ceph, a test server), e.g.
                     http://127.0.0.1:9000
    region           the bucket's region, e.g. eu-west-1
    addressing_style path (https://host/BUCKET/key) or virtual (https://BUCKET.host/key); empty:
                     boto3's choice (path-style for an endpoint_url, virtual-hosted for AWS)
    custom_domain    a host (a CDN) that serves the bucket: URLs become https://HOST/PREFIX/key
    signed           1: signed URLs that expire (for a bucket that is not public); default 0: plain
                     URLs of a bucket whose pictures are public (docs/operations.md says why)
    expire           seconds a signed URL works (default 3600; only with signed=1)

Credentials are not part of the URL (a secret with "/" or "+" would need escaping there): they come
from MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY, or, both empty, from boto3's
own chain (AWS_ACCESS_KEY_ID..., an instance role).

Pure functions of their arguments: config/settings_parts/storage.py calls them with the environment,
and the tests call them directly. Bad values raise ImproperlyConfigured with what to write instead.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
FILE_SYSTEM_BACKEND = "django.core.files.storage.FileSystemStorage"
OPTIONS = ("endpoint_url", "region", "addressing_style", "custom_domain", "signed", "expire")
ADDRESSING_STYLES = ("path", "virtual")
DEFAULT_SIGNED_URL_SECONDS = 3600


@dataclass(frozen=True)
class MediaStorage:
    """What the settings need: the STORAGES["default"] entry, and where browsers fetch media from."""

    storage: dict
    is_object_store: bool
    origin: str  # scheme://host[:port] of the media URLs, or "" for the shop's own (CSP 'self')


def _fail(url: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"MEDIA_STORAGE_URL={url!r}: {problem}. Expected empty (the file system, MEDIA_ROOT) or "
        "s3://BUCKET[/PREFIX]?endpoint_url=...&region=... (docs/operations.md, 'Media')."
    )


def _flag(url: str, name: str, value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off", ""):
        return False
    raise _fail(url, f"{name}={value!r} is neither 1 nor 0")


def _origin(url: str, *, bucket: str, query: dict) -> str:
    """The scheme and host of the URLs django-storages will build (the tests compare with its own)."""
    if query.get("custom_domain"):
        return f"https://{query['custom_domain']}"
    style = query.get("addressing_style", "")
    endpoint = query.get("endpoint_url", "")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _fail(url, f"endpoint_url={endpoint!r} is not an http(s)://host[:port] address")
        netloc = f"{bucket}.{parts.netloc}" if style == "virtual" else parts.netloc
        return f"{parts.scheme}://{netloc}"
    if style == "path":
        region = query.get("region", "")
        return f"https://s3.{region}.amazonaws.com" if region else "https://s3.amazonaws.com"
    return f"https://{bucket}.s3.amazonaws.com"


def media_storage(
    url: str, *, access_key: str = "", secret_key: str = "", cache_seconds: int = 86400
) -> MediaStorage:
    """The default storage MEDIA_STORAGE_URL asks for (the module's docstring lists the options).

    `cache_seconds` becomes the Cache-Control max-age of every object written to the store (the
    file-system view sends the same, `shop.media.serve`).
    """
    url = url.strip()
    if not url:
        return MediaStorage(
            storage={"BACKEND": FILE_SYSTEM_BACKEND},  # MEDIA_ROOT and MEDIA_URL, read when first used
            is_object_store=False,
            origin="",
        )
    parts = urlsplit(url)
    if parts.scheme != "s3":
        raise _fail(url, f"the scheme {parts.scheme or '(none)'!r} is not s3")
    bucket = parts.hostname or ""
    if not bucket or parts.username or parts.password or parts.port:
        raise _fail(
            url,
            "the bucket's name goes after s3:// (credentials in MEDIA_STORAGE_ACCESS_KEY_ID and "
            "MEDIA_STORAGE_SECRET_ACCESS_KEY, the store's address in endpoint_url=)",
        )
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({name for name, _ in pairs} - set(OPTIONS))
    if unknown:
        raise _fail(url, f"unknown option {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    query = dict(pairs)
    style = query.get("addressing_style", "")
    if style and style not in ADDRESSING_STYLES:
        raise _fail(url, f"addressing_style={style!r} is neither path nor virtual")
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured(
            "MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY go together: set both, "
            "or neither (boto3 then finds credentials itself: AWS_ACCESS_KEY_ID..., an instance role)."
        )
    signed = _flag(url, "signed", query.get("signed", "0"))
    try:
        expire = int(query.get("expire", DEFAULT_SIGNED_URL_SECONDS))
    except ValueError:
        raise _fail(url, f"expire={query['expire']!r} is not a number of seconds") from None
    if expire <= 0:
        raise _fail(url, "expire must be a positive number of seconds")
    if signed and query.get("custom_domain"):
        raise _fail(url, "signed=1 and custom_domain do not mix (django-storages signs only its own URLs)")
    options = {
        "bucket_name": bucket,
        "location": parts.path.strip("/"),
        # Every upload gets a name of its own (Django adds a suffix to a taken one), so a URL always
        # names the same bytes and may be cached for long; thumbnails are named after their source.
        "file_overwrite": False,
        "querystring_auth": signed,
        "querystring_expire": expire,
        "default_acl": None,  # access is the bucket policy's business (docs/operations.md)
        "object_parameters": {"CacheControl": f"public, max-age={cache_seconds}"},
    }
    if query.get("endpoint_url"):
        options["endpoint_url"] = query["endpoint_url"]
    if query.get("region"):
        options["region_name"] = query["region"]
    if style:
        options["addressing_style"] = style
    if query.get("custom_domain"):
        options["custom_domain"] = query["custom_domain"]
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
    return MediaStorage(
        storage={"BACKEND": S3_BACKEND, "OPTIONS": options},
        is_object_store=True,
        origin=_origin(url, bucket=bucket, query=query),
    )
