"""MEDIA_STORAGE_URL read into the default storage (shop/media/storage_url.py), and the settings it drives."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from storages.backends.s3 import S3Storage

from shop.media.storage_url import FILE_SYSTEM_BACKEND, S3_BACKEND, media_storage

# No database, or subprocesses with settings of their own: the same on either database (conftest.py).
pytestmark = pytest.mark.sqlite_run

ROOT = Path(__file__).resolve().parents[2]


def test_empty_means_the_file_system():
    media = media_storage("  ")
    assert media.storage == {"BACKEND": FILE_SYSTEM_BACKEND}
    assert media.is_object_store is False
    assert media.origin == ""


def test_a_bucket_on_a_local_server_with_a_prefix():
    media = media_storage(
        "s3://pictures/shop/media?endpoint_url=http://127.0.0.1:9000&region=eu-west-1",
        access_key="AKIDEXAMPLE",
        secret_key="se/cr+et",
        cache_seconds=600,
    )
    assert media.is_object_store is True
    assert media.storage == {
        "BACKEND": S3_BACKEND,
        "OPTIONS": {
            "bucket_name": "pictures",
            "location": "shop/media",
            "file_overwrite": False,
            "querystring_auth": False,
            "querystring_expire": 3600,
            "default_acl": None,
            "object_parameters": {"CacheControl": "public, max-age=600"},
            "endpoint_url": "http://127.0.0.1:9000",
            "region_name": "eu-west-1",
            "access_key": "AKIDEXAMPLE",
            "secret_key": "se/cr+et",
        },
    }
    assert media.origin == "http://127.0.0.1:9000"


@pytest.mark.parametrize(
    "url, origin",
    [
        ("s3://pictures", "https://pictures.s3.amazonaws.com"),
        ("s3://pictures?region=eu-west-1&addressing_style=path", "https://s3.eu-west-1.amazonaws.com"),
        ("s3://pictures?endpoint_url=https://minio.example.com:9000", "https://minio.example.com:9000"),
        (
            "s3://pictures?endpoint_url=https://minio.example.com&addressing_style=virtual",
            "https://pictures.minio.example.com",
        ),
        ("s3://pictures/media?custom_domain=cdn.example.com", "https://cdn.example.com"),
    ],
)
def test_the_origin_is_where_django_storages_points_the_pictures(url, origin):
    """MEDIA_ORIGIN (the CSP's img-src) is the scheme and host of the URLs the storage itself builds."""
    media = media_storage(url, access_key="AKIDEXAMPLE", secret_key="secret")
    built = S3Storage(**media.storage["OPTIONS"]).url("products/tent.jpg")
    assert media.origin == origin
    assert f"{urlsplit(built).scheme}://{urlsplit(built).netloc}" == origin


def test_signed_urls_expire():
    media = media_storage("s3://private?signed=1&expire=600&endpoint_url=http://127.0.0.1:9000")
    assert media.storage["OPTIONS"]["querystring_auth"] is True
    assert media.storage["OPTIONS"]["querystring_expire"] == 600


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://pictures.s3.amazonaws.com", "the scheme 'https' is not s3"),
        ("pictures", "the scheme '(none)' is not s3"),
        ("s3://", "the bucket's name goes after s3://"),
        ("s3://key:secret@pictures", "the bucket's name goes after s3://"),
        ("s3://pictures:9000", "the bucket's name goes after s3://"),
        ("s3://pictures?endpoint=http://x", "unknown option endpoint (known: endpoint_url, region,"),
        ("s3://pictures?addressing_style=dns", "addressing_style='dns' is neither path nor virtual"),
        ("s3://pictures?signed=maybe", "signed='maybe' is neither 1 nor 0"),
        ("s3://pictures?signed=1&expire=soon", "expire='soon' is not a number of seconds"),
        ("s3://pictures?signed=1&expire=0", "expire must be a positive number of seconds"),
        ("s3://pictures?signed=1&custom_domain=cdn.example.com", "signed=1 and custom_domain do not mix"),
        ("s3://pictures?endpoint_url=127.0.0.1:9000", "endpoint_url='127.0.0.1:9000' is not an http(s)"),
    ],
)
def test_a_bad_url_says_what_is_wrong_and_what_to_write(url, message):
    with pytest.raises(ImproperlyConfigured) as error:
        media_storage(url)
    assert message in str(error.value)
    assert str(error.value).startswith(f"MEDIA_STORAGE_URL={url!r}: ")
    assert "Expected empty (the file system, MEDIA_ROOT) or s3://BUCKET[/PREFIX]?" in str(error.value)


@pytest.mark.parametrize("keys", [{"access_key": "AKIDEXAMPLE"}, {"secret_key": "secret"}])
def test_one_credential_without_the_other_is_refused(keys):
    with pytest.raises(
        ImproperlyConfigured, match="MEDIA_STORAGE_ACCESS_KEY_ID and MEDIA_STORAGE_SECRET_ACCESS_KEY"
    ):
        media_storage("s3://pictures", **keys)


SHOW_SETTINGS = """
import json, django
from django.conf import settings
from django.urls import reverse, NoReverseMatch
django.setup()
try:
    media_route = reverse("media", kwargs={"path": "a.jpg"})
except NoReverseMatch:
    media_route = None
print(json.dumps({
    "default": settings.STORAGES["default"],
    "on_store": settings.MEDIA_ON_OBJECT_STORE,
    "img_src": settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
    "cache_seconds": settings.MEDIA_CACHE_SECONDS,
    "media_route": media_route,
}))
"""


def _settings_with(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", SECRET_KEY="x" * 50, **env)
    result = subprocess.run(
        [sys.executable, "-c", SHOW_SETTINGS], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_chooses_the_store_its_keys_and_the_cache_lifetime():
    """MEDIA_STORAGE_URL, MEDIA_STORAGE_ACCESS_KEY_ID/SECRET_ACCESS_KEY and MEDIA_CACHE_SECONDS, read by
    config/settings_parts/storage.py: the default storage, the CSP's img-src, and no media route."""
    shown = _settings_with(
        MEDIA_STORAGE_URL="s3://pictures?endpoint_url=http://127.0.0.1:9000",
        MEDIA_STORAGE_ACCESS_KEY_ID="AKIDEXAMPLE",
        MEDIA_STORAGE_SECRET_ACCESS_KEY="secret",
        MEDIA_CACHE_SECONDS="120",
    )
    options = shown["default"]["OPTIONS"]
    assert shown["default"]["BACKEND"] == S3_BACKEND
    assert (options["bucket_name"], options["endpoint_url"]) == ("pictures", "http://127.0.0.1:9000")
    assert (options["access_key"], options["secret_key"]) == ("AKIDEXAMPLE", "secret")
    assert options["object_parameters"] == {"CacheControl": "public, max-age=120"}
    assert shown["on_store"] is True
    assert shown["img_src"] == ["'self'", "data:", "http://127.0.0.1:9000"]
    assert shown["cache_seconds"] == 120
    assert shown["media_route"] is None  # pages link to the store; the shop serves no /media/


def test_without_a_store_the_shop_serves_media_itself_with_debug_off():
    shown = _settings_with()
    assert shown["default"] == {"BACKEND": FILE_SYSTEM_BACKEND}
    assert shown["on_store"] is False
    assert shown["img_src"] == ["'self'", "data:"]
    assert shown["cache_seconds"] == 86400
    assert shown["media_route"] == "/media/a.jpg"
