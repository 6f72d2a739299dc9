"""The default broker (no REDIS_URL): kombu's filesystem transport, with a URL it does not warn about."""

import logging
import runpy
from pathlib import Path

from kombu import Connection

SETTINGS = Path(__file__).resolve().parents[1] / "settings.py"


def test_filesystem_broker_url_names_a_host_so_kombu_does_not_warn(monkeypatch, caplog):
    # Given: the settings a fresh clone runs with (no REDIS_URL)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = runpy.run_path(str(SETTINGS))

    # When: a connection is described and its parameters resolved, as web, worker and beat do
    with caplog.at_level(logging.WARNING, logger="kombu"):
        connection = Connection(
            settings["CELERY_BROKER_URL"], transport_options=settings["CELERY_BROKER_TRANSPORT_OPTIONS"]
        )
        info = connection.info()

    # Then: the filesystem transport, and no "No hostname was supplied" warning
    assert settings["CELERY_BROKER_URL"] == "filesystem://localhost//"
    assert connection.transport_cls == "filesystem"
    assert info["hostname"] == "localhost"
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []
