"""8 kHz Tacotron: the logic shared by preprocessing, training, evaluation and serving."""

__version__ = "0.1.0"
