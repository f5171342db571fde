"""Make queries and mutations deterministic: frozen time, seeded randomness, no outside IO.

Convex re-runs queries to keep subscriptions fresh and retries mutations on write
conflicts, so a query or mutation must compute the same thing from the same database
state. Inside one execution:

- the wall clock is frozen at the execution's start (`time.time`, `time.time_ns`,
  `time.localtime()` and friends, `datetime.datetime.now/utcnow/today`,
  `datetime.date.today`); `time.monotonic`, `perf_counter`, `thread_time` and
  `process_time` keep running, since asyncio and the runtime's limits need them;
- randomness comes from a `random.Random` seeded per execution (the module-level
  `random` functions, `os.urandom` and so `uuid.uuid4` and `secrets`, and an unseeded
  `random.Random()`);
- network, subprocess and file-write operations raise `DeterminismError`, which says to
  do them in an action instead. Reading files stays allowed.

These are the standard library calls themselves, not a ctx helper, so ordinary code
and third-party libraries behave the same. Everything is keyed on one
`contextvars.ContextVar`: executions run concurrently on worker threads, and actions
and the server in the same process must keep the real clock, real randomness and
unrestricted IO. A context variable is per thread and is copied into asyncio tasks,
so the restrictions follow an execution into the tasks it spawns and into
`asyncio.to_thread`, and nowhere else. Outside an execution every patched call costs
one `ContextVar.get` more than the original.

What it cannot reach: modules that bound `time.time`, `os.urandom`, a `random`
function or `datetime.datetime` to a name before `install()` keep the originals; raw
threads started from an execution (and `loop.run_in_executor`) do not copy the
context; `os.write` on an already open descriptor, `os.mkfifo`/`os.mknod`, sqlite3 and
C extensions raise no audit event we can refuse.
"""

from __future__ import annotations

import contextlib
import copyreg
import datetime as _datetime_module
import functools
import inspect
import math
import os
import random
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC
from datetime import date as _real_date
from datetime import datetime as _real_datetime
from types import FrameType
from typing import Any

from syncline.errors import SynclineError

__all__ = [
    "DeterminismError",
    "deterministic",
    "in_deterministic_execution",
    "install",
    "real_time",
    "real_time_ns",
]


class DeterminismError(SynclineError):
    """A query or mutation tried something that would make it non-deterministic (network,
    processes, writing files); the message says what, and to use an action instead."""


_KINDS = ("query", "mutation")


class _Execution:
    """The frozen clock and seeded generator of one query or mutation execution."""

    __slots__ = ("_rng", "kind", "now_ns", "now_s", "seed")

    def __init__(self, now_ms: float, seed: int, kind: str) -> None:
        # Microsecond precision is exact in a float for any realistic epoch value.
        self.now_ns = round(now_ms * 1000) * 1000
        self.now_s = now_ms / 1000
        self.seed = seed
        self._rng: random.Random | None = None
        self.kind = kind

    @property
    def rng(self) -> random.Random:
        """Seeded on first use: most executions draw no random numbers, and seeding a
        Mersenne Twister costs more than the rest of setting up an execution."""
        if self._rng is None:
            self._rng = random.Random(self.seed)
        return self._rng


_current: ContextVar[_Execution | None] = ContextVar("syncline_determinism", default=None)

# The originals, bound before anything is patched.
_real_time = time.time
_real_time_ns = time.time_ns
_real_urandom = os.urandom


def real_time() -> float:
    """The real `time.time()`, even inside an execution."""
    return _real_time()


def real_urandom(size: int) -> bytes:
    """Bytes from the OS, whatever execution is running."""
    return _real_urandom(size)


def real_time_ns() -> int:
    """The real `time.time_ns()`, even inside an execution."""
    return _real_time_ns()


def in_deterministic_execution() -> bool:
    """Whether the calling context is inside a query or mutation execution."""
    return _current.get() is not None


@contextlib.contextmanager
def deterministic(now_ms: float, seed: int, function_kind: str) -> Iterator[None]:
    """Run the block as one query or mutation execution: the clock reads `now_ms`
    (Unix milliseconds) throughout, randomness is `random.Random(seed)`, and network,
    process and file-write calls raise `DeterminismError`.

    Applies to this context and the asyncio tasks created in it; not to other threads,
    and not after the block. Blocks nest: the innermost one applies.
    """
    if function_kind not in _KINDS:
        raise ValueError(f"function_kind must be 'query' or 'mutation', not {function_kind!r}")
    if not math.isfinite(now_ms):
        raise ValueError(f"now_ms must be a finite number, not {now_ms!r}")
    install()
    token = _current.set(_Execution(now_ms, seed, function_kind))
    try:
        yield
    finally:
        _current.reset(token)


# ---------------------------------------------------------------------------------------------
# time


def _time() -> float:
    execution = _current.get()
    if execution is None:
        return _real_time()
    return execution.now_s


def _time_ns() -> int:
    execution = _current.get()
    if execution is None:
        return _real_time_ns()
    return execution.now_ns


def _frozen_when_omitted(
    original: Callable[..., Any], position: int, struct: bool,
) -> Callable[..., Any]:
    """Wrap a `time` function that reads the clock when argument `position` is omitted
    or None (`localtime()`, `strftime(fmt)`, ...); `struct` if it takes a struct_time."""

    @functools.wraps(original)
    def wrapper(*args: Any) -> Any:
        if len(args) <= position or args[position] is None:
            execution = _current.get()
            if execution is not None:
                now = execution.now_s
                frozen = _originals["localtime"](now) if struct else now
                return original(*args[:position], frozen)
        return original(*args)

    return wrapper


def _clock_gettime(clk_id: int) -> float:
    execution = _current.get()
    if execution is not None and clk_id == time.CLOCK_REALTIME:
        return execution.now_s
    return _originals["clock_gettime"](clk_id)


def _clock_gettime_ns(clk_id: int) -> int:
    execution = _current.get()
    if execution is not None and clk_id == time.CLOCK_REALTIME:
        return execution.now_ns
    return _originals["clock_gettime_ns"](clk_id)


_originals: dict[str, Any] = {
    name: getattr(time, name)
    for name in ("localtime", "gmtime", "ctime", "asctime", "strftime",
                 "clock_gettime", "clock_gettime_ns")
    if hasattr(time, name)
}


# ---------------------------------------------------------------------------------------------
# datetime
#
# `datetime.datetime` and `datetime.date` are immutable C types, so `now` cannot be
# replaced on them. The datetime module gets subclasses instead whose constructors and
# classmethods return instances of the REAL classes, which C extensions (orjson,
# msgpack, sqlite3) and code that imported the class earlier know; the metaclass makes
# the subclass answer isinstance/issubclass, == and hashing as the real class does, so
# code holding either class, and dicts keyed by either, keep working. Only
# `type(x) is datetime.datetime` spelled against the replaced name is now False.

_REAL = "_syncline_real"


def _real_of(cls: type) -> type | None:
    """The real class if `cls` is one of the two replacements, else None (a user subclass)."""
    return cls.__dict__.get(_REAL)


class _PatchedMeta(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        real = _real_of(cls)
        return isinstance(instance, real) if real is not None else type.__instancecheck__(
            cls, instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        real = _real_of(cls)
        return issubclass(subclass, real) if real is not None else type.__subclasscheck__(
            cls, subclass)

    def __eq__(cls, other: object) -> bool:
        real = _real_of(cls)
        return other is cls or (real is not None and other is real)

    def __hash__(cls) -> int:
        real = _real_of(cls)
        return hash(real) if real is not None else type.__hash__(cls)


def _call_real(cls: type, real: type, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call classmethod `name` of the real class, bound to the real class when `cls` is
    the replacement (so it returns a real instance) and to `cls` for a user subclass."""
    target = real if _real_of(cls) is not None else cls
    try:
        descriptor = _descriptors[real, name]
    except KeyError:
        descriptor = _descriptors[real, name] = inspect.getattr_static(real, name)
    return descriptor.__get__(None, target)(*args, **kwargs)


_descriptors: dict[tuple[type, str], Any] = {}


def _patched_class(real: type, frozen: dict[str, Callable[..., Any]]) -> type:
    namespace: dict[str, Any] = {
        _REAL: real,
        "__module__": real.__module__,
        "__qualname__": real.__qualname__,
        "__doc__": real.__doc__,
    }

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:  # noqa: N807
        if _real_of(cls) is not None:
            return real(*args, **kwargs)
        return real.__new__(cls, *args, **kwargs)

    namespace["__new__"] = __new__

    def delegate(name: str) -> classmethod[Any, Any, Any]:
        def method(cls: type, *args: Any, **kwargs: Any) -> Any:
            return _call_real(cls, real, name, *args, **kwargs)

        method.__name__ = method.__qualname__ = name
        method.__doc__ = getattr(real, name).__doc__
        return classmethod(method)

    for name in dir(real):
        if name.startswith("__"):
            continue
        if type(inspect.getattr_static(real, name)).__name__ == "classmethod_descriptor":
            namespace[name] = delegate(name)
    for name, implementation in frozen.items():
        implementation.__name__ = implementation.__qualname__ = name
        implementation.__doc__ = getattr(real, name).__doc__
        namespace[name] = classmethod(implementation)
    return _PatchedMeta(real.__name__, (real,), namespace)


def _datetime_now(cls: type, tz: Any = None) -> Any:
    execution = _current.get()
    if execution is None:
        return _call_real(cls, _real_datetime, "now", tz)
    return _call_real(cls, _real_datetime, "fromtimestamp", execution.now_s, tz)


def _datetime_utcnow(cls: type) -> Any:
    execution = _current.get()
    if execution is None:
        return _call_real(cls, _real_datetime, "utcnow")
    utc = _call_real(cls, _real_datetime, "fromtimestamp", execution.now_s, UTC)
    return utc.replace(tzinfo=None)


def _datetime_today(cls: type) -> Any:
    execution = _current.get()
    if execution is None:
        return _call_real(cls, _real_datetime, "today")
    return _call_real(cls, _real_datetime, "fromtimestamp", execution.now_s)


def _date_today(cls: type) -> Any:
    execution = _current.get()
    if execution is None:
        return _call_real(cls, _real_date, "today")
    return _call_real(cls, _real_date, "fromtimestamp", execution.now_s)


def _reduce_to(replacement: type) -> Callable[[Any], tuple[Any, ...]]:
    # pickle stores a class by name and checks the name finds the same object; with the
    # replacement in the module, a real instance must be saved as the replacement (which
    # unpickles to a real instance, and is the real class in a process without install()).
    def reduce(value: Any) -> tuple[Any, ...]:
        return (replacement, value.__reduce_ex__(4)[1])

    return reduce


# ---------------------------------------------------------------------------------------------
# randomness


def _random_proxy(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def proxy(*args: Any, **kwargs: Any) -> Any:
        execution = _current.get()
        if execution is None:
            return original(*args, **kwargs)
        return getattr(execution.rng, name)(*args, **kwargs)

    return proxy


def _urandom(size: int) -> bytes:
    execution = _current.get()
    if execution is None:
        return _real_urandom(size)
    if size < 0:
        raise ValueError("negative argument not allowed")
    return execution.rng.randbytes(size)


_real_random_seed = random.Random.seed


def _random_seed(self: random.Random, a: Any = None, version: int = 2) -> None:
    # `random.Random()` and `seed()` without a value draw OS entropy in C, past
    # os.urandom; inside an execution draw the seed from the execution's generator.
    if a is None:
        execution = _current.get()
        if execution is not None:
            a = execution.rng.getrandbits(128)
    _real_random_seed(self, a, version)


# ---------------------------------------------------------------------------------------------
# the audit hook

_NETWORK = frozenset({
    "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo", "socket.sethostname",
    "urllib.Request", "http.client.connect", "ftplib.connect", "smtplib.connect",
    "poplib.connect", "imaplib.open", "nntplib.connect", "telnetlib.Telnet.open",
})
_PROCESS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "os.startfile", "pty.spawn", "signal.pthread_kill",
    "webbrowser.open",
})
_FILE_WRITE = frozenset({
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.truncate", "os.chmod", "os.chown",
    "os.link", "os.symlink", "os.utime", "os.chflags", "os.setxattr", "os.removexattr",
    "tempfile.mkstemp", "tempfile.mkdtemp",
})
_WRITE_FLAGS = 0
for _flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"):
    _WRITE_FLAGS |= getattr(os, _flag, 0)
_IMPORT_SYSTEM = frozenset({"_frozen_importlib_external", "importlib._bootstrap_external"})
_FINALIZE_CALL = weakref.finalize.__call__.__code__


def _opens_for_writing(args: tuple[Any, ...]) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    return (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and bool(flags & _WRITE_FLAGS))


def _exempt(caller: FrameType | None) -> bool:
    """Writes that are not the execution's own, though they run in its context: the
    import system caching bytecode for a module imported inside an execution (it only
    swallows OSError, so refusing would fail the import), and finalizers, which run
    wherever the garbage collector or the last reference drop happens to be."""
    if caller is not None and caller.f_globals.get("__name__") in _IMPORT_SYSTEM:
        return True
    frame = caller
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or code is _FINALIZE_CALL:
            return True
        frame = frame.f_back
    return False


def _refuse(what: str, kind: str) -> DeterminismError:
    return DeterminismError(
        f"{what} is not allowed in a {kind}: queries and mutations must be deterministic. "
        "Do it in an action instead."
    )


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    execution = _current.get()
    if execution is None:
        return
    if event in _NETWORK:
        what = f"Network access ({event})"
    elif event in _PROCESS:
        what = f"Running or signalling a process ({event})"
    elif event == "open":
        if not _opens_for_writing(args):
            return
        what = f"Writing to the file system (open {args[0]!r} for writing)"
    elif event in _FILE_WRITE or event.startswith("shutil."):
        target = args[0] if args and isinstance(args[0], (str, bytes, os.PathLike)) else None
        detail = event if target is None else f"{event} {os.fspath(target)!r}"
        what = f"Writing to the file system ({detail})"
    else:
        return
    if _exempt(sys._getframe(1)):
        return
    raise _refuse(what, execution.kind)


# ---------------------------------------------------------------------------------------------
# install

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Patch the standard library for deterministic executions. Idempotent and
    thread-safe; outside an execution every patched call behaves as the original."""
    global _installed
    if _installed:
        return
    with _install_lock:
        if _installed:
            return
        time.time = functools.wraps(_real_time)(_time)
        time.time_ns = functools.wraps(_real_time_ns)(_time_ns)
        for name, position, struct in (("localtime", 0, False), ("gmtime", 0, False),
                                       ("ctime", 0, False), ("asctime", 0, True),
                                       ("strftime", 1, True)):
            setattr(time, name, _frozen_when_omitted(_originals[name], position, struct))
        if "clock_gettime" in _originals and hasattr(time, "CLOCK_REALTIME"):
            time.clock_gettime = functools.wraps(_originals["clock_gettime"])(_clock_gettime)
            time.clock_gettime_ns = functools.wraps(_originals["clock_gettime_ns"])(
                _clock_gettime_ns)

        patched_date = _patched_class(_real_date, {"today": _date_today})
        patched_datetime = _patched_class(_real_datetime, {
            "now": _datetime_now, "utcnow": _datetime_utcnow, "today": _datetime_today,
        })
        copyreg.pickle(_real_date, _reduce_to(patched_date))
        copyreg.pickle(_real_datetime, _reduce_to(patched_datetime))
        _datetime_module.date = patched_date  # type: ignore[misc]
        _datetime_module.datetime = patched_datetime  # type: ignore[misc]

        instance = random._inst  # type: ignore[attr-defined]
        for name, value in list(vars(random).items()):
            if getattr(value, "__self__", None) is instance:
                setattr(random, name, _random_proxy(name, value))
        random.Random.seed = _random_seed  # type: ignore[method-assign]
        os.urandom = functools.wraps(_real_urandom)(_urandom)
        random._urandom = os.urandom  # type: ignore[attr-defined]  # SystemRandom, secrets

        sys.addaudithook(_audit_hook)
        _installed = True
