# The project image: every Kubeflow component runs in it (pipelines/kubeflow/pipeline.py, components/), and it holds the
# CLIs (`python -m pipelines.kubeflow`, `python -m pipelines.preprocess`, `tacotron-train`, ...).
#
#   docker build -t REGISTRY/tacotron:0.1.0 .                      # CPU (preprocessing, evaluation, gate, export)
#   docker build -t REGISTRY/tacotron:0.1.0-gpu --build-arg GPU=1 .  # + CUDA 12 for TensorFlow and JAX
#
# GPU=1 adds `tensorflow[and-cuda]` and `jax[cuda12]` at the versions requirements.txt pins: CUDA and cuDNN come
# as pip wheels, so the same python base image serves; the node needs only the NVIDIA driver and container
# toolkit (as GPU nodes in Kubernetes have). BASE_IMAGE may be any image with Python 3.11 as `python3` with pip
# (e.g. a mirror of python:3.11-slim); a bare nvidia/cuda image has no Python and is not needed.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ARG GPU=0
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    TF_CPP_MIN_LOG_LEVEL=2

# soundfile reads the corpus' FLAC through libsndfile. (sox and espeak-ng only make the sample corpus: not here.)
RUN apt-get update \
    && apt-get install -y --no-install-recommends libsndfile1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The pinned requirements alone first: this heavy layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
# CUDA builds of the two frameworks, same versions; the other pins of requirements.txt hold (constraints cannot
# carry extras, so they are stripped).
RUN if [ "$GPU" = "1" ]; then \
        tf_version="$(sed -n 's/^tensorflow==//p' requirements.txt)" \
        && jax_version="$(sed -n 's/^jax==//p' requirements.txt)" \
        && test -n "$tf_version" && test -n "$jax_version" \
        && sed 's/\[[^]]*\]//' requirements.txt > /tmp/constraints.txt \
        && pip install --no-cache-dir -c /tmp/constraints.txt \
            "tensorflow[and-cuda]==${tf_version}" "jax[cuda12]==${jax_version}" \
        && rm /tmp/constraints.txt; \
    fi

# The model package (its dependencies are the pins above), then the pipeline code and the bundled sample corpus.
COPY model/ model/
RUN pip install --no-cache-dir --no-deps ./model \
    && rm -rf model/build model/*.egg-info
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
