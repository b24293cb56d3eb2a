"""Deploy component: point the KServe InferenceService at the version the export pushed (created when absent)."""


def deploy(
    pushed: str,
    namespace: str,
    name: str,
    image: str,
    service_account: str,
    volume_claim: str = "",
    volume_mount_path: str = "",
) -> str:
    """pushed: the export's serving_dir/<step> (s3://, gs://, or a path on the pipeline's volume `volume_claim`,
    mounted at `volume_mount_path`). The InferenceService `name` in `namespace` is created, running `image` with
    `service_account`'s store credentials, or has its STORAGE_URI changed (components.inferenceservice.deploy), through
    the pod's service account. Returns the storage URI it now serves."""
    from components import inferenceservice

    uri = inferenceservice.storage_uri(pushed, volume_claim, volume_mount_path)
    inferenceservice.deploy(inferenceservice.connect(), namespace, name, image, uri, service_account)
    return uri
