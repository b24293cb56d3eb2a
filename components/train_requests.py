"""Train-requests component: what the train task itself asks of its node, a trainer's or only a follower's."""

from typing import NamedTuple


def train_requests(nodes: int, accelerator_count: int, cpu: str,
                   memory: str) -> NamedTuple("Requests", [("accelerator_count", int), ("cpu", str), ("memory", str)]):
    """nodes == 1: the task trains, with accelerator_count accelerators, cpu and memory. Above 1 the TrainJob's pods
    train and the task only follows them into its log, then copies the model out: no accelerator, one CPU, and the
    memory of one process with TensorFlow loaded."""
    import collections

    # Built here: KFP runs a component from its function's source alone.
    requests = collections.namedtuple("Requests", ["accelerator_count", "cpu", "memory"])
    if nodes > 1:
        return requests(0, "1", "4G")
    return requests(accelerator_count, cpu, memory)
