"""The embedded default: Azurite + ``genoflow server`` on this machine, and the demo main job."""

from genoflow.local.stack import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    DownResult,
    LocalStack,
    ServiceStatus,
    StackStatus,
    UpResult,
)

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_KEY",
    "DownResult",
    "LocalStack",
    "ServiceStatus",
    "StackStatus",
    "UpResult",
]
