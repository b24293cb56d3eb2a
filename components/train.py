"""Train component: `tacotron-train` with checkpoints in a persistent folder, so a retried or preempted pod resumes."""

from kfp.dsl import Dataset, Input, Model, Output


def train(
    data: Input[Dataset],
    model: Output[Model],
    run_key: str,
    gin_files: str = "base_8khz",
    gin_params: str = "",
    steps: int = 0,
    checkpoint_root: str = "",
    init_from: str = "",
    backend: str = "jax",
    nodes: int = 1,
    image: str = "",
    node_accelerator_type: str = "",
    node_accelerator_count: int = 0,
    node_cpu: str = "",
    node_memory: str = "",
    store_secret: str = "",
) -> None:
    """gin_files: comma-separated shipped config names or paths; gin_params: bindings separated by ";".
    steps: 0 = the config's. checkpoints: checkpoint_root/run_key (or the output artifact itself when empty).
    init_from: warm start from this trained model_dir or checkpoint, as the pod sees it ("" = from scratch); a
    retried pod resumes its own checkpoints instead. backend: the Keras backend to train on, "jax" (the
    tacotron-train default) or "tensorflow". nodes: above 1, a Kubeflow Trainer TrainJob runs tacotron-train on
    that many pods of `image`, each with the node_* accelerators, cpu and memory, on data and checkpoints in an
    object store (this pod only follows it; KFP's own names for this task's resources are taken). store_secret: the
    Kubernetes Secret whose keys those pods read the store's credentials from ("" = the pods' own identity)."""
    import os
    import sys

    backends = ("jax", "tensorflow")
    if backend not in backends:
        raise ValueError(f"backend {backend!r}: choose one of {backends}")
    if nodes < 1:
        raise ValueError(f"nodes={nodes}: train on at least 1 node")
    from tacotron import storage

    model_dir = storage.join(checkpoint_root, run_key) if checkpoint_root else model.path + ".work"
    if nodes > 1:
        from components import trainjob

        if backend != "jax":
            raise ValueError(f"multi-node training runs on the JAX backend (backend {backend!r}, {nodes} nodes)")
        # Every pod reads the data and the checkpoints: object-store URIs, not this pod's mounts. Checked before the
        # slow imports below, so that a refusal comes at once.
        data_path = trainjob.shared_uri(data.uri, "the data")
        model_dir = (trainjob.shared_uri(model_dir, "checkpoint_root") if checkpoint_root
                     else trainjob.shared_uri(model.uri, "the model artifact") + ".work")
        init_from = trainjob.shared_uri(init_from, "init_from") if init_from else ""
    else:
        data_path = data.path
    # Keras reads the backend once, at its first import, which components.artifacts would otherwise trigger with
    # whatever the image's environment says: set it explicitly, before anything imports Keras.
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise RuntimeError(f"Keras was imported with backend {sys.modules['keras'].backend.backend()!r} before the "
                           f"train component could select {backend!r}")
    os.environ["KERAS_BACKEND"] = backend
    from components.artifacts import export_model_dir, gin_flags

    # --verbose: the task's log is where a cluster keeps the frameworks' logs too.
    argv = ["--verbose", "--data", data_path, "--model_dir", model_dir]
    for name in filter(None, (g.strip() for g in gin_files.split(","))):
        argv += ["--gin_file", name]
    argv += gin_flags(gin_params)
    if steps > 0:
        argv += ["--steps", str(steps)]
    if init_from:
        argv += ["--init_from", init_from]
    if nodes > 1:
        resources = trainjob.Resources(node_accelerator_type, node_accelerator_count, node_cpu, node_memory)
        trainjob.launch(run_key, image, nodes, argv, resources, store_secret=store_secret)
    else:
        from tacotron.cli import train as command

        code = command.main(argv)
        if code != 0:
            # 143: preempted after a checkpoint; the task's retry resumes from it.
            raise RuntimeError(f"tacotron-train exited with {code} (see the log above)")
    model.metadata.update(export_model_dir(model_dir, model.path))
