"""Which devices a training runs on: the CPU, a GPU, or several devices through ``tf.distribute``.

A device choice is ``"auto"`` (TensorFlow's own placement: the first GPU when there is one), ``"cpu"``,
``"gpu"``, ``"all"`` (every GPU, or every logical CPU device when there is no GPU) or a number N (the
first N of those). Two devices or more train under ``tf.distribute.MirroredStrategy``. ``TF_CONFIG`` in the
environment asks for ``MultiWorkerMirroredStrategy`` over several machines: the path is here, but Keras 3's
fit does not work with that strategy yet, so such a run is refused with the reason (see resolve()).

Batch and learning rate under a strategy: the batch size the user chose stays the *global* batch; each
of N replicas computes the gradients of batch/N images and the replicas' gradients are summed (the
loss is averaged over the global batch). So every step applies the same update the one-device run
would apply to the same images: the learning rate is not scaled, and a two-replica run ends where the
one-device run ends (up to floating-point summation order; tests/test_distributed.py checks this).
Scaling the batch by N with a linearly scaled learning rate would go faster on real GPUs but changes
the recipe, and the presets' recipes were chosen on one device.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

DEVICE_CHOICES = ("auto", "cpu", "gpu", "all")


class DeviceError(ValueError):
    """A device choice that this machine cannot honour; the message says why."""


@dataclass(frozen=True)
class DeviceChoice:
    """What a choice resolved to: the logical device names, and a line for the user."""

    devices: tuple[str, ...]  # empty: TensorFlow's default placement
    description: str
    multi_worker: bool = False

    @property
    def replicas(self) -> int:
        return max(1, len(self.devices))


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def gpu_names() -> list[str]:
    """The names of the GPUs TensorFlow sees ("NVIDIA H100 80GB HBM3"), in device order."""
    import tensorflow as tf

    names = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except Exception:  # details are optional; a name is not
            details = {}
        names.append(details.get("device_name") or f"GPU {index}")
    return names


def describe_machine() -> str:
    """One line: "CPU, 2 cores", "GPU: NVIDIA H100 80GB HBM3" or "2 GPUs: ..."."""
    names = gpu_names()
    if not names:
        return f"CPU, {cpu_cores()} cores"
    if len(names) == 1:
        return f"GPU: {names[0]}"
    return f"{len(names)} GPUs: {', '.join(names)}"


def _logical(kind: str) -> list[str]:
    import tensorflow as tf

    return [device.name for device in tf.config.list_logical_devices(kind)]


def parse_choice(text: str | int) -> str | int:
    """A choice from the command line or the app: one of DEVICE_CHOICES or a whole number >= 1."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        text = str(text).strip().lower()
        if text in DEVICE_CHOICES:
            return text
        try:
            value = int(text)
        except ValueError:
            raise DeviceError(f"devices must be one of {', '.join(DEVICE_CHOICES)} or a number, not {text!r}") from None
    if value < 1:
        raise DeviceError(f"the number of devices must be at least 1, not {value}")
    return value


def resolve(choice: str | int = "auto") -> DeviceChoice:
    """The devices a choice means on this machine (TensorFlow imported); DeviceError when it cannot be had."""
    choice = parse_choice(choice)
    if "TF_CONFIG" in os.environ:
        workers = _worker_count()
        import keras

        if int(keras.__version__.split(".")[0]) >= 3:
            # Tried here with two workers on localhost: the workers connect, then Keras 3's fit fails in its
            # first step (it reduces the first batch with strategy.reduce, which the collective strategy rejects:
            # keras-team/keras#20585, open since TensorFlow 2.16). A clear refusal beats that traceback.
            raise DeviceError(f"TF_CONFIG asks for {workers} workers, but Keras {keras.__version__} cannot train "
                              "with MultiWorkerMirroredStrategy (keras-team/keras#20585); unset TF_CONFIG and use "
                              "--devices all on one machine")
        return DeviceChoice((), f"several machines (TF_CONFIG, {workers} workers), "
                                f"{describe_machine()} here", multi_worker=True)
    gpus, cpus = _logical("GPU"), _logical("CPU")
    if choice == "auto":
        return DeviceChoice((), describe_machine())
    if choice == "cpu":
        return DeviceChoice((cpus[0],), f"CPU, {cpu_cores()} cores")
    if choice == "gpu":
        if not gpus:
            raise DeviceError("no GPU is visible to TensorFlow here (see the README's GPU section); choose cpu")
        return DeviceChoice((gpus[0],), f"GPU: {gpu_names()[0]}")
    pool = gpus or cpus
    kind = "GPU" if gpus else "CPU device"
    count = len(pool) if choice == "all" else choice
    if count > len(pool):
        raise DeviceError(f"{count} devices asked for, but only {len(pool)} {kind}{'s' if len(pool) != 1 else ''} "
                          "here")
    chosen = tuple(pool[:count])
    if count == 1:
        return DeviceChoice(chosen, describe_machine() if gpus else f"CPU, {cpu_cores()} cores")
    return DeviceChoice(chosen, f"{count} {kind}s (MirroredStrategy)")


def _worker_count() -> int:
    try:
        return len(json.loads(os.environ["TF_CONFIG"])["cluster"]["worker"])
    except (KeyError, TypeError, ValueError):
        raise DeviceError("TF_CONFIG is set but is not the JSON TensorFlow expects "
                          '({"cluster": {"worker": [...]}, "task": {"type": "worker", "index": N}})') from None


def make_strategy(choice: DeviceChoice):
    """A ``tf.distribute`` strategy for the choice, or None for TensorFlow's default placement."""
    import tensorflow as tf

    if choice.multi_worker:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(choice.devices) > 1:
        return tf.distribute.MirroredStrategy(devices=list(choice.devices))
    if len(choice.devices) == 1:
        return tf.distribute.OneDeviceStrategy(choice.devices[0])
    return None


def split_cpu(count: int) -> None:
    """Show the CPU to TensorFlow as ``count`` logical devices (for trying several devices without GPUs).

    Must run before TensorFlow initialises its devices (before any tensor is made): a fresh process.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
