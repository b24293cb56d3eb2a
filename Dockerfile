# The project image: every Kubeflow component runs in it (pipelines/kubeflow/pipeline.py, components/), and it holds the
# CLIs (`python -m pipelines.kubeflow`, `python -m pipelines.preprocess`, `tacotron-train`, ...).
#
#   make image                     # CPU (preprocessing, training, evaluation, gate, export); docker, podman or buildah
#   make image GPU=1               # + CUDA 12 for TensorFlow and JAX
#   docker build -t REGISTRY/tacotron:0.1.0 .   # the same by hand
#
# GPU=1 adds `tensorflow[and-cuda]` and `jax[cuda12]` at the versions requirements.txt pins: CUDA and cuDNN come
# as pip wheels, so the same python base image serves; the node needs only the NVIDIA driver and container
# toolkit (as GPU nodes in Kubernetes have). BASE_IMAGE may be any image with Python 3.11 as `python3` with pip and
# venv (e.g. a mirror of python:3.11-slim, or `make image-base`'s); a bare nvidia/cuda image has no Python.
#
# Two stages: the first installs the runtime pins into a virtualenv and slims it (docs/BENCHMARKS.md has the sizes);
# the second is the base plus that virtualenv and the code, so nothing deleted in the first is in any layer.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG GPU=0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_NO_CACHE_DIR=1
# strip(1), for the slimming below.
RUN apt-get update \
    && apt-get install -y --no-install-recommends binutils \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/tacotron
ENV PATH=/opt/tacotron/bin:$PATH
WORKDIR /build

# The runtime pins: requirements.txt up to its tests-and-lint section (pytest, moto, ruff stay out).
COPY requirements.txt ./
RUN sed '/^# --- tests and lint only/,$d' requirements.txt > runtime.txt \
    && pip install -r runtime.txt
# CUDA builds of the two frameworks, same versions; the other pins hold (constraints cannot carry extras, so they are
# stripped).
RUN if [ "$GPU" = "1" ]; then \
        tf_version="$(sed -n 's/^tensorflow==//p' runtime.txt)" \
        && jax_version="$(sed -n 's/^jax==//p' runtime.txt)" \
        && test -n "$tf_version" && test -n "$jax_version" \
        && sed 's/\[[^]]*\]//' runtime.txt > constraints.txt \
        && pip install -c constraints.txt "tensorflow[and-cuda]==${tf_version}" "jax[cuda12]==${jax_version}"; \
    fi
COPY model/ model/
RUN pip install --no-deps ./model

# Slimming, each step for something no component runs (docs/SCALE_OUT.md has what each saves and what is left):
# - packages that come with apache-beam[gcp] and TensorFlow and that no command imports (checked with
#   PYTHONPROFILEIMPORTTIME over preprocessing, training, evaluation and export): Vertex AI's clients, Beam's
#   Google Cloud connectors other than Cloud Storage and Dataflow, libclang (TensorFlow's build tools) and
#   TensorBoard's data server binary;
# - C++ headers (TensorFlow's alone are 430 MB) and the packages' own test suites, but NumPy's (numpy.testing, which
#   SciPy imports, reads one file of them);
# - the symbol tables of the shared libraries (strip --strip-unneeded keeps what the dynamic linker needs): every one
#   but those auditwheel patched (the libraries in a *.libs folder and the modules that load them), which strip
#   breaks ("ELF load command address/offset not page-aligned").
RUN pip uninstall -y google-cloud-aiplatform google-genai libclang tensorboard-data-server \
        google-cloud-bigquery google-cloud-bigquery-storage google-cloud-bigtable google-cloud-datastore \
        google-cloud-dlp google-cloud-language google-cloud-pubsub google-cloud-recommendations-ai \
        google-cloud-spanner google-cloud-videointelligence google-cloud-vision google-cloud-sql \
        cloud-sql-python-connector \
    && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && rm -rf "$site/tensorflow/include" "$site/pyarrow/include" "$site/jaxlib/include" \
    && find "$site" -path "$site/numpy" -prune -o -type d -name tests -prune -exec rm -rf {} + \
    && find "$site" -type f -name '*.so*' -not -path '*.libs/*' -exec sh -c \
        'for lib; do readelf -d "$lib" | grep -q "\.libs" || strip --strip-unneeded "$lib"; done' sh {} + \
    && rm -rf "$site/pip"

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PATH=/opt/tacotron/bin:$PATH
# soundfile reads the corpus' FLAC through libsndfile. (sox and espeak-ng only make the sample corpus: not here.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/tacotron /opt/tacotron

WORKDIR /app
# The pipeline code and the bundled sample corpus.
COPY pipelines/ pipelines/
COPY components/ components/
COPY data/sample_corpus/ data/sample_corpus/
COPY data/held_out/ data/held_out/

# `pipelines` and `components` import from /app (component tasks run `python3 -m kfp.dsl.executor_main`).
ENV PYTHONPATH=/app

# Run as a non-root user; out/ is where `run-local` writes by default.
RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash tacotron \
    && mkdir -p /app/out \
    && chown tacotron:tacotron /app/out
USER tacotron

CMD ["python", "-m", "pipelines.kubeflow", "--help"]
