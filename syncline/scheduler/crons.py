"""Cron job definitions: what `convex/crons.py` builds, and when each job runs.

An app declares its recurring jobs in `convex/crons.py`::

    from syncline import internal
    from syncline.scheduler import Crons

    crons = Crons()
    crons.interval("clear presence", internal.presence.clear, {}, seconds=30)
    crons.cron("payment reminder", "0 16 1 * *", internal.payments.remind, {"when": "soon"})
    crons.hourly("tick", internal.x.y, minute_utc=30)
    crons.daily("digest", internal.x.y, hour_utc=17, minute_utc=30)
    crons.weekly("report", internal.x.y, day_of_week="tuesday", hour_utc=17, minute_utc=30)
    crons.monthly("bill", internal.x.y, day=1, hour_utc=16, minute_utc=0)

This is Convex's `cronJobs()` (`src/server/cron.ts` in the `convex` npm
package, documented on the "Cron Jobs" docs page) with Python argument order:
`(name, function, args, **schedule)`, and `(name, cron_string, function, args)`
for `cron`. The rules, and where they come from:

* Names are unique within a `Crons`, and made of printable ASCII (space to
  `~`, no control characters), as Convex's cron identifiers. Convex puts no
  limit on their length; we add that a name must not be empty.
* `args` is a dict of Convex values (default `{}`), normalized once here.
* The function is a reference (`internal.module.name`), a path string
  (`"module:name"`) or a registered function object. Convex runs mutations and
  actions from crons; a registered query object is refused here, while a
  reference's kind can only be checked against the loaded app (at push time).
* `interval`: exactly one of `seconds`, `minutes`, `hours`, an integer > 0
  (Convex refuses fractions: "Interval must be an integer greater than 0"). The
  first run is when the job is first deployed, then every interval after that.
* `cron`: a standard five-field cron string (minute hour day-of-month month
  day-of-week, Sunday = 0), in UTC. It is checked when it is defined: a string
  croniter cannot parse, one with other than five fields (no seconds or year
  field, no `@daily` macros), or one that never matches (`"0 0 30 2 *"`) is an
  error naming the job.
* `hourly` / `daily` / `weekly` / `monthly`: hour 0-23, minute 0-59, day of
  week `"sunday"` ... `"saturday"` (lowercase, as cron.ts validates), day of
  month 1-31, all UTC. They run exactly like the cron strings the Convex backend
  turns them into: `M * * * *`, `M H * * *`, `M H * * D`, `M H DAY * *`. So a
  monthly job on day 29-31 does not run in months without that day (day 31 runs
  in seven months a year, day 29 in February of leap years only); it is not
  moved to the month's last day.
* `minute_utc` may be omitted: Convex then "picks a minute for you and spreads
  runs across the hour". We pick `sha256(name) mod 60`, so the minute is spread
  across jobs yet stable: the same name gets the same minute on every push and
  in every process. The chosen minute is stored in the schedule.

Schedules are frozen dataclasses; each keeps the shape the user wrote
(`DailySchedule(hour_utc=17, minute_utc=30)` rather than a cron string) so the
job set can be shown as written (`written()`, for the dashboard). Intervals are kept
as a number of seconds (`minutes=5` is `IntervalSchedule(seconds=300)`, as the Convex
backend stores it) plus the unit they were written in, which only `written()` uses:
`minutes=5` and `seconds=300` are the same job. `next_run_ms` answers when a job runs next; `to_json` / `from_json`
store a job so that job sets of two pushes can be compared.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

import orjson
from croniter import CroniterBadDateError, croniter

from syncline.errors import InvalidValueError, SynclineError
from syncline.functions.references import (
    FunctionReference,
    InvalidFunctionPathError,
    function_path,
)
from syncline.values import from_json as value_from_json
from syncline.values import normalize
from syncline.values import to_json as value_to_json

__all__ = [
    "DAYS_OF_WEEK",
    "CronDefinitionError",
    "CronJob",
    "CronSchedule",
    "Crons",
    "DailySchedule",
    "HourlySchedule",
    "IntervalSchedule",
    "MonthlySchedule",
    "Schedule",
    "WeeklySchedule",
    "default_minute",
    "schedule_from_json",
]

DAYS_OF_WEEK: Final = (
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
)

_MINUTE_MS: Final = 60_000
_UNIT_SECONDS: Final = {"seconds": 1, "minutes": 60, "hours": 3600}


class CronDefinitionError(SynclineError, ValueError):
    """A cron job definition (or its stored JSON) breaks one of the rules above."""


# --- validation helpers ------------------------------------------------------


def _integer(value: Any) -> int | None:
    """`value` as an int if it is an integer number (30 or 30.0, not True), else None.
    JavaScript has one number type, so Convex accepts `30.0` wherever it wants an integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _check_int(value: Any, low: int, high: int, message: str) -> int:
    n = _integer(value)
    if n is None or not low <= n <= high:
        raise CronDefinitionError(f"{message}, got {value!r}")
    return n


def _hour(value: Any) -> int:
    return _check_int(value, 0, 23, "Hour of day must be an integer from 0 to 23")


def _minute(value: Any) -> int:
    return _check_int(value, 0, 59, "Minute of hour must be an integer from 0 to 59")


def _day_of_month(value: Any) -> int:
    return _check_int(value, 1, 31, "Day of month must be an integer from 1 to 31")


def _day_of_week(value: Any) -> str:
    if not isinstance(value, str) or value not in DAYS_OF_WEEK:
        raise CronDefinitionError(
            f'Day of week must be a lowercase string like "monday" (one of '
            f"{', '.join(DAYS_OF_WEEK)}), got {value!r}"
        )
    return value


def _interval_count(value: Any) -> int:
    n = _integer(value)
    if n is None or n <= 0:
        raise CronDefinitionError(f"Interval must be an integer greater than 0, got {value!r}")
    return n


def default_minute(name: str) -> int:
    """The minute an hourly/daily/weekly/monthly job named `name` runs at when the
    definition leaves `minute_utc` out: spread over the hour, stable across pushes."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % 60


# --- cron expressions --------------------------------------------------------


def _to_datetime(ms: float) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


def _next_cron_ms(expression: str, after_ms: float) -> float:
    # Cron times fall on whole minutes. Starting croniter at the minute that
    # contains `after_ms` gives the first match after that minute's start, which
    # is the first match strictly after `after_ms` (that minute's start is not
    # after it, and there is no whole minute in between).
    minute_start = math.floor(after_ms / _MINUTE_MS) * _MINUTE_MS
    nxt = croniter(expression, _to_datetime(minute_start)).get_next(datetime)
    return nxt.timestamp() * 1000.0


def _check_cron_expression(expression: Any) -> str:
    if not isinstance(expression, str):
        raise CronDefinitionError(f"A cron expression must be a string, got {expression!r}")
    fields = expression.split()
    if len(fields) != 5:
        raise CronDefinitionError(
            f"Invalid cron expression {expression!r}: expected five fields separated by "
            '"minute hour day-of-month month day-of-week", for example "15 7 * * *"'
        )
    normalized = " ".join(fields)
    try:
        # Parsing alone accepts expressions that never match ("0 0 30 2 *"):
        # computing a run finds those too.
        croniter(normalized, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError:
        raise CronDefinitionError(
            f"Invalid cron expression {expression!r}: it never matches a date"
        ) from None
    except (ValueError, KeyError, TypeError, OverflowError) as e:
        raise CronDefinitionError(f"Invalid cron expression {expression!r}: {e}") from None
    return normalized


# --- schedules ---------------------------------------------------------------


class Schedule:
    """When a cron job runs. Subclasses are frozen dataclasses."""

    kind: ClassVar[str]

    def next_run_ms(self, after_ms: float, *, anchor_ms: float | None = None) -> float:
        """The first run strictly after `after_ms` (epoch ms, UTC).

        `anchor_ms` (when the job was first deployed) only matters for intervals."""
        raise NotImplementedError

    def first_run_ms(self, deployed_ms: float) -> float:
        """The first run of a job deployed at `deployed_ms`."""
        return self.next_run_ms(deployed_ms, anchor_ms=deployed_ms)

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self) -> str:
        """A short human description, for logs and the CLI."""
        raise NotImplementedError

    def written(self) -> str:
        """The schedule as `convex/crons.py` writes it (`interval(minutes=5)`,
        `cron("0 16 1 * *")`, `daily(hour_utc=17, minute_utc=30)`), for the dashboard."""
        raise NotImplementedError


@dataclass(frozen=True)
class IntervalSchedule(Schedule):
    """Every `seconds` seconds (an integer > 0), starting when the job is first deployed.

    Runs fall at `anchor, anchor + interval, anchor + 2 * interval, ...` where the
    anchor is the deploy time. Without an anchor, `after_ms` is taken as the last
    run, so the next run is `after_ms + interval`.
    """

    seconds: int
    # The unit the job was written in ("seconds", "minutes", "hours"): shown, never compared.
    unit: str = field(default="seconds", compare=False)
    kind: ClassVar[str] = "interval"

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", _interval_count(self.seconds))

    def next_run_ms(self, after_ms: float, *, anchor_ms: float | None = None) -> float:
        interval = self.seconds * 1000.0
        if anchor_ms is None:
            return after_ms + interval
        if after_ms < anchor_ms:
            return anchor_ms
        runs = math.floor((after_ms - anchor_ms) / interval) + 1
        nxt = anchor_ms + runs * interval
        # Float division can land one step short when after_ms is just below a run.
        while nxt <= after_ms:
            nxt += interval
        return nxt

    def first_run_ms(self, deployed_ms: float) -> float:
        return deployed_ms

    def to_json(self) -> dict[str, Any]:
        return {"type": "interval", "seconds": self.seconds}

    def describe(self) -> str:
        return f"every {self.seconds}s"

    def written(self) -> str:
        factor = _UNIT_SECONDS.get(self.unit)
        if factor is None or self.seconds % factor:
            return f"interval(seconds={self.seconds})"
        return f"interval({self.unit}={self.seconds // factor})"


class _CronLike(Schedule):
    """Schedules that run at the matches of a cron expression (UTC)."""

    @property
    def expression(self) -> str:
        raise NotImplementedError

    def next_run_ms(self, after_ms: float, *, anchor_ms: float | None = None) -> float:
        return _next_cron_ms(self.expression, after_ms)


@dataclass(frozen=True)
class CronSchedule(_CronLike):
    """A five-field cron expression, UTC. Whitespace between fields is normalized."""

    cron: str
    kind: ClassVar[str] = "cron"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cron", _check_cron_expression(self.cron))

    @property
    def expression(self) -> str:
        return self.cron

    def to_json(self) -> dict[str, Any]:
        return {"type": "cron", "cron": self.cron}

    def describe(self) -> str:
        return f"cron {self.cron!r} (UTC)"

    def written(self) -> str:
        return f'cron("{self.cron}")'


@dataclass(frozen=True)
class HourlySchedule(_CronLike):
    """Every hour at `minute_utc` past the hour."""

    minute_utc: int
    kind: ClassVar[str] = "hourly"

    def __post_init__(self) -> None:
        object.__setattr__(self, "minute_utc", _minute(self.minute_utc))

    @property
    def expression(self) -> str:
        return f"{self.minute_utc} * * * *"

    def to_json(self) -> dict[str, Any]:
        return {"type": "hourly", "minuteUTC": self.minute_utc}

    def describe(self) -> str:
        return f"hourly at :{self.minute_utc:02d} UTC"

    def written(self) -> str:
        return f"hourly(minute_utc={self.minute_utc})"


@dataclass(frozen=True)
class DailySchedule(_CronLike):
    """Every day at `hour_utc:minute_utc`."""

    hour_utc: int
    minute_utc: int
    kind: ClassVar[str] = "daily"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hour_utc", _hour(self.hour_utc))
        object.__setattr__(self, "minute_utc", _minute(self.minute_utc))

    @property
    def expression(self) -> str:
        return f"{self.minute_utc} {self.hour_utc} * * *"

    def to_json(self) -> dict[str, Any]:
        return {"type": "daily", "hourUTC": self.hour_utc, "minuteUTC": self.minute_utc}

    def describe(self) -> str:
        return f"daily at {self.hour_utc:02d}:{self.minute_utc:02d} UTC"

    def written(self) -> str:
        return f"daily(hour_utc={self.hour_utc}, minute_utc={self.minute_utc})"


@dataclass(frozen=True)
class WeeklySchedule(_CronLike):
    """Every week on `day_of_week` ("sunday" ... "saturday") at `hour_utc:minute_utc`."""

    day_of_week: str
    hour_utc: int
    minute_utc: int
    kind: ClassVar[str] = "weekly"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day_of_week", _day_of_week(self.day_of_week))
        object.__setattr__(self, "hour_utc", _hour(self.hour_utc))
        object.__setattr__(self, "minute_utc", _minute(self.minute_utc))

    @property
    def expression(self) -> str:
        day = DAYS_OF_WEEK.index(self.day_of_week)
        return f"{self.minute_utc} {self.hour_utc} * * {day}"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "weekly",
            "dayOfWeek": self.day_of_week,
            "hourUTC": self.hour_utc,
            "minuteUTC": self.minute_utc,
        }

    def describe(self) -> str:
        return f"weekly on {self.day_of_week} at {self.hour_utc:02d}:{self.minute_utc:02d} UTC"

    def written(self) -> str:
        return (f'weekly(day_of_week="{self.day_of_week}", hour_utc={self.hour_utc}, '
                f"minute_utc={self.minute_utc})")


@dataclass(frozen=True)
class MonthlySchedule(_CronLike):
    """Every month on `day` (1-31) at `hour_utc:minute_utc`.

    Months without that day are skipped, as in cron and Convex: day 31 runs in
    seven months a year, day 29 in February only in leap years.
    """

    day: int
    hour_utc: int
    minute_utc: int
    kind: ClassVar[str] = "monthly"

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", _day_of_month(self.day))
        object.__setattr__(self, "hour_utc", _hour(self.hour_utc))
        object.__setattr__(self, "minute_utc", _minute(self.minute_utc))

    @property
    def expression(self) -> str:
        return f"{self.minute_utc} {self.hour_utc} {self.day} * *"

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "monthly",
            "day": self.day,
            "hourUTC": self.hour_utc,
            "minuteUTC": self.minute_utc,
        }

    def describe(self) -> str:
        return f"monthly on day {self.day} at {self.hour_utc:02d}:{self.minute_utc:02d} UTC"

    def written(self) -> str:
        return f"monthly(day={self.day}, hour_utc={self.hour_utc}, minute_utc={self.minute_utc})"


_SCHEDULE_FIELDS: Final[dict[str, tuple[type[Schedule], dict[str, str]]]] = {
    "interval": (IntervalSchedule, {"seconds": "seconds"}),
    "cron": (CronSchedule, {"cron": "cron"}),
    "hourly": (HourlySchedule, {"minuteUTC": "minute_utc"}),
    "daily": (DailySchedule, {"hourUTC": "hour_utc", "minuteUTC": "minute_utc"}),
    "weekly": (
        WeeklySchedule,
        {"dayOfWeek": "day_of_week", "hourUTC": "hour_utc", "minuteUTC": "minute_utc"},
    ),
    "monthly": (
        MonthlySchedule,
        {"day": "day", "hourUTC": "hour_utc", "minuteUTC": "minute_utc"},
    ),
}


def schedule_from_json(obj: Any) -> Schedule:
    """The schedule stored by `Schedule.to_json`, validated again."""
    if not isinstance(obj, dict) or obj.get("type") not in _SCHEDULE_FIELDS:
        raise CronDefinitionError(f"Malformed cron schedule JSON: {obj!r:.200}")
    cls, fields = _SCHEDULE_FIELDS[obj["type"]]
    if set(obj) != {"type", *fields}:
        raise CronDefinitionError(
            f"Malformed {obj['type']} schedule JSON: expected the fields "
            f"{sorted(fields)}, got {sorted(k for k in obj if k != 'type')}"
        )
    return cls(**{attr: obj[key] for key, attr in fields.items()})


# --- jobs --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CronJob:
    """One named job: run `function_path` with `args` on `schedule`.

    Two jobs are equal when their JSON forms are (so NaN arguments compare equal
    and `{"a": 1}` equals `{"a": 1.0}`, both being the float64 1).
    """

    name: str
    function_path: str
    args: dict[str, Any]
    schedule: Schedule

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "function": self.function_path,
            "args": value_to_json(self.args),
            "schedule": self.schedule.to_json(),
        }

    @classmethod
    def from_json(cls, obj: Any) -> CronJob:
        if not isinstance(obj, dict) or set(obj) != {"name", "function", "args", "schedule"}:
            raise CronDefinitionError(f"Malformed cron job JSON: {obj!r:.200}")
        name = _check_name(obj["name"])
        try:
            schedule = schedule_from_json(obj["schedule"])
            path = function_path(obj["function"])
            args = value_from_json(obj["args"])
        except (CronDefinitionError, InvalidFunctionPathError, InvalidValueError) as e:
            raise CronDefinitionError(f"Cron job {name!r}: {e}") from None
        if not isinstance(args, dict):
            raise CronDefinitionError(f"Cron job {name!r}: stored args are not an object")
        return cls(name, path, args, schedule)

    def next_run_ms(self, after_ms: float, *, anchor_ms: float | None = None) -> float:
        return self.schedule.next_run_ms(after_ms, anchor_ms=anchor_ms)

    def _key(self) -> bytes:
        return orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronJob):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise CronDefinitionError(f"A cron job name must be a non-empty string, got {name!r}")
    bad = next((c for c in name if not " " <= c <= "~"), None)
    if bad is not None:
        raise CronDefinitionError(
            f"Invalid cron job name {name!r}: character {bad!r} is not allowed; use ASCII "
            "characters that are not control characters"
        )
    return name


_UNSET: Final = object()


class Crons:
    """The cron jobs of an app, in definition order. `convex/crons.py` builds one.

    Registered function objects get their path from the loader only after every
    module of `convex/` was imported, that is after `crons.py` ran; such a job
    keeps the object and resolves its path when `jobs()` is called.
    """

    def __init__(self) -> None:
        # name -> (path, or the registered function object still without a path,
        #          normalized args, schedule)
        self._entries: dict[str, tuple[Any, dict[str, Any], Schedule]] = {}

    # -- definitions ----------------------------------------------------------

    def interval(
        self,
        name: str,
        function: Any,
        args: dict[str, Any] | None = None,
        *,
        seconds: int | None = None,
        minutes: int | None = None,
        hours: int | None = None,
    ) -> None:
        """Run `function(args)` every `seconds`, `minutes` or `hours` (exactly one, an
        integer > 0), the first time when the job is first deployed."""
        name = _check_name(name)
        units = (("seconds", seconds), ("minutes", minutes), ("hours", hours))
        given = [(unit, count) for unit, count in units if count is not None]
        with _naming(name):
            if len(given) != 1:
                raise CronDefinitionError("Must specify exactly one of seconds, minutes or hours")
            unit, count = given[0]
            schedule = IntervalSchedule(_interval_count(count) * _UNIT_SECONDS[unit], unit)
        self._add(name, schedule, function, args)

    def cron(
        self, name: str, cron: str, function: Any, args: dict[str, Any] | None = None
    ) -> None:
        """Run `function(args)` at the times of a five-field cron string, in UTC.

        `"15 7 * * *"` is every day at 07:15 UTC; in the day-of-week field Sunday is 0.
        """
        name = _check_name(name)
        with _naming(name):
            schedule = CronSchedule(cron)
        self._add(name, schedule, function, args)

    def hourly(
        self,
        name: str,
        function: Any,
        args: dict[str, Any] | None = None,
        *,
        minute_utc: int | None = None,
    ) -> None:
        """Run `function(args)` every hour at `minute_utc` (0-59; omitted: see `default_minute`)."""
        name = _check_name(name)
        with _naming(name):
            schedule = HourlySchedule(_minute_or_default(name, minute_utc))
        self._add(name, schedule, function, args)

    def daily(
        self,
        name: str,
        function: Any,
        args: dict[str, Any] | None = None,
        *,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run `function(args)` every day at `hour_utc:minute_utc` UTC."""
        name = _check_name(name)
        with _naming(name):
            schedule = DailySchedule(hour_utc, _minute_or_default(name, minute_utc))
        self._add(name, schedule, function, args)

    def weekly(
        self,
        name: str,
        function: Any,
        args: dict[str, Any] | None = None,
        *,
        day_of_week: str,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run `function(args)` every week on `day_of_week` ("monday", ...) at
        `hour_utc:minute_utc` UTC."""
        name = _check_name(name)
        with _naming(name):
            schedule = WeeklySchedule(day_of_week, hour_utc, _minute_or_default(name, minute_utc))
        self._add(name, schedule, function, args)

    def monthly(
        self,
        name: str,
        function: Any,
        args: dict[str, Any] | None = None,
        *,
        day: int,
        hour_utc: int,
        minute_utc: int | None = None,
    ) -> None:
        """Run `function(args)` every month on `day` (1-31) at `hour_utc:minute_utc` UTC.

        Months that have no such day are skipped: a job on the 30th does not run in
        February."""
        name = _check_name(name)
        with _naming(name):
            schedule = MonthlySchedule(day, hour_utc, _minute_or_default(name, minute_utc))
        self._add(name, schedule, function, args)

    def _add(self, name: str, schedule: Schedule, function: Any, args: Any) -> None:
        with _naming(name):
            target = _function_target(function)
            normalized = _normalize_args(args)
        if name in self._entries:
            raise _duplicate(name)
        self._entries[name] = (target, normalized, schedule)

    # -- reading ----------------------------------------------------------------

    def jobs(self) -> list[CronJob]:
        """Every job, in definition order."""
        return [self._job(name, *entry) for name, entry in self._entries.items()]

    @staticmethod
    def _job(name: str, target: Any, args: dict[str, Any], schedule: Schedule) -> CronJob:
        if isinstance(target, str):
            return CronJob(name, target, args, schedule)
        path = getattr(target, "__syncline_path__", None)
        if not isinstance(path, str):
            raise CronDefinitionError(
                f"Cron job {name!r}: {target!r} has no function path: it must be defined at "
                "the top level of a module in convex/, or pass a reference such as "
                "internal.module.name"
            )
        return CronJob(name, function_path(path), args, schedule)

    def get(self, name: str) -> CronJob | None:
        entry = self._entries.get(name)
        return None if entry is None else self._job(name, *entry)

    def names(self) -> list[str]:
        return list(self._entries)

    def __iter__(self) -> Iterator[CronJob]:
        return iter(self.jobs())

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def to_json(self) -> list[dict[str, Any]]:
        """The job set as JSON, in definition order."""
        return [job.to_json() for job in self.jobs()]

    @classmethod
    def from_json(cls, items: Any) -> Crons:
        if not isinstance(items, list):
            raise CronDefinitionError(
                f"Malformed cron jobs JSON: expected a list, got {items!r:.200}"
            )
        crons = cls()
        for item in items:
            job = CronJob.from_json(item)
            if job.name in crons._entries:
                raise _duplicate(job.name)
            crons._entries[job.name] = (job.function_path, job.args, job.schedule)
        return crons

    def __eq__(self, other: object) -> bool:
        """Same jobs by name (definition order does not matter, as in Convex, which
        keys cron jobs by name)."""
        if not isinstance(other, Crons):
            return NotImplemented
        mine = {job.name: job for job in self.jobs()}
        theirs = {job.name: job for job in other.jobs()}
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"Crons({', '.join(repr(n) for n in self._entries)})"


@contextmanager
def _naming(name: str) -> Iterator[None]:
    """Prefix a CronDefinitionError raised inside with the job's name."""
    try:
        yield
    except CronDefinitionError as e:
        raise CronDefinitionError(f"Cron job {name!r}: {e}") from None


def _duplicate(name: str) -> CronDefinitionError:
    return CronDefinitionError(
        f"Cron identifier registered twice: {name!r} (cron job names must be unique)"
    )


def _minute_or_default(name: str, minute_utc: Any) -> Any:
    return default_minute(name) if minute_utc is None else minute_utc


def _function_target(function: Any) -> Any:
    """A canonical path, or a registered function object whose path is not known yet."""
    if isinstance(function, (str, FunctionReference)):
        try:
            return function_path(function)
        except InvalidFunctionPathError as e:
            raise CronDefinitionError(str(e)) from None
    if getattr(function, "kind", None) == "query":
        raise CronDefinitionError(
            f"{function!r} is a query: cron jobs run mutations and actions"
        )
    if getattr(function, "__syncline_path__", _UNSET) is None:
        return function  # a registered function the loader has not named yet
    try:
        return function_path(function)
    except InvalidFunctionPathError as e:
        raise CronDefinitionError(str(e)) from None


def _normalize_args(args: Any) -> dict[str, Any]:
    if args is None:
        return {}
    if not isinstance(args, dict):
        raise CronDefinitionError(
            f"args must be a dict of Convex values (the function's arguments), got "
            f"{type(args).__name__} {args!r:.100}"
        )
    try:
        return normalize(args)
    except InvalidValueError as e:
        raise CronDefinitionError(f"invalid args: {e}") from None
