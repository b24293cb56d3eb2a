"""The runner a command line names, checked before the job starts: Beam's own runners and Beam's DaskRunner."""

from __future__ import annotations

import asyncio

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.runners.runner import create_runner

# Beam ships a DaskRunner but leaves it out of the short names `--runner` resolves.
DASK_NAMES = ("dask", "daskrunner")
# What Beam's DaskRunner (apache-beam 2.77, runners/dask/) does to transforms this job cannot do without, each seen on
# a 2-worker cluster (tests/pipelines/preprocess/test_dask_runner.py): the job would crash on a worker or write
# wrong records.
DASK_UNSUPPORTED = (
    "sends every output of a multi-output ParDo to each of its outputs (TFT's analyzers rely on them: "
    "CombineGlobally.with_fanout's SplitHotCold, the packed combiners' ExtractOutputs; so do KeepFirstOfId, "
    "MeasureClips and RejectRateOutliers), drops what a DoFn emits in finish_bundle (BatchElements, also in TFT's "
    "vocabulary) and computes only the last of the job's sinks")


class RunnerError(Exception):
    """A --runner, or a runner option, the job cannot run with."""


def check_runner(options: PipelineOptions) -> None:
    """Raise RunnerError for a --runner Beam has no runner for, a Dask scheduler that does not answer, or
    DaskRunner; naming DaskRunner also makes its --dask_* options known."""
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        return
    if standard.runner.lower() not in DASK_NAMES:
        try:
            create_runner(standard.runner)
        except ValueError:
            raise RunnerError(f"--runner {standard.runner}: Beam has no runner of that name (it has "
                              f"{', '.join(StandardOptions.KNOWN_RUNNER_NAMES)})") from None
        except ImportError as e:
            raise RunnerError(f"--runner {standard.runner}: {e}") from None
        return
    from apache_beam.runners.dask.dask_runner import DaskOptions

    dask = options.view_as(DaskOptions)
    if dask.address is not None:
        check_scheduler(dask.address, dask.timeout if isinstance(dask.timeout, int) else None)
    raise RunnerError(f"--runner DaskRunner cannot run this job: Beam's DaskRunner {DASK_UNSUPPORTED}; use "
                      "DirectRunner, FlinkRunner or DataflowRunner")


def runs_here(options: PipelineOptions) -> bool:
    """Whether the runner's workers are processes of this machine (Beam's local runners), sharing its disk."""
    runner = options.view_as(StandardOptions).runner
    return runner is None or runner.lower().removesuffix("runner") in (
        name.lower().removesuffix("runner") for name in StandardOptions.LOCAL_RUNNERS)


def check_scheduler(address: str, timeout: int | None) -> None:
    """Raise RunnerError unless a Dask scheduler answers at `address` within `timeout` seconds (None: Dask's
    connect timeout, 30 s by default)."""
    import dask
    from dask.utils import parse_timedelta
    from distributed.core import rpc

    timeout = timeout or parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")

    async def identity() -> dict:
        async with rpc(address, timeout=timeout) as scheduler:
            return await asyncio.wait_for(scheduler.identity(), timeout)

    try:
        kind = asyncio.run(identity()).get("type")
    except ValueError as e:  # not an address
        raise RunnerError(f"--dask_client_address {address}: {e}") from None
    # Distributed retries a refused connection until the timeout, so refused, unreachable and silent end alike.
    except OSError:
        raise RunnerError(f"--dask_client_address {address}: no Dask scheduler answers there (nothing in "
                          f"{timeout:g} s)") from None
    # Something answered in another protocol (Dask reads its bytes as a frame length and fails in any way).
    except Exception:
        raise RunnerError(f"--dask_client_address {address}: something answers there, but not a Dask "
                          "scheduler") from None
    if kind != "Scheduler":
        raise RunnerError(f"--dask_client_address {address}: a Dask {kind} answers there, not a scheduler")
