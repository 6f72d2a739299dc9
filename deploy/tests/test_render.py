"""The deploy kit's renderer (deploy/render.py): the systemd units, checked by systemd itself where
`systemd-analyze` is installed, their key lines, the nginx site's, and the refusals. nginx's own check
of the site (`nginx -t`) and the site at work are in e2e/test_nginx.py."""

import shutil
import subprocess
from pathlib import Path

import pytest

from deploy.render import SYSTEMD_UNITS, RenderError, main, render_nginx, render_systemd

ROOT = Path(__file__).resolve().parents[2]


def _site(**overrides) -> str:
    values = {
        "server_name": "shop.example.com",
        "upstreams": ["10.0.0.11:8000", "10.0.0.12:8000"],
        "static_root": "/srv/shop/staticfiles",
        "media_root": "/srv/shop/var/media",
        "tls_cert": "/etc/letsencrypt/live/shop.example.com/fullchain.pem",
        "tls_key": "/etc/letsencrypt/live/shop.example.com/privkey.pem",
    }
    return render_nginx(**{**values, **overrides})


def _lines(text: str, prefix: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(prefix)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (Debian: systemd)")
def test_systemd_analyze_verify_accepts_every_unit_and_a_worker_instance(tmp_path):
    # The checkout's own .venv: systemd checks that each ExecStart program exists.
    units = render_systemd(root=ROOT, env_dir=tmp_path)
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    names = [f"./{name}" for name in SYSTEMD_UNITS]
    result = subprocess.run(
        ["systemd-analyze", "verify", *names, "./shop-worker@mail.service"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"SYSTEMD_UNIT_PATH": f"{tmp_path}:", "PATH": "/usr/bin:/bin"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_systemd_analyze_verify_can_fail(tmp_path):
    """The check above means something: a unit with an unknown key and a missing program is refused."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("needs systemd-analyze (Debian: systemd)")
    text = render_systemd(root=tmp_path)["shop-beat.service"].replace("Restart=", "Restrat=")
    (tmp_path / "shop-beat.service").write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", "./shop-beat.service"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "Unknown key 'Restrat' in section [Service]" in result.stderr
    assert f"Command {tmp_path}/.venv/bin/celery is not executable" in result.stderr


def test_units_run_the_shop_as_its_user_with_its_settings_and_one_worker_per_queue():
    units = render_systemd(root="/srv/shop", user="shop", env_dir="/etc/shop", bind="10.0.0.11:8000")

    assert sorted(units) == sorted(SYSTEMD_UNITS)
    web, worker, beat = units["shop-web.service"], units["shop-worker@.service"], units["shop-beat.service"]
    assert _lines(web, "ExecStart=") == [
        "ExecStart=/srv/shop/.venv/bin/gunicorn -c /srv/shop/config/gunicorn.conf.py config.wsgi $GUNICORN_OPTIONS"
    ]
    assert _lines(web, "Environment") == [
        "Environment=BIND_HOST=10.0.0.11 PORT=8000",
        "EnvironmentFile=/etc/shop/shop.env",
    ]
    assert _lines(worker, "ExecStart=") == [
        "ExecStart=/srv/shop/.venv/bin/celery -A config worker -Q %i -n %i@%H --loglevel INFO $WORKER_OPTIONS"
    ]
    assert _lines(worker, "EnvironmentFile=") == [
        "EnvironmentFile=/etc/shop/shop.env",
        "EnvironmentFile=-/etc/shop/worker-%i.env",
    ]
    assert _lines(beat, "ExecStart=") == [
        "ExecStart=/srv/shop/.venv/bin/celery -A config beat --loglevel INFO $BEAT_OPTIONS"
    ]
    assert _lines(units["shop-localstripe.service"], "ExecStart=") == [
        "ExecStart=/srv/shop/.venv/bin/python manage.py localstripe"
    ]
    assert _lines(web, "Type=") == ["Type=notify"]
    assert _lines(worker, "TimeoutStopSec=") == ["TimeoutStopSec=600"]
    for name in SYSTEMD_UNITS[1:]:
        text = units[name]
        assert [mark for mark in ("{{", "{%", "{#", "}}") if mark in text] == [], name
        assert _lines(text, "User=") + _lines(text, "Group=") == ["User=shop", "Group=shop"]
        assert _lines(text, "WorkingDirectory=") == ["WorkingDirectory=/srv/shop"]
        assert _lines(text, "ReadWritePaths=") == ["ReadWritePaths=/srv/shop/var"]
        assert _lines(text, "PartOf=") + _lines(text, "WantedBy=") == [
            "PartOf=shop.target",
            "WantedBy=shop.target",
        ]
    assert _lines(units["shop.target"], "WantedBy=") == ["WantedBy=multi-user.target"]


def test_the_web_unit_refuses_an_address_without_a_port():
    with pytest.raises(RenderError) as caught:
        render_systemd(root="/srv/shop", bind="10.0.0.11")
    assert str(caught.value) == "gunicorn's address is host:port, like 127.0.0.1:8000, not '10.0.0.11'"


def test_a_media_root_outside_var_is_writable_too():
    units = render_systemd(root="/srv/shop", media_root="/data/media")
    assert _lines(units["shop-web.service"], "ReadWritePaths=") == [
        "ReadWritePaths=/srv/shop/var /data/media"
    ]
    units = render_systemd(root="/srv/shop", media_root="/srv/shop/var/media")
    assert _lines(units["shop-web.service"], "ReadWritePaths=") == ["ReadWritePaths=/srv/shop/var"]


def test_the_site_balances_over_every_web_node_and_serves_media_only_from_disk():
    site = _site()
    assert _lines(site.replace("    ", ""), "server 10.") == [
        "server 10.0.0.11:8000 max_fails=1 fail_timeout=10s;",
        "server 10.0.0.12:8000 max_fails=1 fail_timeout=10s;",
    ]
    assert "alias /srv/shop/var/media/;" in site
    assert "client_max_body_size 32m;" in site
    assert 'add_header Cache-Control "public, max-age=86400";' in site  # media, as MEDIA_CACHE_SECONDS
    assert 'add_header Cache-Control "public, max-age=600";' in _site(media_cache_seconds=600)
    assert "return 301 https://$host$request_uri;" in site  # port 443: no port in the redirect
    assert "listen [::]:443 ssl http2;" in site
    assert [mark for mark in ("{{", "{%", "{#", "}}") if mark in site] == []  # no template syntax left

    on_store = _site(media_root=None)
    assert "location /media/" not in on_store
    assert "Media: on the object store (MEDIA_STORAGE_URL)" in on_store


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"upstreams": []}, "at least one web node (--upstream host:port) is needed"),
        ({"server_name": " "}, "a server name (--server-name shop.example.com) is needed"),
        ({"static_root": "staticfiles"}, "the static root must be an absolute path, not 'staticfiles'"),
        ({"tls_key": "privkey.pem"}, "the TLS key must be an absolute path, not 'privkey.pem'"),
        ({"media_url": "media/"}, "the media URL must look like /media/, not 'media/'"),
        (
            {"max_upload": "32 MB"},
            "the upload limit is a size in nginx's units, like 32m or 500k, not '32 MB'",
        ),
    ],
)
def test_the_site_refuses_what_nginx_could_not_run(overrides, message):
    with pytest.raises(RenderError) as caught:
        _site(**overrides)
    assert str(caught.value) == message


def test_the_command_writes_the_kit_or_says_what_is_wrong(tmp_path, capsys):
    args = ["--out", str(tmp_path), "--server-name", "shop.example.com", "--tls-cert", "/etc/c.pem"]
    assert main([*args, "--tls-key", "/etc/k.pem", "--upstream", "10.0.0.11:8000", "--object-store"]) == 0
    assert sorted(path.name for path in (tmp_path / "systemd").iterdir()) == sorted(SYSTEMD_UNITS)
    site = (tmp_path / "nginx" / "shop.conf").read_text()
    assert "location /media/" not in site
    assert "alias /srv/shop/staticfiles/$static_path;" in site
    assert capsys.readouterr().out == (
        f"wrote {tmp_path}/nginx/shop.conf and 5 systemd units in {tmp_path}/systemd\n"
    )

    assert main([*args, "--tls-key", "key.pem", "--out", str(tmp_path / "other")]) == 2
    assert capsys.readouterr().err == "deploy.render: the TLS key must be an absolute path, not 'key.pem'\n"
    assert not (tmp_path / "other").exists()
