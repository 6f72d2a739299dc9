"""The production settings (DEBUG off, real secret, real host) pass Django's deployment checklist, and a
production process refuses to start with the test card gateway on."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

# No database, or subprocesses with settings of their own: the same on either database (conftest.py).
pytestmark = pytest.mark.sqlite_run

BASE_DIR = Path(__file__).resolve().parents[2]

# Left out of the child's environment so that the check sees the settings' own defaults.
SECURITY_OVERRIDES = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    # conftest.py marks every process the suite starts as a test harness; production is not one.
    "SHOP_TEST_HARNESS",
    "PAYMENT_TEST_GATEWAY",
)


def production_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SECURITY_OVERRIDES}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="shop.example.com",
        **overrides,
    )
    return env


def test_production_settings_pass_check_deploy():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


PRINT_GATEWAY = "from django.conf import settings; print(settings.PAYMENT_TEST_GATEWAY)"


def test_production_refuses_to_start_with_the_test_card_gateway():
    """manage.py (migrate, runserver), gunicorn's config.wsgi and Celery's config.celery all load the
    settings first, and the settings refuse; a test harness's process (DEBUG off too) may use it."""
    commands = {
        "manage.py": [sys.executable, "manage.py", "check"],
        "wsgi": [sys.executable, "-c", "import config.wsgi"],
        "celery": [sys.executable, "-c", "from config.celery import app; app.conf.broker_url"],
    }
    refused = {
        name: subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=production_env(PAYMENT_TEST_GATEWAY="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, command in commands.items()
    }
    defaults = {
        name: subprocess.Popen(
            [sys.executable, "-c", PRINT_GATEWAY],
            cwd=BASE_DIR,
            env=production_env(**extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, extra in {"production": {}, "harness": {"SHOP_TEST_HARNESS": "1"}}.items()
    }

    outputs = {
        name: (process.communicate(timeout=120)[0], process.returncode) for name, process in refused.items()
    }
    for name, (output, returncode) in outputs.items():
        assert returncode != 0, (name, output)
        assert "ImproperlyConfigured: PAYMENT_TEST_GATEWAY is on with DEBUG off" in output, (name, output)
    said = {name: process.communicate(timeout=120)[0].strip() for name, process in defaults.items()}
    assert said == {"production": "False", "harness": "True"}
