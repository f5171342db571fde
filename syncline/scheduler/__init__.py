"""Running functions later: clocks and cron job definitions.

`Clock` is where the scheduler and the cron loop read the time and wait
(`RealClock` in production, `FakeClock` in tests, so tests drive time without
real sleeps). `Crons` is what an app's `convex/crons.py` builds: named jobs that
run a mutation or action on an interval, a cron expression (UTC), or an
hourly / daily / weekly / monthly schedule; each schedule answers when it runs
next. `Scheduler` runs the jobs of `_scheduled_functions` when they are due.

This layer imports only `syncline.errors`, `syncline.values`, `syncline.schema`,
`syncline.database` and `syncline.functions`.
"""

from syncline.scheduler.clock import Clock, ClockError, FakeClock, RealClock
from syncline.scheduler.crons import (
    DAYS_OF_WEEK,
    CronDefinitionError,
    CronJob,
    Crons,
    CronSchedule,
    DailySchedule,
    HourlySchedule,
    IntervalSchedule,
    MonthlySchedule,
    Schedule,
    WeeklySchedule,
    default_minute,
    schedule_from_json,
)
from syncline.scheduler.executor import Scheduler

__all__ = [
    "DAYS_OF_WEEK",
    "Clock",
    "ClockError",
    "CronDefinitionError",
    "CronJob",
    "CronSchedule",
    "Crons",
    "DailySchedule",
    "FakeClock",
    "HourlySchedule",
    "IntervalSchedule",
    "MonthlySchedule",
    "RealClock",
    "Scheduler",
    "Schedule",
    "WeeklySchedule",
    "default_minute",
    "schedule_from_json",
]
