"""Find an OpenCL device and open a context and queue on it, or say in one line why not.

Shared by the accelerated kernels. A GPU is preferred, then any other accelerator, then a
CPU device (PoCL's, from Debian's ``pocl-opencl-icd`` or the ``pocl`` install extra, is one).
``device_hint`` picks a device whose platform or device name contains it (case-insensitive).
pyopencl is imported here, lazily, so importing a kernel's CPU twin never loads an OpenCL driver.

A device whose compiler cannot build a trivial kernel is passed over for the next one: a PoCL
whose LLVM does not know the host CPU (a VM that hides its CPU model) reports "unknown target
CPU 'generic'" for every program, while another PoCL on the same machine may work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["OpenCLEnvironment", "OpenCLUnavailable", "build_problem", "open_opencl",
           "preferred_local_size"]

GPU_LOCAL_SIZE = 64
_PROBE_SOURCE = "__kernel void probe(__global long *a) { a[get_global_id(0)] += 1; }"
_probed: dict[tuple[str, str, str], str | None] = {}


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
    refusals: list[str] = []
    for platform, device in sorted(candidates, key=lambda pd: _rank(cl, pd[1])):
        try:
            context = cl.Context([device])
            queue = cl.CommandQueue(context, device)
        except cl.Error as exc:
            refusals.append(f"cannot open {device.name.strip()}: {exc}")
            continue
        problem = _probe(cl, platform, device, context)
        if problem is None:
            return _environment(cl, platform, device, context, queue)
        refusals.append(problem)
    raise OpenCLUnavailable("; ".join(refusals))


def build_problem(device: Any) -> str | None:
    """None if `device` (a pyopencl.Device) compiles a trivial kernel, else why not."""
    import pyopencl as cl

    try:
        context = cl.Context([device])
    except cl.Error as exc:
        return f"cannot open {device.name.strip()}: {exc}"
    return _probe(cl, device.platform, device, context)


def _probe(cl: Any, platform: Any, device: Any, context: Any) -> str | None:
    """None if the device builds a trivial kernel, else why not (remembered per process)."""
    key = (platform.name, platform.version, device.name)
    if key not in _probed:
        try:
            cl.Program(context, _PROBE_SOURCE).build()
            _probed[key] = None
        except cl.Error as exc:
            lines = [line for line in str(exc).splitlines() if "error:" in line]
            reason = lines[0].strip()[:200] if lines else "the build failed"
            _probed[key] = (f"{platform.name.strip()} {platform.version.strip()}: "
                            f"{device.name.strip()} cannot build kernels ({reason})")
    return _probed[key]


def _environment(cl: Any, platform: Any, device: Any, context: Any,
                 queue: Any) -> OpenCLEnvironment:
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
