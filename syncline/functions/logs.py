"""Per-execution log capture: `print` and `logging` inside a function become its log lines.

Convex returns a function's `console.*` output to the caller as log lines and keeps it for
`syncline logs`. Here functions are Python, so `print(...)` and `logging` calls made while a
function executes are captured instead. Executions run concurrently on worker threads (and in
asyncio tasks, which copy the context), so the capture is keyed on a `contextvars.ContextVar`:
each execution sees only its own lines, and output of the server itself -- any code outside an
execution -- goes to the real streams and handlers exactly as without syncline.

How:

- `sys.stdout` / `sys.stderr` are replaced by proxies that route a write to the current
  execution's collector (stdout -> LOG, stderr -> ERROR, one line per completed "\\n"; a
  trailing partial line is flushed when the capture ends) and otherwise delegate every
  attribute to the stream they wrap. Tools such as pytest swap `sys.stdout` at will, so every
  `capture_logs` re-checks that the current streams are proxies and wraps them if not.
  Writes that bypass the text layer (`sys.stdout.buffer`, file descriptors) are not captured;
  nor is output of plain `threading.Thread`s, which start with an empty context.
- `logging` is hooked at `Logger.isEnabledFor` and `Logger.callHandlers` rather than with a
  handler on the root logger: a root handler would disable `logging.lastResort` and
  `basicConfig()` for the whole process, and could not keep a captured record away from the
  other handlers. Inside an execution, a record is captured *instead of* reaching any handler,
  so nothing is printed twice; outside, both hooks defer to the standard implementation.

Decision on levels: inside an execution, the root logger's level (WARNING unless the server
configures it) is not consulted, because it is the process's output policy, not the function's.
A record is captured from LIBRARY_LOG_LEVEL (WARNING) up when its logger belongs to a library,
and from DEBUG up otherwise, unless a level set explicitly on its logger or a non-root ancestor
decides instead, or `logging.disable` filters it out. A library's logger is one named after an
imported module outside the app (`httpx`, `httpcore`, `openai`, `urllib3`, ...): their DEBUG and
INFO chatter ("HTTP Request: POST ...", connection traces) would otherwise flood every function's
log lines. The app's own loggers -- the root logger (`logging.info`), `getLogger(__name__)` in
`convex/`, any name that is not an imported module -- keep DEBUG, so they work like
`console.debug`. An app that wants a library's INFO lines lowers its level explicitly
(`logging.getLogger("httpx").setLevel(logging.INFO)`), and quiets its own with `setLevel` too.
Records of the `syncline` loggers (the server, even when it runs inside an execution) and of
`asyncio` (the loop that runs the function; it logs "Using selector" on every new loop) are
never captured: they are handled as if no execution were running.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIBRARY_LOG_LEVEL",
    "MAX_LOG_LINES",
    "MAX_LOG_LINE_BYTES",
    "LogCollector",
    "LogLine",
    "capture_logs",
    "install",
]

MAX_LOG_LINE_BYTES = 4096  # Convex: "Length of a console.log line: 4 KiB"
MAX_LOG_LINES = 256  # per execution

LEVELS = frozenset({"LOG", "DEBUG", "INFO", "WARN", "ERROR"})

_TRUNCATED_MARKER = " (truncated)"
_OVERFLOW_MESSAGE = f"Log overflow (maximum {MAX_LOG_LINES}). Remaining log lines omitted."
# Bound at import, before anything (such as a deterministic clock for queries and mutations)
# can replace time.time: a log line's timestamp is always the real wall clock.
_wall_clock = time.time
# Loggers never captured: the server itself and the event loop machinery running functions.
_UNCAPTURED_LOGGERS = ("syncline", "asyncio")
# Libraries' loggers are captured from this level up, unless a level is set on them.
LIBRARY_LOG_LEVEL = logging.WARNING
# The app's modules are imported under this package prefix (functions/loader.py).
_APP_PACKAGE_PREFIX = "_syncline_app_"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One captured log line."""

    level: str  # "LOG" | "DEBUG" | "INFO" | "WARN" | "ERROR"
    message: str
    timestamp_ms: float  # wall-clock milliseconds since the epoch, when logged

    def formatted(self) -> str:
        """The wire form Convex clients parse (`^\\[.*?\\] `)."""
        return f"[{self.level}] {self.message}"


def _truncate(message: str) -> str:
    """`message` cut to at most MAX_LOG_LINE_BYTES UTF-8 bytes, marker included."""
    encoded = message.encode("utf-8", "surrogatepass")
    if len(encoded) <= MAX_LOG_LINE_BYTES:
        return message
    budget = MAX_LOG_LINE_BYTES - len(_TRUNCATED_MARKER.encode("utf-8"))
    # "ignore" drops only the incomplete character the cut may leave at the end.
    head = encoded[:budget].decode("utf-8", "ignore")
    return head + _TRUNCATED_MARKER


class LogCollector:
    """The log lines of one execution, in order. Thread-safe.

    A message longer than MAX_LOG_LINE_BYTES UTF-8 bytes is cut (never inside a character)
    and ends in " (truncated)", the whole staying within the limit. After MAX_LOG_LINES lines
    one WARN line reports the overflow and every later line is dropped.
    """

    __slots__ = ("_lock", "_overflowed", "lines")

    def __init__(self) -> None:
        self.lines: list[LogLine] = []
        self._overflowed = False
        self._lock = threading.Lock()

    def add(self, level: str, message: str) -> None:
        if level not in LEVELS:
            raise ValueError(f"unknown log level {level!r}; expected one of {sorted(LEVELS)}")
        if self._overflowed:
            return
        now_ms = _wall_clock() * 1000.0
        with self._lock:
            if self._overflowed:
                return
            if len(self.lines) >= MAX_LOG_LINES:
                self._overflowed = True
                self.lines.append(LogLine("WARN", _OVERFLOW_MESSAGE, now_ms))
                return
            self.lines.append(LogLine(level, _truncate(message), now_ms))

    def formatted(self) -> list[str]:
        with self._lock:
            return [line.formatted() for line in self.lines]

    def __repr__(self) -> str:
        return f"LogCollector({len(self.lines)} lines)"


class _Capture:
    """The state of one `capture_logs` block: its collector and unfinished stream lines."""

    __slots__ = ("collector", "lock", "open", "partial")

    def __init__(self, collector: LogCollector) -> None:
        self.collector = collector
        self.open = True
        self.lock = threading.Lock()
        self.partial: dict[str, str] = {}  # level -> text written after the last "\n"

    def write(self, level: str, text: str) -> None:
        with self.lock:
            pending = self.partial.get(level, "") + text
            *complete, rest = pending.split("\n")
            # An unfinished line longer than the limit will be truncated anyway: keep enough
            # characters (each at least one byte) to still exceed it, and no more.
            self.partial[level] = rest[: MAX_LOG_LINE_BYTES + 1]
            for line in complete:
                self.collector.add(level, line)

    def close(self) -> None:
        with self.lock:
            self.open = False
            for level in ("LOG", "ERROR"):
                rest = self.partial.pop(level, "")
                if rest:
                    self.collector.add(level, rest)


_current: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar(
    "syncline_log_capture", default=None
)


def _active() -> _Capture | None:
    # A task or to_thread call that outlives its block still holds the capture in its
    # context; once the block has exited its output goes where the server's would.
    capture = _current.get()
    if capture is None or not capture.open:
        return None
    return capture


class _StreamProxy:
    """Stands in for sys.stdout / sys.stderr: captured inside an execution, else delegated."""

    __slots__ = ("_level", "_wrapped")

    def __init__(self, wrapped: Any, level: str) -> None:
        self._wrapped = wrapped
        self._level = level

    def write(self, text: str) -> int:
        capture = _active()
        if capture is None:
            return self._wrapped.write(text)
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        capture.write(self._level, text)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        if _active() is None:
            self._wrapped.writelines(lines)
            return
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        # Inside an execution a partial line stays pending: a line is one log line.
        if _active() is None:
            self._wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def __repr__(self) -> str:
        return f"<syncline log proxy for {self._wrapped!r}>"


# ---------------------------------------------------------------------------------------------
# logging hooks

_original_is_enabled_for = logging.Logger.isEnabledFor
_original_call_handlers = logging.Logger.callHandlers
_format = logging.Formatter("%(message)s")


def _uncaptured(logger: logging.Logger) -> bool:
    name = logger.name
    return any(name == prefix or name.startswith(prefix + ".") for prefix in _UNCAPTURED_LOGGERS)


def _is_enabled_for(self: logging.Logger, level: int) -> bool:
    if _active() is None or _uncaptured(self):
        return _original_is_enabled_for(self, level)
    if self.disabled or self.manager.disable >= level:
        return False
    logger: logging.Logger | None = self
    while logger is not None and logger.parent is not None:  # the root's level is skipped
        if logger.level:
            return level >= logger.level
        logger = logger.parent
    return level >= (LIBRARY_LOG_LEVEL if _is_library(self.name) else logging.DEBUG)


def _is_library(name: str) -> bool:
    """Whether a logger (with no level set) belongs to a library: it is named after an
    imported module that is not one of the app's (those are `_syncline_app_<n>.*`)."""
    top = name.partition(".")[0]
    return top in sys.modules and not top.startswith(_APP_PACKAGE_PREFIX)


def _call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
    capture = _active()
    if capture is None:
        _original_call_handlers(self, record)
    elif _uncaptured(self):
        # Handled as outside an execution: a StreamHandler writing to our proxy must reach
        # the real stream, not this execution's log lines.
        token = _current.set(None)
        try:
            _original_call_handlers(self, record)
        finally:
            _current.reset(token)
    else:
        capture.collector.add(_level_of(record.levelno), _message_of(record))


def _level_of(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "ERROR"
    if levelno >= logging.WARNING:
        return "WARN"
    if levelno >= logging.INFO:
        return "INFO"
    return "DEBUG"


def _message_of(record: logging.LogRecord) -> str:
    """`record.getMessage()` plus the traceback and stack, as a plain Formatter renders them."""
    try:
        return _format.format(record)
    except Exception as exc:  # a bad format string must not crash the function
        return f"{record.msg!r} % {record.args!r} (logging error: {exc!r})"


# ---------------------------------------------------------------------------------------------
# install / capture

_install_lock = threading.Lock()
_hooks_installed = False


def _streams_installed() -> bool:
    return (sys.stdout is None or type(sys.stdout) is _StreamProxy) and (
        sys.stderr is None or type(sys.stderr) is _StreamProxy
    )


def install() -> None:
    """Hook logging and wrap the current sys.stdout / sys.stderr. Idempotent, thread-safe.

    Safe to call again whenever something may have replaced the streams; a stream that is
    None (no console) is left alone.
    """
    global _hooks_installed
    if _hooks_installed and _streams_installed():
        return
    with _install_lock:
        if not _hooks_installed:
            logging.Logger.isEnabledFor = _is_enabled_for  # type: ignore[method-assign]
            logging.Logger.callHandlers = _call_handlers  # type: ignore[method-assign]
            _hooks_installed = True
        if sys.stdout is not None and type(sys.stdout) is not _StreamProxy:
            sys.stdout = _StreamProxy(sys.stdout, "LOG")
        if sys.stderr is not None and type(sys.stderr) is not _StreamProxy:
            sys.stderr = _StreamProxy(sys.stderr, "ERROR")


@contextlib.contextmanager
def capture_logs(collector: LogCollector) -> Iterator[LogCollector]:
    """Capture `print` and `logging` output of this context into `collector`.

    Code in the block, and asyncio tasks or `asyncio.to_thread` calls started from it (they
    copy the context), log into `collector`; other threads and code after the block do not.
    Blocks nest: the innermost one collects.
    """
    install()
    capture = _Capture(collector)
    token = _current.set(capture)
    try:
        yield collector
    finally:
        _current.reset(token)
        capture.close()
