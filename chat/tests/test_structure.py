"""The shape of the code: which app may import which, and how big a module may grow."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("chat", "agents", "customers", "cs_project")
MAX_LINES = 500


def _modules(app: str):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "tests" not in path.parts and "migrations" not in path.parts:
            yield path


def _imported(path: Path) -> set[str]:
    """Every absolute module name the file imports (relative imports stay inside the app)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_chat_uses_nothing_of_agents_but_its_models():
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("chat")
        for name in _imported(path)
        if (name == "agents" or name.startswith("agents.")) and not name.startswith("agents.models")
    }
    assert offenders == set(), "chat may import agents.models only (agents depends on chat, not back)"


def test_the_rule_sees_a_lazy_import_inside_a_function(tmp_path):
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from agents.services import agent_create\n")
    assert "agents.services" in _imported(module)


def test_no_module_outgrows_its_limit():
    long = {
        str(path.relative_to(ROOT)): n
        for app in (*APPS, "bench")
        for path in _modules(app)
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by domain (over {MAX_LINES} lines)"
