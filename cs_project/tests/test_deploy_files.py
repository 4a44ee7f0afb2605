"""What an operator copies from deploy/ agrees with the code it configures.

- deploy/env.example names every variable the settings read;
- deploy/nginx/render fills every placeholder, repeats the upstream line
  per port, and sizes client_max_body_size from the application's own
  upload limit and framing;
- the systemd units pass `systemd-analyze verify` (where systemd is
  installed), the instances serving only and the prepare step migrating.

nginx itself runs the rendered site in test_deploy_nginx_live.py.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import os
import pwd
import re
import secrets
import shutil
import sqlite3
import subprocess

import pytest
from django.conf import settings

from cs_project.testing.server import ROOT, base_env
from cs_project.upload_limit import FRAMING_BYTES

DEPLOY = ROOT / "deploy"
SETTINGS_VARIABLE = re.compile(r'(?:env_bool|env_int|env_float|env_list|os\.environ\.get)\("([A-Z0-9_]+)"')


def _render_module():
    loader = importlib.machinery.SourceFileLoader("deploy_nginx_render", str(DEPLOY / "nginx" / "render"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_env_example_names_every_variable_the_settings_read():
    variables = set(SETTINGS_VARIABLE.findall((ROOT / "cs_project" / "settings.py").read_text()))
    assert len(variables) > 50, variables  # the pattern still finds them
    example = (DEPLOY / "env.example").read_text()
    named = set(re.findall(r"^(?:# )?([A-Z0-9_]+)=", example, re.MULTILINE))
    assert variables - named == set()
    set_lines = set(re.findall(r"^([A-Z0-9_]+)=", example, re.MULTILINE))
    assert {
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "STATIC_ROOT",
        "SERVE_STATIC",
    } <= set_lines
    assert not {"DEBUG", "HOST", "PORT"} & set_lines  # off by default; each instance sets its own address


def test_render_fills_every_placeholder_and_sizes_uploads_from_the_application():
    render = _render_module()
    assert render.FRAMING_BYTES == FRAMING_BYTES
    args = render.parse(["--server-name", "chat.example.com", "--ports", "8001-8003,8005"])
    assert args.upload_max_bytes == settings.UPLOAD_MAX_BYTES  # the default matches the setting's
    site = render.render(args)
    assert "@" not in re.sub(r"#.*", "", site)
    servers = re.findall(r"^\s*server 127\.0\.0\.1:(\d+) ", site, re.MULTILINE)
    assert servers == ["8001", "8002", "8003", "8005"]
    assert f"client_max_body_size {settings.UPLOAD_MAX_BYTES + FRAMING_BYTES};" in site
    assert "ssl_certificate /etc/letsencrypt/live/chat.example.com/fullchain.pem;" in site
    assert "return 301 https://$host$request_uri;" in site  # port 443: no port in the URL
    assert "listen [::]:443 ssl http2;" in site
    assert "listen [::]" not in render.render(render.parse(["--server-name", "a.example", "--no-ipv6"]))


def test_render_refuses_bad_input():
    render = _render_module()
    for argv in (["--server-name", "x;y"], ["--server-name", "a.example", "--ports", "9-8"]):
        with pytest.raises(SystemExit):
            render.parse(argv)
    with pytest.raises(SystemExit, match="MYSTERY"):
        render.render(
            argparse.Namespace(**vars(render.parse(["--server-name", "a.example"]))), "x @MYSTERY@\n"
        )


def test_systemd_units_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    user = pwd.getpwuid(os.getuid()).pw_name
    env = tmp_path / "env"
    env.write_text("SECRET_KEY=x\n")
    for unit in (DEPLOY / "systemd").iterdir():
        text = (
            unit.read_text()
            .replace("/srv/cs-chat", str(ROOT))
            .replace("/etc/cs-chat/env", str(env))
            .replace("User=cs-chat", f"User={user}")
            .replace("Group=cs-chat", f"Group={pwd.getpwuid(os.getuid()).pw_gid}")
        )
        (tmp_path / unit.name).write_text(text)
    shutil.copy(tmp_path / "cs-chat@.service", tmp_path / "cs-chat@8001.service")
    units = [
        str(tmp_path / name) for name in ("cs-chat@8001.service", "cs-chat-prepare.service", "cs-chat.target")
    ]
    result = subprocess.run(
        [analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr

    instance = (DEPLOY / "systemd" / "cs-chat@.service").read_text()
    prepare = (DEPLOY / "systemd" / "cs-chat-prepare.service").read_text()
    assert "PORT=%i /srv/cs-chat/deploy/serve --skip-prepare\n" in instance
    assert re.search(r"^After=.*cs-chat-prepare\.service", instance, re.MULTILINE)
    assert re.search(r"^Wants=.*cs-chat-prepare\.service", instance, re.MULTILINE)
    assert "Requires=" not in instance  # restarting the prepare step must not restart every instance
    assert "ExecStart=/srv/cs-chat/deploy/serve --prepare\n" in prepare
    assert "Type=oneshot" in prepare and "RemainAfterExit=yes" in prepare


def test_deploy_serve_refuses_to_serve_an_unmigrated_database(tmp_path):
    """`--skip-prepare` never migrates: on a database that is behind, it stops before serving."""
    db = tmp_path / "db.sqlite3"
    env = {
        **base_env(db),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "a.example",
    }
    out = subprocess.run(
        ["bash", str(DEPLOY / "serve"), "--skip-prepare"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "migrations are not applied; run deploy/serve --prepare first" in out.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("select name from sqlite_master").fetchall() == []


def test_deploy_serve_refuses_an_unknown_mode():
    out = subprocess.run(
        ["bash", str(DEPLOY / "serve"), "--prepared"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 2 and "usage: deploy/serve" in out.stderr
