"""run-local's console: task lines, the training progress bar and per-task logs, from what kfp.local and the tasks
print (in a subprocess, since the console takes over the process's stdout and stderr)."""

import pathlib
import subprocess
import sys

from tests.conftest import REPO

# What kfp.local and tacotron-train print, colors included, and a task's stray stderr.
SCRIPT = r"""
import pathlib, subprocess, sys
from pipelines.kubeflow.console import Console

console = Console(pathlib.Path(sys.argv[1]), live=sys.argv[2] == "live")
with console.capture():
    print("\x1b[32m12:00:00.000 - INFO - Executing task \x1b[96m'preprocess'\x1b[0m", flush=True)
    subprocess.run([sys.executable, "-c", "import sys; print('W0000 absl noise', file=sys.stderr)"])
    print("12:00:01.000 - INFO - Task \x1b[96m'preprocess'\x1b[0m finished with status \x1b[92mSUCCESS\x1b[0m")
    print("12:00:02.000 - INFO - Executing task 'train'", flush=True)
    for step in range(1, 21):
        print(f"    step {step}/20  loss 1.0  lr 1e-3  5.0 ex/s  eta 0m{20 - step:02d}s", flush=True)
    print("12:00:03.000 - INFO - Task 'train' finished with status FAILURE", flush=True)
print("failed:", console.failed)
"""


def run(log_dir: pathlib.Path, mode: str) -> str:
    # Bytes, not text: universal newlines would turn the terminal's carriage returns into line ends.
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(log_dir), mode], cwd=REPO, capture_output=True,
                            timeout=120)
    assert result.returncode == 0 and not result.stderr, result.stderr.decode()
    return result.stdout.decode()


def test_lines_for_a_log_file_or_a_pipe(tmp_path):
    shown = run(tmp_path, "pipe").splitlines()
    assert shown[0].startswith("  \u2713 preprocess") and " done in " in shown[0]
    # A progress line when training starts and at each tenth of it, never the task's own output.
    progress = [line for line in shown if "step " in line]
    assert len(progress) == 11 and progress[-1].endswith("step 20/20  eta 0m00s") and "[#####" in progress[-1]
    assert shown[-2].startswith("  \u2717 train") and "train.log" in shown[-2]
    assert shown[-1] == "failed: train" and "absl noise" not in "\n".join(shown)
    # Each task's output in its own file; everything, in order, in pipeline.log.
    assert "W0000 absl noise" in (tmp_path / "preprocess.log").read_text()
    assert "step 20/20" in (tmp_path / "train.log").read_text()
    combined = (tmp_path / "pipeline.log").read_text()
    assert combined.index("absl noise") < combined.index("step 1/20")


def test_a_terminal_gets_the_running_line_redrawn_in_place(tmp_path):
    shown = run(tmp_path, "live")
    assert shown.count("\r\x1b[2K") >= 20 and "> train" in shown and "\u2717 train" in shown
