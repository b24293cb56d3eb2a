"""The Kubeflow pipeline: `pipeline` wires the components in data-flow order, `cli` compiles, submits, schedules or
runs it on this machine (`python -m pipelines.kubeflow`)."""
