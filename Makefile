# One-command entry points; every target creates/refreshes the virtualenv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
OUT ?= out
DEMO_STEPS ?=

.PHONY: install demo test test-fast lint benchmark image image-base image-test
install: $(STAMP)

$(STAMP): requirements.txt model/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing requirements.txt and ./model into $(VENV) (log: $(VENV)/install.log)"
	@{ $(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip && \
	   $(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt -e ./model; } \
	   > $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; exit 1; }
	touch $(STAMP)

# The main job: the whole Kubeflow pipeline on the bundled sample corpus, run locally by kfp.local.
demo: install
	$(VENV)/bin/python -m pipelines.kubeflow run-local --workdir $(OUT)/pipeline $(if $(DEMO_STEPS),--param steps=$(DEMO_STEPS))

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/python -m pytest tests -q -n 2 --dist loadfile

# Unit tests only (no Beam job, no training beyond a few in-process steps): a few minutes.
test-fast: lint
	$(VENV)/bin/python -m pytest tests -q -n 2 --dist loadfile -m "not slow"

benchmark: install
	$(VENV)/bin/python benchmarks/preprocess.py
	$(VENV)/bin/python benchmarks/train_throughput.py --data $(OUT)/data
	$(VENV)/bin/python benchmarks/time_to_alignment.py --data $(OUT)/data
	$(VENV)/bin/python benchmarks/synthesis.py
	$(VENV)/bin/python benchmarks/pipeline_local.py

# The container image from the Dockerfile, with whichever engine this machine has. `make image GPU=1` builds the GPU
# variant. BASE_IMAGE picks the base (any image with Python 3.11 as python3 and pip); by default `make image-base`
# builds one here with debootstrap, for machines that reach no image registry (Debian's mirror is enough).
IMAGE ?= tacotron:0.1.0
GPU ?= 0
# The first engine that answers (a docker client without a daemon does not); found once, and only by these targets.
ENGINE ?= $(eval ENGINE := $(firstword $(foreach engine,docker podman buildah,$(if $(shell $(engine) info \
    >/dev/null 2>&1 && echo yes),$(engine)))))$(ENGINE)
LOCAL_BASE := localhost/tacotron-base:bookworm
BASE_IMAGE ?= $(LOCAL_BASE)
DEBIAN_MIRROR ?= http://deb.debian.org/debian
IMAGE_WORK := $(OUT)/image
# pip inside the build trusts the host's CA bundle (HTTPS through a proxy with its own certificate): the bundle and
# a pip.conf naming it are mounted for the build's RUN steps only, never copied into the image. Docker has no build
# mounts: it builds with the base's own certificates.
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
BUILD_MOUNTS = $(if $(filter docker,$(ENGINE)),,$(if $(wildcard $(CA_BUNDLE)),-v $(abspath $(CA_BUNDLE)):/run/host-ca.crt:ro -v $(abspath $(IMAGE_WORK))/pip.conf:/etc/pip.conf:ro))
BUILD = $(if $(filter buildah,$(ENGINE)),buildah bud --isolation chroot,$(if $(filter podman,$(ENGINE)),podman build --isolation chroot,docker build))

image: $(if $(filter $(LOCAL_BASE),$(BASE_IMAGE)),image-base)
	@test -n "$(ENGINE)" || { echo "make image: no container engine answers: looked for docker, podman and buildah" >&2; exit 2; }
	@mkdir -p $(IMAGE_WORK) && printf '[global]\ncert = /run/host-ca.crt\n' > $(IMAGE_WORK)/pip.conf
	$(BUILD) $(BUILD_MOUNTS) --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg GPU=$(GPU) \
	    -t $(IMAGE)$(if $(filter 1,$(GPU)),-gpu) .

# The main job inside the image: the whole pipeline on the bundled corpus, every task a container of the image run as
# its user by kfp.local's DockerRunner. With podman (or buildah), through podman's own Docker API service behind
# tests/podman_docker_api.py, which says why kfp needs it. Workdir: $(OUT)/image-test.
IMAGE_REF = $(if $(filter docker,$(ENGINE)),$(IMAGE),localhost/$(IMAGE))
image-test: image install
	$(if $(filter docker,$(ENGINE)),,$(VENV)/bin/python -m tests.podman_docker_api) $(VENV)/bin/python -m \
	    pipelines.kubeflow run-local --image $(IMAGE_REF) --workdir $(OUT)/image-test --no_cache $(IMAGE_TEST_ARGS)

# Debian bookworm (minbase) with Python 3.11, pip, venv and libsndfile, a venv first on PATH (Debian's own python3
# refuses pip installs, PEP 668, and has no `python`), imported as LOCAL_BASE. Built once (remove the image to rebuild it).

image-base:
	@test -n "$(ENGINE)" || { echo "make image-base: no container engine answers: looked for docker, podman and buildah" >&2; exit 2; }
	@command -v debootstrap >/dev/null || { echo "make image-base: debootstrap not found (apt-get install debootstrap)" >&2; exit 2; }
	@if $(if $(filter docker,$(ENGINE)),docker image inspect,$(if $(filter buildah,$(ENGINE)),buildah inspect,podman image exists)) $(LOCAL_BASE) >/dev/null 2>&1; then \
	    echo "$(LOCAL_BASE) exists"; \
	else \
	    set -e; rm -rf $(IMAGE_WORK)/rootfs; mkdir -p $(IMAGE_WORK); \
	    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,libsndfile1,ca-certificates \
	        bookworm $(IMAGE_WORK)/rootfs $(DEBIAN_MIRROR) > $(IMAGE_WORK)/debootstrap.log; \
	    chroot $(IMAGE_WORK)/rootfs python3 -m venv /opt/venv; \
	    rm -rf $(IMAGE_WORK)/rootfs/var/cache/apt/archives/*.deb $(IMAGE_WORK)/rootfs/var/lib/apt/lists/*; \
	    tar -C $(IMAGE_WORK)/rootfs -c . | $(if $(filter buildah,$(ENGINE)),podman,$(ENGINE)) import \
	        --change 'ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
	        --change 'CMD ["python"]' - $(LOCAL_BASE); \
	    rm -rf $(IMAGE_WORK)/rootfs; \
	fi
