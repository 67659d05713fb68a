"""The shipped code imports without circles: between modules, and between the core's packages (``semlink.X``).

The graph is read from the source with :mod:`ast` (nothing is imported): every
``import`` and ``from ... import`` anywhere in a module counts, lazy ones inside
functions too, since a lazy import is still a dependency a reader follows. An edge goes
to the module named (``from semlink.link import sender`` names ``semlink.link.sender``
when that is a module, else ``semlink.link``). Entry-point ``__main__`` modules are left
out: nothing imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("semlink", "transmitter_service", "receiver_service", "channel_sim", "trainer")


def module_files(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted module name → source file, for every ``.py`` under ``packages`` (``__main__`` modules aside)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__main__":
                continue
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a ``from`` import names (resolving ``from . import x`` and ``from ..a import b``)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the modules of ``files`` it imports."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, is_package, node)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in files else source)
        graph[module] = {target for target in targets if target in files and target != module}
    return graph


def core_package(module: str) -> str | None:
    """``semlink.link.sender`` → ``semlink.link``; ``semlink.pipeline`` → itself; outside the core → ``None``."""
    parts = module.split(".")
    if parts[0] != "semlink" or len(parts) < 2:
        return None
    return ".".join(parts[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The core's packages (``semlink.X``) → the core packages they import, self-edges dropped."""
    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        source = core_package(module)
        if source is None:
            continue
        edges = packages.setdefault(source, set())
        edges.update(p for p in map(core_package, targets) if p is not None and p != source)
    return packages


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted; each is a circle or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_walker_finds_a_circle(tmp_path):
    """The check itself can fail: a two-module circle and a package circle in a scratch tree are found."""
    (tmp_path / "semlink" / "a").mkdir(parents=True)
    (tmp_path / "semlink" / "b").mkdir()
    (tmp_path / "semlink" / "__init__.py").write_text("")
    (tmp_path / "semlink" / "a" / "__init__.py").write_text("")
    (tmp_path / "semlink" / "b" / "__init__.py").write_text("")
    (tmp_path / "semlink" / "a" / "one.py").write_text("from semlink.b.two import x\n")
    (tmp_path / "semlink" / "a" / "three.py").write_text("def f():\n    from . import one\n")
    (tmp_path / "semlink" / "b" / "two.py").write_text("from semlink.a import three\nx = 1\n")
    (tmp_path / "semlink" / "b" / "four.py").write_text("import semlink.a.one\n")
    graph = import_graph(module_files(tmp_path, ("semlink",)))
    assert graph["semlink.a.three"] == {"semlink.a.one"}
    assert cycles(graph) == [["semlink.a.one", "semlink.a.three", "semlink.b.two"]]
    assert cycles(package_graph(graph)) == [["semlink.a", "semlink.b"]]


def test_no_module_imports_itself_through_others():
    circles = cycles(import_graph(module_files()))
    assert not circles, f"import circles between modules (break each by moving what both need): {circles}"


def test_no_core_package_imports_itself_through_others():
    circles = cycles(package_graph(import_graph(module_files())))
    assert not circles, f"import circles between semlink's packages (one must not know the other): {circles}"
