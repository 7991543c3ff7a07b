"""The project's structure: each DVC stage declares exactly the project modules it imports, the wings import
only downwards, and no module imports itself through a circle.

Imports are read from the source (every ``import`` statement, also those inside functions), not by running
anything, and followed through the project's modules.
"""
import ast
import functools
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


def registry_pages() -> set[str]:
    """The report pages the registry names: ``lth/report/assemble.py`` imports each by name at run time."""
    from lth.registry import EXPERIMENTS
    return {f"lth.report.{e.page}" for e in EXPERIMENTS if e.page is not None}


# Imports made by name at run time, which no ``import`` statement shows: module file -> what it imports.
DYNAMIC_IMPORTS = {PACKAGE / "report" / "assemble.py": registry_pages}


def direct_imports(path: Path) -> set[str]:
    """Project modules that ``path`` imports anywhere in its source, and those it imports by name at run time
    (``DYNAMIC_IMPORTS``)."""
    found = set(DYNAMIC_IMPORTS[path]()) if path in DYNAMIC_IMPORTS else set()
    return found | _imports_in_source(path.read_text())


@functools.cache
def _imports_in_source(source: str) -> frozenset[str]:
    """Project modules imported anywhere in ``source`` (parsed once per distinct text: the closures below revisit
    the same files many times)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
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
    return frozenset(found)


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


STAGE_MODULES = {"report": "lth.report.stage"}      # as lth/cli.py resolves ``lth run <name>``


def stage_entry(cmd: str) -> Path:
    """The module whose ``stage()`` a dvc.yaml command ``python -m lth run <name> ...`` runs."""
    words = cmd.split()
    assert words[:4] == ["python", "-m", "lth", "run"], f"{cmd}: stages run `python -m lth run <experiment>`"
    return module_file(STAGE_MODULES.get(words[4], f"lth.experiments.{words[4]}"))


def stage_commands() -> dict[str, tuple[Path, set[str]]]:
    """Stage name -> (the module its command runs, the lth/ files its dvc.yaml entry lists)."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        body = stage.get("do", stage)
        deps = {d for d in body["deps"] if d.startswith("lth/")}
        out[name] = (stage_entry(body["cmd"]), deps)
    return out


def stage_imports(entry: Path) -> set[str]:
    """Every project file a stage reads as code: the ``lth`` command, its stage module and their imports."""
    files = {entry, PACKAGE / "__main__.py"} | project_modules(entry) | project_modules(PACKAGE / "__main__.py")
    return {str(p.relative_to(ROOT)) for p in files}


@pytest.mark.parametrize("stage", sorted(stage_commands()))
def test_each_stage_declares_exactly_the_project_modules_it_imports(stage):
    entry, declared = stage_commands()[stage]
    imported = stage_imports(entry)
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
    """core knows no experiment and no report; shared (what experiments share) knows no experiment; the report
    knows no core, shared layer or experiment; plumbing (config, data, io, cli, ...) knows no wing."""
    allowed = {"plumbing": {"plumbing"}, "core": {"core", "plumbing"}, "shared": {"shared", "core", "plumbing"},
               "experiments": {"experiments", "shared", "core", "plumbing"}, "report": {"report", "plumbing"}}
    for path in PACKAGE.rglob("*.py"):
        wing = _wing(path)
        for name in direct_imports(path):
            target = module_file(name)
            if target.name == "__init__.py":
                continue
            assert _wing(target) in allowed[wing], f"{path.relative_to(ROOT)} ({wing}) imports {name}"


def test_no_experiment_imports_a_sibling_experiment():
    """An experiment module reads only the shared layer, core and plumbing: an edit to one experiment re-runs
    only its own stages."""
    for path in (PACKAGE / "experiments").rglob("*.py"):
        siblings = [name for name in direct_imports(path) if name.startswith("lth.experiments.")]
        assert siblings == [], f"{path.relative_to(ROOT)} imports {siblings}"


def test_the_sibling_rule_sees_a_sibling_import(tmp_path):
    """The rule's reader: a sibling import inside a function is found."""
    module = tmp_path / "x.py"
    module.write_text("def f():\n    from lth.experiments.mnist import stage\n")
    assert [n for n in direct_imports(module) if n.startswith("lth.experiments.")] == ["lth.experiments.mnist"]


def test_no_import_circles():
    files = [p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py"]
    for path in files:
        assert path not in project_modules(path), f"{path.relative_to(ROOT)} imports itself through a circle"


def _defines_stage(path: Path) -> bool:
    """Whether module ``path`` defines a top-level ``stage`` function (what ``lth run`` calls)."""
    return any(isinstance(node, ast.FunctionDef) and node.name == "stage" for node in ast.parse(path.read_text()).body)


def test_registry_dvc_yaml_and_stage_modules_agree():
    """Every dvc.yaml stage belongs to one registry entry and runs that entry's experiment; every registry entry
    has a stage module; every experiment module with a stage is registered."""
    from lth.registry import EXPERIMENTS
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    owner = {stage: e.name for e in EXPERIMENTS for stage in e.stages}
    assert sorted(owner) == sorted(stages)
    for name, stage in stages.items():
        assert stage.get("do", stage)["cmd"].split()[4] == owner[name], name
    for e in EXPERIMENTS:
        assert _defines_stage(module_file(STAGE_MODULES.get(e.name, f"lth.experiments.{e.name}"))), e.name
        assert e.page is None or module_file(f"lth.report.{e.page}") is not None, e.page
    modules = {p.stem for p in (PACKAGE / "experiments").glob("*.py") if _defines_stage(p)}
    assert modules == {e.name for e in EXPERIMENTS} - set(STAGE_MODULES)


def test_the_registry_orders_the_report_and_names_every_page():
    """Every page the report assembles is a registry entry's, in the registry's order."""
    from lth.registry import EXPERIMENTS
    from lth.report.assemble import PAGES, SECTIONS
    pages = [e.page for e in EXPERIMENTS if e.page is not None]
    assert sorted(PAGES) == sorted(pages) and SECTIONS == [PAGES[p] for p in pages]
