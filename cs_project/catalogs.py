"""The zh_Hans translation catalogs: collect the strings, compile them.

`python -m cs_project.catalogs` (`make messages`) collects every string
marked for translation into locale/zh_Hans/LC_MESSAGES/django.po (Python
and templates) and djangojs.po (the pages' scripts), keeping what is
translated, then compiles the .mo files the server reads. New strings then
wait in the .po files with an empty translation: cs_project/tests/
test_catalogs.py fails until each one is translated and compiled.
Needs GNU gettext (Debian's `gettext`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = "zh_Hans"
DOMAINS = ("django", "djangojs")
# What is not the product's own text: tests, tools, dependencies, built files.
IGNORED = (".venv", "node_modules", "staticfiles", "docs", "bench", "*/tests/*", "cs_project/testing")


def _manage(root: Path, *args: str) -> None:
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "cs_project.settings"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, check=True, capture_output=True)


def collect(root: Path = ROOT) -> None:
    """Update the .po files of `root` (a checkout) from its sources."""
    ignores = [f"--ignore={pattern}" for pattern in IGNORED]
    for domain in DOMAINS:
        _manage(root, "makemessages", "-l", LOCALE, "-d", domain, "--no-obsolete", "--no-location", *ignores)


def compile_catalogs(root: Path = ROOT) -> None:
    _manage(root, "compilemessages", "-l", LOCALE, "--ignore=.venv", "--ignore=node_modules")


def po_path(domain: str, root: Path = ROOT) -> Path:
    return root / "locale" / LOCALE / "LC_MESSAGES" / f"{domain}.po"


if __name__ == "__main__":
    collect()
    compile_catalogs()
    print(f"Collected and compiled locale/{LOCALE}: translate what is empty in the .po files and run again.")
