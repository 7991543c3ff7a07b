"""The report wing's layout: no page imports another page (what pages share lives in shared report modules),
each page reads only its own claim records, the ledger holds no experiment's claims, and no function of the
report is longer than 50 lines."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "lth" / "report"
ENTRY_POINTS = ("assemble", "stage")          # the modules that call every page


def _imports(path: Path) -> set[str]:
    """Every ``lth.report`` module that ``path`` imports, at any depth of its code (``from lth.report import
    x`` counts as module ``lth.report.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name.removeprefix("lth.report.") for name in found if name.startswith("lth.report.")}


def pages() -> set[str]:
    """The report's pages: the experiments' pages the registry names (``assemble`` imports them by name) and
    the modules ``assemble`` imports a ``*_section`` from (data, run times)."""
    from lth.registry import EXPERIMENTS
    tree = ast.parse((REPORT / "assemble.py").read_text())
    return {e.page for e in EXPERIMENTS if e.page is not None} | {
        node.module.removeprefix("lth.report.") for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lth.report.")
        and any(alias.name.endswith("_section") for alias in node.names)}


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(REPORT).with_suffix("").parts): p for p in REPORT.rglob("*.py")
            if p.name != "__init__.py"}


def test_the_pages_are_found():
    assert {"xor", "mnist", "mnist_v1", "cifar", "deconstruct", "importance", "timing"} <= pages()


def test_no_page_imports_another_page():
    """A page's internals are its own: what two pages share moves into a shared report module."""
    all_pages = pages()
    for page in sorted(all_pages):
        others = sorted(_imports(REPORT / f"{page}.py") & (all_pages - {page}))
        assert others == [], f"page lth/report/{page}.py imports the page(s) {others}"


def test_shared_report_modules_import_no_page():
    """Shared modules sit below the pages: only the entry points call pages."""
    all_pages = pages()
    for name, path in sorted(_modules().items()):
        if name in all_pages or name in ENTRY_POINTS:
            continue
        assert sorted(_imports(path) & all_pages) == [], f"lth/report/{name} imports a page"


def test_each_page_reads_only_its_own_claim_records():
    """Claim records are data next to their page (``<page>_claims.py``); no page reads another's."""
    modules = _modules()
    records = {name for name in modules if name.endswith("_claims")}
    assert records, "no claim-record modules found"
    for page in sorted(pages()):
        read = _imports(REPORT / f"{page}.py") & records
        assert read <= {f"{page}_claims"}, f"page {page} reads {sorted(read)}"
    for name in records:
        assert name.removesuffix("_claims") in pages(), f"{name}: records without a page"


def test_the_ledger_holds_no_experiment_claims():
    """The ledger package (types, statistics, rules, Markdown) builds no Claim record itself."""
    for path in (REPORT / "ledger").glob("*.py"):
        calls = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "Claim"]
        assert calls == [], f"{path.relative_to(ROOT)} builds claim records"


def test_the_rule_sees_a_page_import_inside_a_function(tmp_path):
    """The reader itself: an import inside a function and ``from lth.report import page`` both count."""
    module = tmp_path / "page.py"
    module.write_text("def f():\n    from lth.report import mnist\n    import lth.report.cifar\n")
    assert {"mnist", "cifar"} <= _imports(module)


def test_no_report_function_is_longer_than_50_lines():
    """Prose-heavy pages are split into small named helpers (paragraph, table, figure)."""
    long = []
    for path in REPORT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 50:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []
