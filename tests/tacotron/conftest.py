"""Fixtures of the tacotron package's tests."""

import uuid

import pytest


@pytest.fixture(params=["local", "s3", "gs"])
def root(request, tmp_path) -> str:
    """An empty folder on local disk or in the test bucket of the loopback S3 or GCS server."""
    if request.param == "local":
        return str(tmp_path / "root")
    request.getfixturevalue("object_store" if request.param == "s3" else "gcs_store")
    return f"{request.param}://tacotron/{uuid.uuid4().hex}"
