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
    for path in LIBRARY.glob("*.py"):
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


def test_no_module_level_import_cycle_in_tacotron():
    """The graph of module-level imports between tacotron's modules has no cycle (imports inside functions, which
    some modules use to stay light, are not edges: they run after every module has loaded)."""
    paths = {f"tacotron.{p.stem}": p for p in LIBRARY.glob("*.py") if p.stem != "__init__"}
    paths |= {f"tacotron.cli.{p.stem}": p for p in (LIBRARY / "cli").glob("*.py") if p.stem != "__init__"}
    edges = {}
    for module, path in paths.items():
        top_level = ast.parse(path.read_text()).body
        names = set()
        for node in top_level:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        edges[module] = {name for name in names if name in paths and name != module}

    def visit(module: str, stack: list[str]) -> None:
        assert module not in stack, "import cycle: " + " -> ".join([*stack[stack.index(module):], module])
        for target in edges[module]:
            visit(target, [*stack, module])

    for module in paths:
        visit(module, [])
