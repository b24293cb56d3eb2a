"""Training: learning rate, optimizers, callbacks, checkpoints, warm start and the JAX cluster."""
