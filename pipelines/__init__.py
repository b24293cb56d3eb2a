"""The two pipeline definitions: the Beam + TFT preprocessing job (`preprocess`) and the Kubeflow pipeline
(`kubeflow`), which runs that job and the `tacotron` commands through `components`."""
