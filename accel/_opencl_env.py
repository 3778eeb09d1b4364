"""Find an OpenCL device and open a context and queue on it, or say in one line why not.

Shared by the accelerated kernels. A GPU is preferred, then any other accelerator, then a
CPU device (PoCL's, from the ``pocl`` install extra, is one). ``device_hint`` picks a device
whose platform or device name contains it (case-insensitive). pyopencl is imported here,
lazily, so importing a kernel's CPU twin never loads an OpenCL driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["OpenCLEnvironment", "OpenCLUnavailable", "open_opencl", "preferred_local_size"]

GPU_LOCAL_SIZE = 64


class OpenCLUnavailable(RuntimeError):
    """No usable OpenCL device; the message is the reason, fit for one log line."""


@dataclass(frozen=True)
class OpenCLEnvironment:
    """A context and an in-order queue on one device."""

    context: Any  # pyopencl.Context
    queue: Any  # pyopencl.CommandQueue
    device: Any  # pyopencl.Device
    description: str  # "<platform>: <device> (<type>, <OpenCL version>)"
    is_gpu: bool


def open_opencl(device_hint: str | None = None) -> OpenCLEnvironment:
    """Open the best device (or the one matching ``device_hint``); OpenCLUnavailable if none."""
    try:
        import pyopencl as cl
    except ImportError as exc:
        raise OpenCLUnavailable(f"pyopencl cannot be imported ({exc})") from exc
    candidates = _devices(cl)
    if device_hint:
        hint = device_hint.lower()
        candidates = [(p, d) for p, d in candidates
                      if hint in p.name.lower() or hint in d.name.lower()]
        if not candidates:
            raise OpenCLUnavailable(f"no OpenCL device matches {device_hint!r}")
    if not candidates:
        raise OpenCLUnavailable("no OpenCL device found (install the `pocl` extra for a CPU "
                                "device, or a GPU driver with an OpenCL ICD)")
    platform, device = min(candidates, key=lambda pd: _rank(cl, pd[1]))
    try:
        context = cl.Context([device])
        queue = cl.CommandQueue(context, device)
    except cl.Error as exc:
        raise OpenCLUnavailable(f"cannot open {device.name.strip()}: {exc}") from exc
    version = " ".join(device.version.split()[:2])  # "OpenCL 3.0"
    description = f"{platform.name.strip()}: {device.name.strip()} ({_kind(cl, device)}, {version})"
    return OpenCLEnvironment(context, queue, device, description,
                             bool(device.type & cl.device_type.GPU))


def preferred_local_size(kernel: Any, environment: OpenCLEnvironment) -> int:
    """A work-group size for a kernel whose work-items run independently.

    On a CPU device (PoCL) the work-group runs on one core, so a small group (the kernel's
    preferred multiple) spreads the work over all cores; left to the driver, PoCL may put
    the whole range in one group. On a GPU, a few warps per group.
    """
    import pyopencl as cl

    device = environment.device
    limit = int(kernel.get_work_group_info(cl.kernel_work_group_info.WORK_GROUP_SIZE, device))
    if environment.is_gpu:
        return max(1, min(GPU_LOCAL_SIZE, limit))
    multiple = int(kernel.get_work_group_info(
        cl.kernel_work_group_info.PREFERRED_WORK_GROUP_SIZE_MULTIPLE, device))
    return max(1, min(multiple, limit))


def _devices(cl: Any) -> list[tuple[Any, Any]]:
    try:
        platforms = cl.get_platforms()
    except cl.Error:
        return []  # CL_PLATFORM_NOT_FOUND_KHR: no ICD installed
    found = []
    for platform in platforms:
        try:
            found += [(platform, device) for device in platform.get_devices()]
        except cl.Error:
            continue  # a platform with no devices raises CL_DEVICE_NOT_FOUND
    return found


def _kind(cl: Any, device: Any) -> str:
    for flag, name in ((cl.device_type.GPU, "GPU"), (cl.device_type.ACCELERATOR, "accelerator"),
                       (cl.device_type.CPU, "CPU")):
        if device.type & flag:
            return name
    return "other"


def _rank(cl: Any, device: Any) -> int:
    if device.type & cl.device_type.GPU:
        return 0
    if device.type & cl.device_type.ACCELERATOR:
        return 1
    return 2
