"""From a trained model to audio: synthesis, the exported SavedModel, and what serves it."""
