"""The house rules that code review alone would not keep: configs parsed once and passed down, library modules that
are not commands, and imports whose arrows point one way."""

import ast
import pathlib

import gin
import pytest

from tacotron import config

REPO = pathlib.Path(__file__).resolve().parents[1]
LIBRARY = REPO / "model" / "tacotron"


def imported_modules(path: pathlib.Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_config_gin_round_trips_every_setting_without_touching_global_bindings():
    configs = config.parse_gin(["tiny"], ["TrainConfig.batch_size = 4", "LossConfig.stop_positive_weight = 2.5"])
    bound_before = gin.config_str()
    written = configs.to_gin()
    read = config.read_gin(written, ["SynthesisConfig.griffin_lim_iters = 7"])
    assert read.model == configs.model and read.loss == configs.loss and read.train == configs.train
    assert read.synthesis.griffin_lim_iters == 7 and configs.synthesis.griffin_lim_iters != 7
    # Reading a model's config never changes what the caller bound (load_model used to clear it).
    assert gin.config_str() == bound_before
    # An old model_dir's config.gin lists only what differed from the defaults: the rest are defaults.
    assert config.read_gin("TacotronConfig.embedding_dim = 64\n").model.embedding_dim == 64


@pytest.mark.parametrize("binding, message", [
    ("Nope.x = 1", "no setting Nope.x"),
    ("TrainConfig.nope = 1", "no setting TrainConfig.nope"),
    ("TrainConfig.steps = @something", "only literal values"),
    ("TrainConfig.steps = (", "cannot parse"),
    ("scope/TrainConfig.steps = 3", "only plain bindings"),
])
def test_read_gin_refuses_what_it_cannot_read_in_one_line(binding, message):
    with pytest.raises(config.ConfigError) as error:
        config.read_gin("", [binding])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_library_modules_are_not_commands():
    """argparse, sys.argv and the backend default live in tacotron/cli only."""
    for path in LIBRARY.rglob("*.py"):
        if path.parent.name == "cli":
            continue
        source = path.read_text()
        assert "argparse" not in source and "sys.argv" not in source, path.name
        assert 'environ.setdefault("KERAS_BACKEND"' not in source, path.name
        assert '__name__ == "__main__"' not in source, path.name


def test_arrows_point_one_way():
    """tacotron imports none of pipelines/components/Beam/KFP; components never import the Kubeflow pipeline; the
    Beam job never imports components or the Kubeflow pipeline."""
    forbidden = {
        LIBRARY: ("pipelines", "components", "apache_beam", "kfp"),
        REPO / "components": ("pipelines.kubeflow",),
        REPO / "pipelines" / "preprocess": ("components", "pipelines.kubeflow", "kfp"),
    }
    for folder, prefixes in forbidden.items():
        for path in folder.rglob("*.py"):
            for name in imported_modules(path):
                assert not name.startswith(prefixes), f"{path.relative_to(REPO)} imports {name}"


def first_party_modules() -> dict[str, pathlib.Path]:
    """Module name -> file, for tacotron, pipelines and components."""
    modules = {}
    roots = {"tacotron": LIBRARY, "pipelines": REPO / "pipelines", "components": REPO / "components"}
    for package, root in roots.items():
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_edges(modules: dict[str, pathlib.Path], module_level_only: bool) -> dict[str, set[str]]:
    """Module -> the first-party modules it imports (a `from package import module` counts as the module)."""
    edges = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        nodes = tree.body if module_level_only else list(ast.walk(tree))
        names = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        edges[module] = {name for name in names if name in modules and name != module}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> list[str] | None:
        if node in stack:
            return [*stack[stack.index(node):], node]
        if node in done:
            return None
        for target in sorted(edges.get(node, ())):
            if cycle := visit(target, [*stack, node]):
                return cycle
        done.add(node)
        return None

    for node in sorted(edges):
        if cycle := visit(node, []):
            return cycle
    return None


def test_no_import_cycle_between_modules():
    """Module-level imports between first-party modules form no cycle (imports inside functions, which some modules
    use to stay light, run after every module has loaded)."""
    assert find_cycle(import_edges(first_party_modules(), module_level_only=True)) is None


def test_no_import_cycle_between_packages():
    """Counting every import, function-level too: tacotron, the Beam job, the components and the Kubeflow pipeline
    form no cycle (the arrows: pipelines.kubeflow -> components -> {tacotron, pipelines.preprocess})."""
    packages = ("pipelines.kubeflow", "pipelines.preprocess", "components", "tacotron")

    def package(module: str) -> str | None:
        return next((p for p in packages if module == p or module.startswith(p + ".")), None)

    graph: dict[str, set[str]] = {p: set() for p in packages}
    for module, targets in import_edges(first_party_modules(), module_level_only=False).items():
        for target in targets:
            if package(module) and package(target) and package(module) != package(target):
                graph[package(module)].add(package(target))
    assert find_cycle(graph) is None, graph
    assert graph["tacotron"] == set() and "pipelines.kubeflow" not in graph["components"]


# tacotron's layers, lowest first (docs/DESIGN.md): a module imports from its own layer and the layers before it.
LAYERS = (("storage",), ("text",), ("audio",), ("config", "features", "dataset"), ("network",), ("serving",),
          ("quality",), ("training",), ("cli",))


def test_tacotron_layers_import_downward_only():
    def layer(module: str) -> int:
        top = module.split(".")[1]
        return next(i for i, names in enumerate(LAYERS) if top in names)

    upward = sorted(f"{module} imports {target}"
                    for module, targets in import_edges(first_party_modules(), module_level_only=False).items()
                    if module.startswith("tacotron.")
                    for target in targets if target.startswith("tacotron.") and layer(target) > layer(module))
    assert not upward, upward


def test_the_cycle_check_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# Each file or record name the code writes, and the one module that may spell it (tests check the files as a user
# would see them, so they are not scanned).
OWNED_NAMES = {
    "metrics.jsonl": "model/tacotron/storage/training_log.py",
    "event": "model/tacotron/storage/training_log.py",
    "metrics.json": "model/tacotron/quality/gate.py",
    "gate.json": "model/tacotron/quality/gate.py",
    "ckpt-": "model/tacotron/network/model_dir.py",
    ".weights.h5": "model/tacotron/network/model_dir.py",
    "config.gin": "model/tacotron/network/model_dir.py",
    "frontend.json": "model/tacotron/features.py",
    "normalization.json": "model/tacotron/features.py",
    "report.json": "model/tacotron/features.py",
    "export_info.json": "model/tacotron/serving/export.py",
    "warm_start.json": "model/tacotron/training/warm_start.py",
}
SCANNED = ("model/tacotron", "components", "pipelines", "benchmarks")


def names_a_contract(literal: str, name: str) -> bool:
    """A string that is the name, or a path or file name built on it (prose that mentions it is not)."""
    if " " in literal:
        return False
    last = literal.replace("\\", "/").rsplit("/", 1)[-1]
    if name.startswith("."):
        return last.endswith(name)
    if name.endswith("-"):
        return last.startswith(name)
    return last == name


def stray_names(source: str, relative: str) -> list[str]:
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [f"{relative}:{node.lineno}: {node.value!r} belongs to {owner}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            for name, owner in OWNED_NAMES.items() if relative != owner and names_a_contract(node.value, name)]


def test_every_file_and_record_name_is_spelled_by_its_owner_alone():
    stray = [line for folder in SCANNED for path in sorted((REPO / folder).rglob("*.py"))
             for line in stray_names(path.read_text(), path.relative_to(REPO).as_posix())]
    assert not stray, "\n".join(stray)


def test_the_owner_check_finds_a_stray_name():
    source = 'X = "run/metrics.jsonl"\nY = "event"\nZ = "see metrics.jsonl for the rows"\n'
    assert [line.split(": ", 1)[1] for line in stray_names(source, "benchmarks/probe.py")] == [
        "'run/metrics.jsonl' belongs to model/tacotron/storage/training_log.py",
        "'event' belongs to model/tacotron/storage/training_log.py"]


# Test folders that mirror a code folder: tests/<folder>/test_<module>.py tests <folder>/<module>.py.
MIRRORED = {"tests/tacotron": LIBRARY, "tests/pipelines": REPO / "pipelines", "tests/data": REPO / "data"}
# Modules tested through their command rather than on their own; and the cross-cutting system tests.
TESTED_AS_A_WHOLE = {"tests/pipelines/preprocess/test_job.py": "the Beam job, run as users run it",
                     "tests/pipelines/kubeflow/test_run_local.py": "the whole pipeline through kfp.local",
                     "tests/pipelines/kubeflow/test_remote.py": "cli.py's submit and schedule against a fake API",
                     "tests/pipelines/kubeflow/test_trainjob.py": "components/trainjob.py through the train step's "
                                                                  "multi-node path, against a fake Kubernetes API",
                     "tests/pipelines/kubeflow/test_inferenceservice.py": "components/inferenceservice.py's "
                                                                          "manifest and pipelines/kubeflow/"
                                                                          "inferenceservice.yaml, against KServe's CRD",
                     "tests/pipelines/kubeflow/test_deploy.py": "components/deploy.py and the InferenceService "
                                                                "updates, against a fake Kubernetes API",
                     "tests/data/test_sample_corpus.py": "the bundled corpus, not a module"}


def unmirrored_tests() -> list[str]:
    stray = []
    for folder, code in MIRRORED.items():
        for test in sorted((REPO / folder).rglob("test_*.py")):
            relative = test.relative_to(REPO).as_posix()
            module = code / test.relative_to(REPO / folder).with_name(test.name.removeprefix("test_"))
            package = module.with_suffix("") / "__init__.py"  # a layer whose package holds its core functions
            if relative not in TESTED_AS_A_WHOLE and not module.exists() and not package.exists():
                stray.append(f"{relative}: no {module.relative_to(REPO)}")
    return stray


def test_test_modules_mirror_the_code():
    assert not unmirrored_tests(), unmirrored_tests()
    loose = sorted(p.name for p in (REPO / "tests").glob("test_*.py") if p.name != "test_layout.py")
    assert not loose, f"tests/ holds only test_layout.py at its top; the rest mirror the code: {loose}"


def test_the_work_units_named_in_conftest_exist_and_hold_every_reader_of_the_shared_run():
    from tests.conftest import LONGEST_FIRST, SHARED_RUN, SHARED_RUN_MODULES

    assert [u for u in (*LONGEST_FIRST, *SHARED_RUN_MODULES) if u != SHARED_RUN and not (REPO / u).exists()] == []
    readers = {p.relative_to(REPO).as_posix() for p in (REPO / "tests").rglob("test_*.py")
               if p.name != "test_layout.py" and "pipeline_run" in p.read_text()}
    assert readers == set(SHARED_RUN_MODULES)
