"""The functions runtime: loading `convex/`, registering functions, running them.

Layers above (sync, scheduler, server, testing) use `FunctionRunner` to execute
functions and `load_app` to load an app's code; app developers only see the
decorators and `api`/`internal`, re-exported from `syncline`.
"""

from syncline.functions.context import ActionCtx, MutationCtx, QueryCtx
from syncline.functions.errors import FunctionCallError, FunctionFailure
from syncline.functions.http_router import HttpRouter, Request, Response, cors, http_action
from syncline.functions.identity import ANONYMOUS, Credentials, UserIdentity
from syncline.functions.loader import LoadedApp, PushError, load_app
from syncline.functions.references import FunctionReference, api, function_path, internal
from syncline.functions.registration import (
    RegisteredFunction,
    action,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from syncline.functions.runner import ExecutionRecord, FunctionRunner, Outcome, new_request_id

__all__ = [
    "ActionCtx",
    "ExecutionRecord",
    "FunctionCallError",
    "FunctionFailure",
    "FunctionReference",
    "FunctionRunner",
    "HttpRouter",
    "LoadedApp",
    "MutationCtx",
    "Outcome",
    "PushError",
    "QueryCtx",
    "RegisteredFunction",
    "Request",
    "Response",
    "ANONYMOUS",
    "Credentials",
    "UserIdentity",
    "action",
    "api",
    "cors",
    "function_path",
    "http_action",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "load_app",
    "mutation",
    "new_request_id",
    "query",
]
