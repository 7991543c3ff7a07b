"""The project's structure: each DVC stage declares exactly the project modules it imports, the wings import
only downwards, and no module imports itself through a circle.

Imports are read from the source (every ``import`` statement, also those inside functions), not by running
anything, and followed through the project's modules.
"""
import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lth"
WINGS = ("core", "experiments", "report")


def module_file(name: str) -> Path | None:
    """The source file of project module ``name`` (``lth.core.engine`` -> lth/core/engine.py), or None."""
    parts = name.split(".")
    if parts[0] != "lth":
        return None
    path = ROOT.joinpath(*parts)
    if path.with_suffix(".py").exists():
        return path.with_suffix(".py")
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return None


def direct_imports(path: Path) -> set[str]:
    """Project modules that ``path`` imports anywhere in its source."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from lth.core import engine`` imports the module lth.core.engine when there is one.
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if module_file(name) is not None:
                found.add(name)
    return found


def project_modules(path: Path) -> set[Path]:
    """Every project source file ``path`` imports, directly or through other project modules (package
    ``__init__`` files aside: a test below keeps them free of code)."""
    seen: set[Path] = set()
    todo = [path]
    while todo:
        for name in direct_imports(todo.pop()):
            file = module_file(name)
            if file not in seen:
                seen.add(file)
                todo.append(file)
    return {f for f in seen if f.name != "__init__.py"}


def stage_commands() -> dict[str, tuple[Path, set[str]]]:
    """Stage name -> (its script, the lth/ files its dvc.yaml entry lists)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        script = ROOT / body["cmd"].split()[1]
        deps = {d for d in body["deps"] if d.startswith("lth/")}
        out[name] = (script, deps)
    return out


@pytest.mark.parametrize("stage", sorted(stage_commands()))
def test_each_stage_declares_exactly_the_project_modules_it_imports(stage):
    script, declared = stage_commands()[stage]
    assert f"stages/{script.name}" in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage].get(
        "do", yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"][stage])["deps"]
    imported = {str(p.relative_to(ROOT)) for p in project_modules(script)}
    assert sorted(imported - declared) == [], f"{stage}: dvc.yaml misses these imported modules"
    assert sorted(declared - imported) == [], f"{stage}: dvc.yaml lists modules the stage does not import"


def test_the_dependency_reader_sees_nested_and_from_imports(tmp_path):
    """The reader itself: an import inside a function and ``from package import module`` both count."""
    script = tmp_path / "stage.py"
    script.write_text("from lth.core import engine\n\ndef f():\n    import lth.report.papers\n")
    found = {str(p.relative_to(ROOT)) for p in project_modules(script)}
    assert {"lth/core/engine.py", "lth/report/papers.py", "lth/core/masks.py"} <= found


def test_package_init_files_hold_no_code():
    for init in PACKAGE.rglob("__init__.py"):
        body = ast.parse(init.read_text()).body
        assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), init


def _wing(path: Path) -> str:
    relative = path.relative_to(PACKAGE).parts
    return relative[0] if len(relative) > 1 else "plumbing"


def test_wings_import_only_downwards():
    """core knows no experiment and no report; the report knows no core and no experiment; plumbing (config,
    data, io, cli, ...) knows no wing."""
    allowed = {"plumbing": {"plumbing"}, "core": {"core", "plumbing"}, "experiments": {"experiments", "core", "plumbing"},
               "report": {"report", "plumbing"}}
    for path in PACKAGE.rglob("*.py"):
        wing = _wing(path)
        for name in direct_imports(path):
            target = module_file(name)
            if target.name == "__init__.py":
                continue
            assert _wing(target) in allowed[wing], f"{path.relative_to(ROOT)} ({wing}) imports {name}"


def test_no_import_circles():
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    for path in files:
        assert path not in project_modules(path), f"{path.relative_to(ROOT)} imports itself through a circle"
