"""Ed25519 signature batches: an OpenCL kernel and the CPU, with libsodium's verdicts exactly.

The entry point is `select_verifier(preference)`, which returns the node's batch
verifier and a one-line reason to log. See docs/sigverify.md for the kernel's design, the
acceptance rule, calibration and fallback.
"""

from ._errors import BackendUnavailable, OpenClFailure
from ._routing import BatchVerifier, SignatureBatchVerifier, SigverifyStatistics, Verdicts
from ._rule import Verdict, libsodium_verdict
from ._select import BACKENDS, opencl_devices, select_verifier

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "BatchVerifier",
    "OpenClFailure",
    "SignatureBatchVerifier",
    "SigverifyStatistics",
    "Verdict",
    "Verdicts",
    "libsodium_verdict",
    "opencl_devices",
    "select_verifier",
]
