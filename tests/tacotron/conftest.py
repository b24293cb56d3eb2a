"""Fixtures of the tacotron package's tests."""

import uuid

import pytest


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path) -> str:
    """An empty folder on local disk or in the test bucket."""
    if request.param == "local":
        return str(tmp_path / "root")
    request.getfixturevalue("object_store")
    return f"s3://tacotron/{uuid.uuid4().hex}"
