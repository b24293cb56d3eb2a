"""Batch jobs around the `tacotron` package: the Beam preprocessing job and the Kubeflow pipeline."""
