"""Which library should own s3:// access: each candidate tried against a loopback S3 server (moto), timing a
checkpoint-sized upload, download and listing. Writes benchmarks/results/storage_probe.json."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from machine import append_row  # benchmarks/ is on sys.path when a script runs
from machine import describe as describe_machine

RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "storage_probe.json"
SIZE = 9_307_696  # one tiny-config checkpoint (weights + optimizer state), bytes
REPEATS = 5


def start_server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="probe", AWS_SECRET_ACCESS_KEY="probe",
                      AWS_DEFAULT_REGION="us-east-1")
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/probe", method="PUT"))
    return server, endpoint


def timed(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(sorted(times)[len(times) // 2], 4)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    server, _ = start_server()
    results = {}
    try:
        local = tempfile.NamedTemporaryFile(delete=False)
        local.write(os.urandom(SIZE))
        local.close()
        back = local.name + ".back"

        import tensorflow as tf

        try:
            tf.io.gfile.exists("s3://probe/x")
            results["tensorflow_gfile"] = {"works": True}
        except Exception as e:  # noqa: BLE001  (the failure is the finding)
            results["tensorflow_gfile"] = {"works": False, "error": str(e).splitlines()[0]}

        from apache_beam.io.filesystems import FileSystems
        from apache_beam.options.pipeline_options import PipelineOptions

        FileSystems.set_options(PipelineOptions([]))

        def beam_put():
            with open(local.name, "rb") as src, FileSystems.create("s3://probe/beam/blob") as dst:
                dst.write(src.read())

        def beam_get():
            with FileSystems.open("s3://probe/beam/blob") as src, open(back, "wb") as dst:
                dst.write(src.read())

        results["beam_s3"] = {"works": True, "upload_s": timed(beam_put), "download_s": timed(beam_get),
                              "list_s": timed(lambda: FileSystems.match(["s3://probe/beam/*"]))}

        from tacotron import storage

        results["fsspec_s3fs"] = {
            "works": True,
            "upload_s": timed(lambda: storage.copy_file(local.name, "s3://probe/fsspec/blob")),
            "download_s": timed(lambda: storage.get_file("s3://probe/fsspec/blob", back)),
            "list_s": timed(lambda: storage.listdir("s3://probe/fsspec")),
        }
    finally:
        server.terminate()
    results.update(bytes=SIZE, repeats=REPEATS, date=datetime.date.today().isoformat(), machine=describe_machine())
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    beam, ours = results["beam_s3"], results["fsspec_s3fs"]
    append_row(
        results["date"], "storage_probe", results["machine"],
        f"loopback S3 (moto), one {SIZE / 1e6:.1f} MB checkpoint, median of {REPEATS}: TensorFlow gfile "
        f"{results['tensorflow_gfile'].get('error', 'works')}; Beam S3 upload {beam['upload_s']:.3f} s, download "
        f"{beam['download_s']:.3f} s, list {beam['list_s']:.3f} s; fsspec/s3fs (tacotron.storage) upload "
        f"{ours['upload_s']:.3f} s, download {ours['download_s']:.3f} s, list {ours['list_s']:.3f} s",
        "python benchmarks/storage_probe.py")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
