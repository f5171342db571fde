"""The deployment's own `_system/...` functions (admin-only), and how to define them.

Layer: above functions/scheduler/auth, below server and cli. See SYSTEM_API.md.
"""

from syncline.system.context import SystemActionCtx, SystemMutationCtx, SystemQueryCtx
from syncline.system.install import install_system_functions
from syncline.system.registry import (
    SYSTEM_FUNCTIONS,
    SystemFunction,
    system_action,
    system_mutation,
    system_query,
)
from syncline.system.services import ServiceNotAvailableError, SystemServices

__all__ = [
    "SYSTEM_FUNCTIONS",
    "ServiceNotAvailableError",
    "SystemActionCtx",
    "SystemFunction",
    "SystemMutationCtx",
    "SystemQueryCtx",
    "SystemServices",
    "install_system_functions",
    "system_action",
    "system_mutation",
    "system_query",
]
