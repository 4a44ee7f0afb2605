"""The upstream private code the project relies on is what it was written against."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from chat.realtime import patches

ROOT = Path(__file__).resolve().parents[2]


def test_the_pinned_versions_are_installed_and_required():
    requirements = (ROOT / "requirements.txt").read_text()
    for package, pinned in patches.PINNED.items():
        assert version(package) == pinned, f"{package} {version(package)} installed, fences are for {pinned}"
        assert f"{package}=={pinned}" in requirements, package


@pytest.mark.parametrize("fence", patches.FENCES, ids=lambda f: f.target)
def test_each_fenced_upstream_method_is_unchanged(fence):
    assert patches.fingerprint(fence.target) == fence.fingerprint, (
        f"{fence.target} changed upstream; the project {fence.use}. "
        "Read the change, adapt that code, then update the fingerprint in chat/realtime/patches.py."
    )


def test_every_override_of_an_upstream_private_method_is_fenced():
    from chat.realtime.engine_socket import LeanSocket
    from chat.realtime.server import ChatSocketServer, InProcessManager, RedisManager

    fenced = {f.target.split(":")[1].split(".")[-1] for f in patches.FENCES}
    for cls in (ChatSocketServer, LeanSocket, InProcessManager, RedisManager):
        overridden = {
            name
            for name, value in vars(cls).items()
            if callable(value) and any(hasattr(base, name) for base in cls.__mro__[1:])
        }
        assert overridden - fenced == set(), cls.__name__


def test_private_senders_are_called_from_the_server_subclass_only():
    offenders = []
    for app in ("chat", "agents", "customers", "cs_project"):
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or path.name == "patches.py":
                continue
            if path.relative_to(ROOT).as_posix() == "chat/realtime/server.py":
                continue
            if re.search(r"\._send_(eio_)?packet\(", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
