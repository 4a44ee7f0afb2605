"""Safe defaults, checked the way an operator meets them: commands run in a
subprocess with the documented production environment (docs/SECURITY.md,
"Production checklist") on a temporary SQLite database.

- `manage.py check --deploy --fail-level WARNING` is clean with it;
- without SECRET_KEY, DEBUG being off by default, nothing starts;
- deploy/serve's check step refuses DEBUG on and the demo accounts;
- `demo_setup` refuses to run outside DEBUG unless forced, and gives every
  demo account a new random password each run.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

import pytest

from cs_project.testing.server import PYTHON, ROOT, base_env


def production_env(db: Path) -> dict[str, str]:
    """The documented production environment, on the SQLite file `db`."""
    env = base_env(db)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="chat.example.com",
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return run([PYTHON, "manage.py", *args], env)


def serve_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    """deploy/serve's steps before serving (migrate, check), and no further."""
    return run(["bash", str(ROOT / "deploy" / "serve"), "--check"], env)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = production_env(tmp_path / "db.sqlite3")
    migrated = manage(env, "migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
    return env


def test_check_deploy_is_clean_with_the_documented_environment(env):
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout + result.stderr


def test_without_a_secret_key_production_refuses_to_start(tmp_path):
    env = production_env(tmp_path / "db.sqlite3")
    del env["SECRET_KEY"]
    del env["DEBUG"]  # off by default
    result = manage(env, "check")
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr, result.stderr


def test_deploy_serve_checks_pass_on_a_clean_production_database(env):
    result = serve_check(env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_serve_refuses_debug(env):
    result = serve_check({**env, "DEBUG": "1"})
    assert result.returncode != 0
    assert "cs.E001" in result.stderr, result.stdout + result.stderr


def demo_logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+\w+\s+(\w+) / (\S+)\s+api token:", output, re.MULTILINE))


def test_demo_setup_refuses_without_debug_and_deploy_serve_refuses_its_accounts(env):
    refused = manage(env, "demo_setup")
    assert refused.returncode != 0 and "DEBUG=1" in refused.stderr, refused.stderr
    assert serve_check(env).returncode == 0  # nothing was created

    first = manage(env, "demo_setup", "--force")
    assert first.returncode == 0, first.stderr
    logins = demo_logins(first.stdout)
    assert sorted(logins) == ["alice", "bob", "sam"], first.stdout
    assert all(len(p) >= 16 and "demo-pass" not in p for p in logins.values()), logins

    # Every run gives new passwords; the printed one is the account's.
    again = demo_logins(manage(env, "demo_setup", "--force").stdout)
    assert all(again[name] != logins[name] for name in logins), (logins, again)
    checked = run(
        [
            PYTHON,
            "-c",
            "import django, sys; django.setup();"
            "from django.contrib.auth.models import User;"
            "print(User.objects.get(username='sam').check_password(sys.argv[1]),"
            " User.objects.get(username='sam').check_password(sys.argv[2]))",
            again["sam"],
            logins["sam"],
        ],
        env,
    )
    assert checked.stdout.split() == ["True", "False"], checked.stdout + checked.stderr

    result = serve_check(env)
    assert result.returncode != 0
    assert "cs.E002" in result.stderr and "alice, bob, sam" in result.stderr, result.stdout + result.stderr


def test_deploy_serve_refuses_an_old_demo_account_with_its_published_password(env):
    made = manage(env, "createagent", "bob", "--password", "bob-demo-pass")
    assert made.returncode == 0, made.stderr
    result = serve_check(env)
    assert result.returncode != 0
    assert "cs.E002" in result.stderr and "bob" in result.stderr, result.stderr

    # A real user who happens to be called bob, with a password of his own, is no demo account.
    changed = run(
        [
            PYTHON,
            "-c",
            "import django; django.setup();"
            "from django.contrib.auth.models import User;"
            "u = User.objects.get(username='bob'); u.set_password('a-long-private-pass'); u.save()",
        ],
        env,
    )
    assert changed.returncode == 0, changed.stderr
    assert serve_check(env).returncode == 0
