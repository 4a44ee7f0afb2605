"""The Chinese catalogs are whole: every string the product shows is
translated, none is fuzzy, and the compiled .mo files are up to date.

The strings are collected afresh from a copy of the sources (what `make
messages` does), so a string added to the code without a translation fails
here, not in front of a customer.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess

import pytest
from django.utils import translation

from cs_project import catalogs

pytestmark = pytest.mark.skipif(
    shutil.which("msgfmt") is None or shutil.which("xgettext") is None,
    reason="GNU gettext is not installed (Debian: apt install gettext; `make test` installs it as root)",
)

COPIED = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "staticfiles", "docs", "*.pyc", "__pycache__", "*.sqlite3*"
)


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """A copy of the project whose .po files were collected from its sources."""
    root = tmp_path_factory.mktemp("catalogs") / "project"
    shutil.copytree(catalogs.ROOT, root, ignore=COPIED)
    catalogs.collect(root)
    return root


def _entries(po, *flags):
    """msgids `msgattrib` selects with `flags` (e.g. --untranslated)."""
    out = subprocess.run(
        ["msgattrib", *flags, "--no-wrap", str(po)], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in re.findall(r'^msgid "(.*)"$', out, re.M) if m]


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
def test_every_string_is_translated_and_none_is_fuzzy(collected, domain):
    po = catalogs.po_path(domain, collected)
    assert _entries(po, "--untranslated") == [], f"untranslated in {domain}.po: `make messages`, translate"
    assert _entries(po, "--only-fuzzy") == [], f"fuzzy in {domain}.po: check the translation, drop the flag"


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
def test_translations_keep_their_placeholders(domain):
    # msgfmt --check: python-format and javascript-format strings keep every %(name)s.
    po = catalogs.po_path(domain)
    subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], check=True, capture_output=True)


@pytest.mark.parametrize("domain", catalogs.DOMAINS)
def test_the_compiled_catalogs_match_the_sources(collected, tmp_path, domain):
    fresh = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(catalogs.po_path(domain, collected))], check=True)
    with fresh.open("rb") as f:
        expected = gettext.GNUTranslations(f)._catalog
    with catalogs.po_path(domain).with_suffix(".mo").open("rb") as f:
        committed = gettext.GNUTranslations(f)._catalog
    assert committed == expected, f"{domain}.mo is stale: run `make messages`"


def test_the_server_speaks_chinese():
    with translation.override("zh-hans"):
        assert translation.gettext("Customer service") == "在线客服"
    with translation.override("en"):
        assert translation.gettext("Customer service") == "Customer service"
