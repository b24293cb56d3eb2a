"""Every override or read of a private Keras member, each with why no public API does it.

Nothing else in the package touches a Keras name that starts with an underscore (tests/test_layout.py checks), and
`PRIVATE` below lists each member with the signature we rely on (tests/tacotron/network/test_keras_private.py checks it
against the installed Keras), so an upgrade that renames or reshapes one fails a test by name instead of changing
training silently.
"""

from __future__ import annotations

import io

import keras

from tacotron.network.distribute import replicas_in_sync

# (owner in Keras, member, its parameters or None for a plain attribute, TensorFlow backend only, who uses it)
PRIVATE = (
    ("keras.layers.BatchNormalization", "_moments", ["self", "inputs", "mask"], False, "ReplicaMoments"),
    ("keras.layers.BatchNormalization", "_reduction_axes", None, False, "ReplicaMoments"),
    ("keras.layers.Layer", "_trainable_variables", None, False, "SavesSeedState"),
    ("keras.layers.Layer", "_non_trainable_variables", None, False, "SavesSeedState"),
    ("keras.src.backend.tensorflow.trainer.TensorFlowTrainer", "_maybe_symbolic_build",
     ["self", "iterator", "data_batch"], True, "BuiltBeforeFit"),
    ("keras.src.backend.tensorflow.optimizer.TFOptimizer", "_all_reduce_sum_gradients", ["self", "grads_and_vars"],
     True, "SumsGradientsOnce"),
    ("keras.src.saving.saving_lib", "H5IOStore", ["path_or_io", "archive", "mode"], False, "weights_file_bytes"),
    ("keras.src.saving.saving_lib", "_save_state",
     ["saveable", "weights_store", "assets_store", "inner_path", "visited_saveables"], False, "weights_file_bytes"),
)


class SavesSeedState:
    """Mixin for a layer with a `seed` SeedGenerator: its state goes into checkpoints after the layer's own weights.

    Keras saves weights but not SeedGenerator states, so a resumed run would draw a different dropout sequence
    from the one the uninterrupted run draws. Checkpoints without the state (older ones) still load.
    Private because the store's keys are the indices of the layer's *own* variables, which only
    `_trainable_variables` and `_non_trainable_variables` list (the public `weights` include sublayers').
    """

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[str(len(self._trainable_variables + self._non_trainable_variables))] = self.seed.state

    def load_own_variables(self, store):
        own = len(self._trainable_variables + self._non_trainable_variables)
        if str(own) in store.keys():
            self.seed.state.assign(store[str(own)])
            store = {str(i): store[str(i)] for i in range(own)}
        super().load_own_variables(store)


class ReplicaMoments:
    """Mixin for BatchNormalization: masked batch statistics that span all tf.distribute replicas.

    Keras' public `synchronized=True` ignores the mask and is TensorFlow-only; the statistics are computed in
    `_moments`, which has no public hook. Other backends and single-replica runs use Keras' computation unchanged.
    """

    def _moments(self, inputs, mask):
        context = replicas_in_sync()
        if context is None or mask is None:
            return super()._moments(inputs, mask)
        import tensorflow as tf

        weights = tf.cast(tf.broadcast_to(mask[..., None], tf.shape(inputs)), inputs.dtype)  # [..., C]
        axes = self._reduction_axes
        total, count = context.all_reduce("SUM", [tf.reduce_sum(inputs * weights, axes), tf.reduce_sum(weights, axes)])
        mean = total / (count + keras.backend.epsilon())  # [C]
        squares = context.all_reduce("SUM", tf.reduce_sum(tf.square(inputs - mean) * weights, axes))
        return mean, squares / (count + keras.backend.epsilon())


class BuiltBeforeFit:
    """Mixin for a Model that the trainer builds, with its optimizer, before `fit`: Keras' symbolic build is skipped.

    TensorFlow backend only. Under MultiWorkerMirroredStrategy that build reduces a dict batch with
    strategy.reduce, which fails (keras-team/keras#20329); `fit` calls it unconditionally, with no public switch.
    """

    def _maybe_symbolic_build(self, *args, **kwargs):
        if self.built and self.optimizer is not None and self.optimizer.built:
            return
        super()._maybe_symbolic_build(*args, **kwargs)


class SumsGradientsOnce:
    """Mixin for an optimizer inside a LossScaleOptimizer that has already summed the replicas' gradients.

    TensorFlow backend only: Keras sums the replicas' gradients again in `_all_reduce_sum_gradients`, inside its
    update, and has no public way to say they are summed already.
    """

    gradients_summed = False

    def _all_reduce_sum_gradients(self, grads_and_vars):
        if self.gradients_summed:
            return list(grads_and_vars)
        return super()._all_reduce_sum_gradients(grads_and_vars)


def weights_file_bytes(model: keras.Model) -> bytes:
    """The bytes of the `.weights.h5` file that `model.save_weights` would write, built in memory.

    An HDF5 file written onto a disk that fills part-way stays open inside the HDF5 library: h5py cannot release its
    root group (every release tries the failing flush again), and the library's own close at interpreter exit crashes
    the process (a segmentation fault, after the error has been reported). Built in memory, the file never meets the
    disk, and writing its bytes fails as an ordinary OSError. `save_weights` takes only a path, so the store and the
    state walk it uses are called directly.
    """
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    # The state walk builds a throwaway optimizer; under a distribution over the processes of a JAX cluster, its
    # variables would be placed by a collective that only this process (the one that writes) joins, and wait forever.
    distribution = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        saving_lib._save_state(model, weights_store=store, assets_store=None, inner_path="", visited_saveables=set())
    finally:
        keras.distribution.set_distribution(distribution)
    store.close()
    return buffer.getvalue()
