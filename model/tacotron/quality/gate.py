"""Promotion gate: is an evaluation's metrics.json good enough on its own, and no worse than the promoted model's?"""

from __future__ import annotations

import dataclasses
import json

from tacotron import storage

# Metrics the gate reads from metrics.json, by section, and whether lower is better.
GATED = {
    ("free_running", "sentence_identification"): False,
    ("free_running", "mcd_dtw_db"): True,
    ("free_running", "failure_rate"): True,
    ("free_running", "alignment_score"): False,
    ("teacher_forced", "loss"): True,
}


# An evaluation's metrics, the figures the gate judges (tacotron-evaluate writes it, a served model keeps its own).
METRICS_FILE = "metrics.json"
# The gate's verdict, written by the pipeline's gate task and read by whoever orchestrates it (not its log lines).
VERDICT_FILE = "gate.json"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Absolute limits (None = not checked) and the relative regression allowed against a baseline: the one place
    where the gate's defaults live. tacotron-gate's flags, the gate component's inputs and the pipeline's parameters
    are all `flat()` values, read back with `from_flat`.

    The defaults refuse a model that does not say its sentences: alignment scores cannot see that (a mumbling
    model scored diagonality 0.9997), sentence identification and the decoded length can.
    """

    max_failure_rate: float | None = 0.25  # share of decodes that never stopped
    max_mcd: float | None = None  # dB, mean MCD-DTW
    min_alignment_score: float | None = None
    max_regression: float = 0.05  # e.g. 0.05: a gated metric may be up to 5% worse than the baseline's
    min_sentence_identification: float | None = 0.9
    # Mean decoded length over recorded: stopping at half the sentence is as wrong as rambling on.
    min_length_ratio: float | None = 0.8
    max_length_ratio: float | None = 1.25

    def flat(self) -> dict[str, float]:
        """Every setting as a number, for flags and pipeline parameters (which have no None): 0 = not checked."""
        return {f.name: 0.0 if getattr(self, f.name) is None else float(getattr(self, f.name))
                for f in dataclasses.fields(self)}

    @classmethod
    def from_flat(cls, **values: float) -> Thresholds:
        """The settings given as `flat()` numbers (a limit of 0 is not checked), defaults for the rest; ValueError
        for a name that is not a setting or a negative number."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown gate setting(s): {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0 (0 = not checked), got {value}")
        # max_regression is a plain number; every other setting is a limit, which 0 switches off.
        return dataclasses.replace(cls(), **{name: value if name == "max_regression" else value or None
                                             for name, value in values.items()})


class Unavailable(ValueError):
    """The metric is in metrics.json as null: the evaluation could not compute it (see its reason there)."""


def _value(metrics: dict, section: str, name: str) -> float:
    try:
        value = metrics[section][name]
    except (KeyError, TypeError):
        raise ValueError(f"metrics lack {section}.{name} (not a tacotron-evaluate metrics.json?)") from None
    if value is None:
        reason = metrics.get(name, {}).get("reason", "not computed")
        raise Unavailable(f"{section}.{name} is not available ({reason})")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{section}.{name} is not a number: {value!r}") from None


def check(metrics: dict, thresholds: Thresholds, baseline: dict | None = None) -> list[str]:
    """Every reason the model should not be promoted; an empty list means it passes."""
    reasons = []
    limits = (
        ("free_running", "failure_rate", thresholds.max_failure_rate, True),
        ("free_running", "mcd_dtw_db", thresholds.max_mcd, True),
        ("free_running", "alignment_score", thresholds.min_alignment_score, False),
        ("free_running", "sentence_identification", thresholds.min_sentence_identification, False),
        ("free_running", "length_ratio", thresholds.min_length_ratio, False),
        ("free_running", "length_ratio", thresholds.max_length_ratio, True),
    )
    for section, name, limit, lower_better in limits:
        if limit is None:
            continue
        try:
            value = _value(metrics, section, name)
        except Unavailable as e:
            reasons.append(str(e))
            continue
        if (value > limit) if lower_better else (value < limit):
            relation = "above the maximum" if lower_better else "below the minimum"
            reasons.append(f"{section}.{name} = {value:.4g} is {relation} {limit:.4g}")
    if baseline is not None:
        for (section, name), lower_better in GATED.items():
            try:
                new, old = _value(metrics, section, name), _value(baseline, section, name)
            except Unavailable:
                continue  # already a reason above when it matters; a baseline without it cannot be compared
            allowed = abs(old) * thresholds.max_regression
            worse = (new > old + allowed) if lower_better else (new < old - allowed)
            if worse:
                reasons.append(
                    f"{section}.{name} = {new:.4g} is worse than the baseline's {old:.4g} "
                    f"by more than {thresholds.max_regression:.0%}"
                )
    return reasons


def verdict(metrics: dict, thresholds: Thresholds = Thresholds()) -> tuple[bool, str]:
    """Does the model speak? (yes/no, one plain sentence for a person), judged by the default thresholds."""
    free = metrics["free_running"]
    identification = metrics.get("sentence_identification", {})
    problems = []
    if not identification.get("available"):
        return False, f"cannot tell whether it speaks: {identification.get('reason', 'no sentence identification')}"
    heard = f"{identification['correct']}/{identification['utterances']} sentences recognizable"
    chance = f"chance {identification['chance']:.0%}"
    if free["sentence_identification"] < thresholds.min_sentence_identification:
        problems.append(f"only {heard} ({chance})")
    if free["failure_rate"] > 0:
        failed = round(free["failure_rate"] * identification["utterances"])
        problems.append(f"{failed} decode(s) never stopped")
    if not thresholds.min_length_ratio <= free["length_ratio"] <= thresholds.max_length_ratio:
        problems.append(f"decodes are {free['length_ratio']:.2f}x the recorded length")
    if problems:
        return False, "does not speak yet: " + "; ".join(problems)
    return True, f"speaks: {heard} ({chance})"


def read_metrics(path: str) -> dict:
    try:
        return json.loads(storage.read_text(path))
    except storage.StorageError as e:
        raise ValueError(f"cannot read {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not JSON: {e}") from None


def write_verdict(path: str, reasons: list[str], baseline: str | None) -> None:
    """The gate's verdict as JSON ({"passed", "reasons", "baseline"}) at `path`, a file or a URL."""
    storage.write_text(path, json.dumps({"passed": not reasons, "reasons": reasons, "baseline": baseline}))


def read_verdict(path: str) -> dict:
    """A verdict that write_verdict wrote."""
    return json.loads(storage.read_text(path))
