"""The Beam + TFT preprocessing job: an LJSpeech-layout corpus -> normalized 8 kHz spectrogram TFRecords.

`cli` is its command (`python -m pipelines.preprocess`), `graph` the Beam graph, `corpus` the per-clip steps,
`clip_checks` what a clip must meet, `preprocessing` the TFT `preprocessing_fn`, `data_report` report.html and
`fingerprint` the corpus digest the Kubeflow pipeline caches on.
"""
