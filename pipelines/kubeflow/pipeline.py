"""The one Tacotron pipeline: fingerprint -> preprocess -> train -> evaluate -> gate -> export, for every runner."""

import dataclasses

from kfp import dsl, kubernetes

import components
from components import credentials, inferenceservice
from tacotron.quality.gate import Thresholds

PIPELINE_NAME = "tacotron-8khz"
# Retries of the train task (preemption, node loss); each resumes from the last checkpoint. KFP takes no parameter
# here, only a number.
TRAIN_RETRIES = 3
GATE = Thresholds().flat()


@dataclasses.dataclass(frozen=True)
class Volume:
    """An existing PersistentVolumeClaim mounted into the tasks that keep checkpoints and serve models, the other
    way (besides an object store) clusters keep them: point checkpoint_root and serving_dir under mount_path."""

    claim: str
    mount_path: str = "/mnt/tacotron"


def create_pipeline(image: str = components.DEFAULT_IMAGE, volume: Volume | None = None, store_secret: str = ""):
    """The pipeline function with its components running in `image` (compile it, submit it, or run it locally),
    with `volume` mounted where checkpoints and served models are read and written, and the object store's
    credentials read from the Kubernetes Secret `store_secret` by every task and training pod ("": from the pods'
    workload identity)."""
    c = components.build(image)

    def mounted(task):
        if volume is not None:
            kubernetes.mount_pvc(task, pvc_name=volume.claim, mount_path=volume.mount_path)
        return task

    def with_store(task):
        # secretKeyRef: the compiled pipeline names the Secret and its keys, never a value.
        if store_secret:
            kubernetes.use_secret_as_env(task, store_secret, {k: k for k in credentials.REQUIRED_KEYS})
            kubernetes.use_secret_as_env(task, store_secret, {k: k for k in credentials.OPTIONAL_KEYS}, optional=True)
        return task

    @dsl.pipeline(name=PIPELINE_NAME, description="8 kHz Tacotron: preprocess, train, evaluate, gate, export.")
    def tacotron_pipeline(
        corpus: str,
        corpus_format: str = "auto",
        speaker: str = "",
        checkpoint_root: str = "",
        serving_dir: str = "",
        gin_files: str = "base_8khz",
        gin_params: str = "",
        steps: int = 0,
        init_from: str = "",
        train_backend: str = "jax",
        train_nodes: int = 1,
        max_seconds: float = 5.0,
        eval_fraction: float = 0.05,
        beam_options: str = "",
        eval_gin_params: str = "",
        held_out: str = "",
        accelerator_type: str = "nvidia.com/gpu",
        accelerator_count: int = 1,
        train_cpu: str = "8",
        train_memory: str = "32G",
        baseline_metrics: str = "",
        # tacotron.quality.gate.Thresholds' defaults (0 = not checked), read when the pipeline is defined: one source.
        max_failure_rate: float = GATE["max_failure_rate"],
        max_mcd: float = GATE["max_mcd"],
        min_alignment_score: float = GATE["min_alignment_score"],
        max_regression: float = GATE["max_regression"],
        min_sentence_identification: float = GATE["min_sentence_identification"],
        min_length_ratio: float = GATE["min_length_ratio"],
        max_length_ratio: float = GATE["max_length_ratio"],
        kserve_namespace: str = "",
        kserve_service: str = "tacotron",
        kserve_service_account: str = inferenceservice.SERVICE_ACCOUNT,
    ) -> dsl.HTML:
        # Fingerprint the corpus every run, so that preprocessing's cache key changes exactly when the data does.
        fingerprint = (with_store(c.fingerprint(corpus=corpus)).set_caching_options(False)
                       .set_display_name("fingerprint corpus"))
        # Preprocess: Beam + TFT on the chosen runner (DirectRunner locally, Dataflow or Flink on a cluster).
        preprocess = with_store(c.preprocess(
            corpus=corpus, corpus_fingerprint=fingerprint.output, corpus_format=corpus_format, speaker=speaker,
            max_seconds=max_seconds, eval_fraction=eval_fraction, beam_options=beam_options,
        )).set_display_name("preprocess")
        # What the train task asks for itself: a trainer's GPUs, CPU and memory, or with train_nodes > 1 only what
        # following its TrainJob needs. Resources from a task's outputs: the cluster's driver resolves them per run.
        requests = c.train_requests(nodes=train_nodes, accelerator_count=accelerator_count, cpu=train_cpu,
                                    memory=train_memory).set_display_name("train requests")
        # Train on GPUs; checkpoints live under checkpoint_root/<run id>, so a retried pod resumes from them.
        # init_from (a trained model_dir the pod can read, e.g. an earlier run's checkpoint_root/<run id>) warm-starts;
        # train_backend is the Keras backend, set explicitly in the pod (jax or tensorflow). train_nodes > 1: the task
        # runs a Kubeflow Trainer TrainJob of that many pods of this image, each with the train resources below.
        train = (
            with_store(mounted(c.train(
                data=preprocess.outputs["data"], run_key=dsl.PIPELINE_JOB_ID_PLACEHOLDER, gin_files=gin_files,
                gin_params=gin_params, steps=steps, checkpoint_root=checkpoint_root, init_from=init_from,
                backend=train_backend, nodes=train_nodes, image=image, node_accelerator_type=accelerator_type,
                node_accelerator_count=accelerator_count, node_cpu=train_cpu, node_memory=train_memory,
                store_secret=store_secret,
            )))
            .set_display_name("train")
            .set_accelerator_type(accelerator_type)
            .set_accelerator_limit(requests.outputs["accelerator_count"])
            .set_cpu_request(requests.outputs["cpu"])
            .set_memory_request(requests.outputs["memory"])
            .after(requests)  # kfp.local orders tasks by their inputs only, not by what their resources read
            .set_retry(num_retries=TRAIN_RETRIES, backoff_duration="60s", backoff_factor=2.0)
            .set_caching_options(False)
        )
        # Evaluate teacher-forced and free-running, on the eval split and on held_out (sentences of words the corpus
        # lacks, a folder the pod can read); the report becomes the run's HTML artifact.
        evaluate = with_store(c.evaluate(
            data=preprocess.outputs["data"], model=train.outputs["model"], gin_params=eval_gin_params,
            held_out=held_out,
        )).set_display_name("evaluate")
        # Gate: thresholds, and the metrics of baseline_metrics or else of the model promoted last to serving_dir.
        gate = with_store(mounted(c.gate(
            evaluation=evaluate.outputs["evaluation"], baseline_metrics=baseline_metrics, serving_dir=serving_dir,
            max_failure_rate=max_failure_rate, max_mcd=max_mcd, min_alignment_score=min_alignment_score,
            max_regression=max_regression, min_sentence_identification=min_sentence_identification,
            min_length_ratio=min_length_ratio, max_length_ratio=max_length_ratio,
        ))).set_display_name("gate")
        # Export (and push to serving_dir) only a model that passed the gate.
        with dsl.If(gate.outputs["Output"] == True, name="gate-passed"):  # noqa: E712  (KFP needs the comparison)
            export = with_store(mounted(c.export(
                model=train.outputs["model"], evaluation=evaluate.outputs["evaluation"], serving_dir=serving_dir
            ))).set_display_name("export")
            # With a kserve_namespace, point the InferenceService kserve_service there at the pushed version (created
            # when absent, in this image, with kserve_service_account's store credentials). Never cached: the
            # InferenceService may have changed since the same version was last deployed.
            with dsl.If(kserve_namespace != "", name="kserve-deploy"):
                with_store(c.deploy(
                    pushed=export.outputs["Output"], namespace=kserve_namespace, name=kserve_service, image=image,
                    service_account=kserve_service_account, volume_claim=volume.claim if volume else "",
                    volume_mount_path=volume.mount_path if volume else "",
                )).set_display_name("deploy").set_caching_options(False)
        return evaluate.outputs["report"]

    return tacotron_pipeline
