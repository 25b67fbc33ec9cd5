"""The package layers, read from the source (nothing is imported): the kernel `cenas`
imports no service, a service imports only the kernel and itself, nothing imports the
entry point `cenas_cli`, and the gateway's modules import each other without a loop.

Every import counts: module level, inside functions (lazy), under `TYPE_CHECKING`, and
`importlib.import_module` / `__import__` with a literal name.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "cenas"
ENTRY = "cenas_cli"
SERVICES = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker", "gateway")
#: which of the project's packages each package may import (third-party ones are free)
ALLOWED: dict[str, set[str]] = {
    KERNEL: {KERNEL},
    **{service: {KERNEL, service} for service in SERVICES},
    ENTRY: {KERNEL, *SERVICES, ENTRY},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` by dotted name."""
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file, relative ones made absolute;
    ``names`` are the names a `from ... import` takes (submodules among them)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield node.lineno, target, [alias.name for alias in node.names]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"}))):
            yield node.lineno, node.args[0].value, []


def layer_violations(package: str) -> list[str]:
    found = []
    for name, path in modules(package).items():
        for line, target, _ in imports(path):
            top = target.partition(".")[0]
            if top in ALLOWED and top not in ALLOWED[package]:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    return found


def test_every_package_of_the_project_has_a_layer():
    """A new top-level package must be placed in a layer before it is shipped."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert shipped == set(ALLOWED)


def test_the_scan_sees_lazy_imports():
    """`cenas bench` imports the optimizer inside a function: the scan must see it."""
    found = {target for _, target, _ in imports(ROOT / ENTRY / "bench.py")}
    assert "optimizer_svc.lamoo" in found


def test_the_kernel_imports_no_service():
    assert layer_violations(KERNEL) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_only_the_kernel_and_itself(service):
    assert layer_violations(service) == []


def test_nothing_imports_the_entry_point():
    found = [v for package in (KERNEL, *SERVICES) for v in layer_violations(package) if f"imports {ENTRY}" in v]
    assert found == []


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (`from gateway import store` is the
    module `gateway.store`). A submodule's implicit import of its parent package is not
    an edge: Python starts the parent first, whatever the parent imports."""
    graph = {name: set() for name in modules(package)}
    for name, path in modules(package).items():
        for _, target, names in imports(path):
            submodules = {f"{target}.{n}" for n in names} & graph.keys()
            targets = submodules | ({target} if len(submodules) < len(names) or not names else set())
            graph[name] |= {t for t in targets if t in graph and t != name}
    return graph


def test_the_gateway_modules_import_without_a_cycle():
    try:
        TopologicalSorter(import_graph("gateway")).prepare()
    except CycleError as exc:
        # graphlib lists each module before the ones that import it
        pytest.fail(f"import cycle among the gateway's modules: {' imports '.join(reversed(exc.args[1]))}")
