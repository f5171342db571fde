"""Errors of the functions runtime and how a failed execution is reported.

Every error message a caller receives ends with `[Request ID: <id>]`. On a
dev deployment it carries the exception and the app's own traceback frames;
on a production deployment anything but a ConvexError, a client error or a
full disk is redacted to "Server Error".
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from syncline.errors import ConvexError, DiskFullError, SynclineError
from syncline.values import UNDEFINED, check_value, normalize
from syncline.values.json_codec import to_js_json


class FunctionNotFoundError(SynclineError):
    """No function with that path (or no public one, for a caller without the admin key)."""


class ArgumentValidationError(SynclineError):
    """A function's arguments do not match its `args` validators."""


class ReturnsValidationError(SynclineError):
    """A function's return value does not match its `returns` validator."""


class FunctionCallError(SynclineError):
    """A function called with `ctx.run_*` from an action failed; the message says why."""


class FeatureNotAvailableError(SynclineError):
    """A ctx feature (scheduler, storage, search) this version of syncline does not provide."""


# Errors the caller caused: shown in production too, without a traceback.
CLIENT_ERRORS: tuple[type[BaseException], ...] = (
    FunctionNotFoundError, ArgumentValidationError,
)
# The deployment's state, not the function, made the call fail, and the caller needs to
# know (nothing was written; retry later): shown in production too.
DEPLOYMENT_ERRORS: tuple[type[BaseException], ...] = (DiskFullError,)
SHOWN_ERRORS = CLIENT_ERRORS + DEPLOYMENT_ERRORS


@dataclass(frozen=True)
class FunctionFailure:
    """What a caller learns about a failed execution."""

    message: str            # ends with [Request ID: ...]
    data: Any = UNDEFINED   # the ConvexError's data, if it was one
    full_message: str = ""  # always unredacted, for logs
    # The deployment, not the function, failed (a full disk) and nothing was written:
    # the same call may succeed later (the scheduler retries such jobs).
    retryable: bool = False

    @property
    def is_application_error(self) -> bool:
        return self.data is not UNDEFINED


def describe_failure(
    error: BaseException, request_id: str, *, dev: bool, app_dir: Path | None,
) -> FunctionFailure:
    suffix = f"[Request ID: {request_id}]"
    full = f"{_headline(error)}\n{_app_frames(error, app_dir)}{suffix}"
    if isinstance(error, ConvexError):
        return FunctionFailure(f"{_headline(error)} {suffix}", _convex_data(error.data), full)
    if isinstance(error, SHOWN_ERRORS):
        return FunctionFailure(f"{error} {suffix}", UNDEFINED, full,
                               retryable=isinstance(error, DEPLOYMENT_ERRORS))
    if dev:
        return FunctionFailure(full, UNDEFINED, full)
    return FunctionFailure(f"Server Error {suffix}", UNDEFINED, full)


def _headline(error: BaseException) -> str:
    if isinstance(error, ConvexError):
        data = error.data
        text = data if isinstance(data, str) else _json_text(data)
        return f"Uncaught ConvexError: {text}"
    if isinstance(error, (FunctionCallError, *SHOWN_ERRORS)):
        return str(error)
    message = str(error)
    return f"Uncaught {type(error).__name__}" + (f": {message}" if message else "")


def _json_text(data: Any) -> str:
    """As JavaScript would print it: whole numbers without a fraction."""
    return orjson.dumps(to_js_json(_convex_data(data))).decode()


def _convex_data(data: Any) -> Any:
    """ConvexError data must be a Convex value within the value limits (it is encoded for
    the caller like a return value, and the encoders assume them); anything else is sent
    as its repr."""
    try:
        value = normalize(data)
        check_value(value)
        return value
    except Exception:
        try:
            return repr(data)
        except RecursionError:
            return f"<{type(data).__name__} nested too deeply to show>"


def _app_frames(error: BaseException, app_dir: Path | None) -> str:
    """The traceback frames from the app's own files, paths relative to the app folder."""
    if app_dir is None or error.__traceback__ is None:
        return ""
    root = str(app_dir)
    frames = []
    for frame in traceback.extract_tb(error.__traceback__):
        if frame.filename.startswith(root):
            frame.filename = frame.filename[len(root):].lstrip("/")
            frames.append(frame)
    return "".join(traceback.format_list(frames))
