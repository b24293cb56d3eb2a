"""Kubeflow Pipelines components: thin adapters that call `tacotron` and `pipelines`, one module each.

Every component runs in the project image (`base_image`), where the code is already installed, so nothing is
pip-installed when a task starts. `build(image)` makes the set of components for one image tag.
"""

from __future__ import annotations

import types

from kfp import dsl

DEFAULT_IMAGE = "ghcr.io/tacotron-8khz/tacotron:0.1.0"


def build(image: str = DEFAULT_IMAGE) -> types.SimpleNamespace:
    """The pipeline's components, running in `image`."""
    from components import deploy, evaluate, export, fingerprint, gate, preprocess, train, train_requests

    def component(func):
        return dsl.component(func, base_image=image, install_kfp_package=False)

    return types.SimpleNamespace(
        fingerprint=component(fingerprint.fingerprint_corpus),
        preprocess=component(preprocess.preprocess),
        train_requests=component(train_requests.train_requests),
        train=component(train.train),
        evaluate=component(evaluate.evaluate),
        gate=component(gate.gate),
        export=component(export.export),
        deploy=component(deploy.deploy),
    )
