"""Kubeflow Pipelines components: thin adapters that call `tacotron` and `pipelines`."""
