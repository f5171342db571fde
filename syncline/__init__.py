"""syncline: the reactive backend for Python.

The names an app developer imports live here: validators and schema builders,
the special values, and the errors their code raises or catches.
"""

__version__ = "0.1.0"

from syncline.errors import ConvexError, SynclineError, ValidationError, WriteConflictError
from syncline.functions import (
    HttpRouter,
    Request,
    Response,
    action,
    api,
    cors,
    http_action,
    internal,
    internal_action,
    internal_mutation,
    internal_query,
    mutation,
    query,
)
from syncline.scheduler import Crons
from syncline.schema import (
    define_schema,
    define_table,
    pagination_opts_validator,
    pagination_result_validator,
    v,
)
from syncline.values import UNDEFINED, Int64

__all__ = [
    "Crons",
    "UNDEFINED",
    "ConvexError",
    "HttpRouter",
    "Int64",
    "Request",
    "Response",
    "SynclineError",
    "ValidationError",
    "WriteConflictError",
    "action",
    "api",
    "cors",
    "http_action",
    "internal",
    "internal_action",
    "internal_mutation",
    "internal_query",
    "mutation",
    "query",
    "define_schema",
    "define_table",
    "pagination_opts_validator",
    "pagination_result_validator",
    "v",
]
