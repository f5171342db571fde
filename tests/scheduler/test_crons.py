"""Cron job definitions: validation (cron.ts's rules), next-run times in UTC, JSON."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from syncline import api, internal, internal_mutation, internal_query
from syncline.scheduler import (
    CronDefinitionError,
    CronJob,
    Crons,
    CronSchedule,
    DailySchedule,
    HourlySchedule,
    IntervalSchedule,
    MonthlySchedule,
    WeeklySchedule,
    default_minute,
    schedule_from_json,
)
from syncline.values import Int64


def ms(*parts: int) -> float:
    """Epoch milliseconds of a UTC date-time: ms(2024, 2, 29, 16, 0)."""
    return datetime(*parts, tzinfo=UTC).timestamp() * 1000


def utc(ms_value: float) -> datetime:
    return datetime.fromtimestamp(ms_value / 1000, tz=UTC)


def runs(schedule, after: float, count: int, *, anchor: float | None = None) -> list[datetime]:
    out = []
    for _ in range(count):
        after = schedule.next_run_ms(after, anchor_ms=anchor)
        out.append(utc(after))
    return out


def only_job(crons: Crons) -> CronJob:
    (job,) = crons.jobs()
    return job


# --- definitions ---------------------------------------------------------------


def test_the_issue_example_defines_every_kind():
    crons = Crons()
    crons.interval("clear presence", internal.presence.clear, {}, seconds=30)
    crons.cron("payment reminder", "0 16 1 * *", internal.payments.remind, {"when": "soon"})
    crons.hourly("tick", internal.x.y, {}, minute_utc=30)
    crons.daily("digest", internal.x.y, {}, hour_utc=17, minute_utc=30)
    crons.weekly("report", internal.x.y, {}, day_of_week="tuesday", hour_utc=17, minute_utc=30)
    crons.monthly("bill", internal.x.y, {}, day=1, hour_utc=16, minute_utc=0)

    assert len(crons) == 6
    assert crons.names() == ["clear presence", "payment reminder", "tick", "digest", "report",
                             "bill"]
    assert [job.name for job in crons] == crons.names()
    assert "tick" in crons and "nope" not in crons
    jobs = {job.name: job for job in crons.jobs()}
    assert jobs["clear presence"] == CronJob(
        "clear presence", "presence:clear", {}, IntervalSchedule(30)
    )
    assert jobs["payment reminder"].function_path == "payments:remind"
    assert jobs["payment reminder"].args == {"when": "soon"}
    assert jobs["payment reminder"].schedule == CronSchedule("0 16 1 * *")
    assert jobs["tick"].schedule == HourlySchedule(30)
    assert jobs["digest"].schedule == DailySchedule(17, 30)
    assert jobs["report"].schedule == WeeklySchedule("tuesday", 17, 30)
    assert jobs["bill"].schedule == MonthlySchedule(1, 16, 0)
    assert crons.get("bill") == jobs["bill"] and crons.get("nope") is None


def test_functions_given_as_references_paths_or_registered_objects():
    crons = Crons()
    crons.interval("ref", api.admin.users.purge, seconds=1)
    crons.interval("path", "admin/users.py:purge", seconds=1)
    crons.interval("default export", "cleanup", seconds=1)

    @internal_mutation
    async def purge(ctx):
        return None

    # The loader names registered functions after every module was imported,
    # that is after convex/crons.py ran: the path is read when jobs are listed.
    crons.interval("object", purge, seconds=1)
    with pytest.raises(CronDefinitionError, match="'object'.*no function path"):
        crons.jobs()
    purge.path = "admin/users:purge"
    paths = {job.name: job.function_path for job in crons}
    assert paths == {
        "ref": "admin/users:purge",
        "path": "admin/users:purge",
        "default export": "cleanup:default",
        "object": "admin/users:purge",
    }


def test_args_default_to_empty_and_are_normalized():
    crons = Crons()
    crons.daily("a", internal.x.y, hour_utc=1, minute_utc=0)
    crons.daily("b", internal.x.y, {"n": 1, "t": (1, 2), "z": b"\x00", "big": Int64(5)},
                hour_utc=1, minute_utc=0)
    a, b = crons.jobs()
    assert a.args == {}
    assert b.args == {"big": Int64(5), "n": 1.0, "t": [1.0, 2.0], "z": b"\x00"}
    assert type(b.args["n"]) is float and list(b.args) == ["big", "n", "t", "z"]


def test_interval_units_become_seconds():
    crons = Crons()
    crons.interval("s", internal.x.y, seconds=45)
    crons.interval("m", internal.x.y, minutes=5)
    crons.interval("h", internal.x.y, hours=2)
    crons.interval("float", internal.x.y, seconds=30.0)  # an integral number, as in JS
    assert [job.schedule for job in crons] == [
        IntervalSchedule(45), IntervalSchedule(300), IntervalSchedule(7200), IntervalSchedule(30)
    ]
    assert type(crons.get("float").schedule.seconds) is int


def test_omitted_minute_is_picked_from_the_name_and_stable():
    crons = Crons()
    crons.hourly("tick", internal.x.y)
    crons.daily("digest", internal.x.y, hour_utc=3)
    crons.weekly("report", internal.x.y, day_of_week="friday", hour_utc=3)
    crons.monthly("bill", internal.x.y, day=2, hour_utc=3)
    for job in crons:
        assert job.schedule.minute_utc == default_minute(job.name)
        assert 0 <= job.schedule.minute_utc <= 59
    again = Crons()
    again.hourly("tick", internal.x.y)
    assert again.get("tick") == crons.get("tick")
    # Spread across the hour: different names land on different minutes.
    assert len({default_minute(f"job {i}") for i in range(20)}) > 10


# --- validation ------------------------------------------------------------------


def test_duplicate_names_are_refused():
    crons = Crons()
    crons.hourly("tick", internal.x.y, minute_utc=1)
    with pytest.raises(CronDefinitionError, match="registered twice: 'tick'"):
        crons.daily("tick", internal.x.z, hour_utc=1, minute_utc=1)
    assert len(crons) == 1 and crons.get("tick").schedule == HourlySchedule(1)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        (42, "non-empty string"),
        ("tab\there", "not allowed"),
        ("new\nline", "not allowed"),
        ("caf\u00e9", "not allowed"),
        ("del\x7f", "not allowed"),
    ],
)
def test_bad_names_are_refused(name, message):
    with pytest.raises(CronDefinitionError, match=message):
        Crons().hourly(name, internal.x.y, minute_utc=0)


def test_names_may_use_any_printable_ascii():
    crons = Crons()
    crons.hourly(" ~!@#$%^&*()_+-=[]{};':\",./<>?`|\\ ", internal.x.y, minute_utc=0)
    crons.hourly("x" * 1000, internal.x.y, minute_utc=0)  # no length limit, as in Convex
    assert len(crons) == 2


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"seconds": 30, "minutes": 1}, "exactly one of seconds, minutes or hours"),
        ({"minutes": 1, "hours": 1}, "exactly one of seconds, minutes or hours"),
        ({}, "exactly one of seconds, minutes or hours"),
        ({"seconds": 0}, "integer greater than 0"),
        ({"minutes": -5}, "integer greater than 0"),
        ({"seconds": 1.5}, "integer greater than 0"),
        ({"hours": True}, "integer greater than 0"),
        ({"seconds": "30"}, "integer greater than 0"),
        ({"seconds": float("inf")}, "integer greater than 0"),
    ],
)
def test_bad_intervals_are_refused(schedule, message):
    with pytest.raises(CronDefinitionError, match=f"Cron job 'every': .*{message}"):
        Crons().interval("every", internal.x.y, **schedule)


@pytest.mark.parametrize(
    ("define", "message"),
    [
        (lambda c: c.hourly("j", internal.x.y, minute_utc=60), "Minute of hour .* 0 to 59"),
        (lambda c: c.hourly("j", internal.x.y, minute_utc=-1), "Minute of hour"),
        (lambda c: c.hourly("j", internal.x.y, minute_utc=1.5), "Minute of hour"),
        (lambda c: c.daily("j", internal.x.y, hour_utc=24), "Hour of day .* 0 to 23"),
        (lambda c: c.daily("j", internal.x.y, hour_utc=-1, minute_utc=0), "Hour of day"),
        (lambda c: c.daily("j", internal.x.y, hour_utc=12, minute_utc=60), "Minute of hour"),
        (lambda c: c.weekly("j", internal.x.y, day_of_week="Tuesday", hour_utc=1),
         "Day of week"),
        (lambda c: c.weekly("j", internal.x.y, day_of_week="tue", hour_utc=1), "Day of week"),
        (lambda c: c.weekly("j", internal.x.y, day_of_week=2, hour_utc=1), "Day of week"),
        (lambda c: c.weekly("j", internal.x.y, day_of_week="monday", hour_utc=24),
         "Hour of day"),
        (lambda c: c.monthly("j", internal.x.y, day=0, hour_utc=1), "Day of month .* 1 to 31"),
        (lambda c: c.monthly("j", internal.x.y, day=32, hour_utc=1), "Day of month"),
        (lambda c: c.monthly("j", internal.x.y, day=1, hour_utc=1, minute_utc=60),
         "Minute of hour"),
    ],
)
def test_bad_calendar_fields_are_refused(define, message):
    crons = Crons()
    with pytest.raises(CronDefinitionError, match=f"Cron job 'j': {message}"):
        define(crons)
    assert len(crons) == 0


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "Invalid cron expression"),
        ("* 24 * * *", "Invalid cron expression"),
        ("* * *", "five fields"),
        ("* * * * * *", "five fields"),  # no seconds field
        ("@daily", "five fields"),
        ("every day", "five fields"),
        ("a b c d e", "Invalid cron expression"),
        ("0 0 30 2 *", "never matches"),
        (None, "must be a string"),
    ],
)
def test_bad_cron_expressions_are_refused_at_definition(expression, message):
    with pytest.raises(CronDefinitionError, match=f"Cron job 'reminder': .*{message}"):
        Crons().cron("reminder", expression, internal.x.y)


@pytest.mark.parametrize("args", [[1, 2], "x", 5, ({"a": 1},)])
def test_args_must_be_a_dict(args):
    with pytest.raises(CronDefinitionError, match="'job': args must be a dict"):
        Crons().interval("job", internal.x.y, args, seconds=1)


def test_args_must_be_convex_values():
    with pytest.raises(CronDefinitionError, match=r"'job': invalid args: .*\.tags"):
        Crons().cron("job", "* * * * *", internal.x.y, {"tags": {"a", "b"}})


def test_bad_functions_are_refused():
    with pytest.raises(CronDefinitionError, match="'job': Invalid function path"):
        Crons().interval("job", "a:b:c", seconds=1)
    with pytest.raises(CronDefinitionError, match="'job': Expected a function reference"):
        Crons().interval("job", 42, seconds=1)
    with pytest.raises(CronDefinitionError, match="'job': .*name a module"):
        Crons().interval("job", internal.presence, seconds=1)

    @internal_query
    async def lookup(ctx):
        return None

    with pytest.raises(CronDefinitionError, match="'job': .*is a query"):
        Crons().interval("job", lookup, seconds=1)


# --- next runs ---------------------------------------------------------------------


def test_interval_runs_from_the_deploy_time():
    deployed = ms(2024, 3, 10, 12, 0, 0) + 123.5  # fractional ms stay exact
    every_30s = IntervalSchedule(30)
    assert every_30s.first_run_ms(deployed) == deployed
    assert every_30s.next_run_ms(deployed - 1, anchor_ms=deployed) == deployed
    assert every_30s.next_run_ms(deployed, anchor_ms=deployed) == deployed + 30_000
    assert every_30s.next_run_ms(deployed + 29_999, anchor_ms=deployed) == deployed + 30_000
    assert every_30s.next_run_ms(deployed + 30_000, anchor_ms=deployed) == deployed + 60_000
    assert every_30s.next_run_ms(deployed + 45_000, anchor_ms=deployed) == deployed + 60_000
    # Long after (say the deployment was down): the next run is still on the grid.
    day_later = deployed + 86_400_000 + 1
    assert every_30s.next_run_ms(day_later, anchor_ms=deployed) == deployed + 86_430_000
    # Without an anchor, after_ms is the last run.
    assert every_30s.next_run_ms(deployed) == deployed + 30_000
    two_hours = IntervalSchedule(7200)
    assert runs(two_hours, ms(2024, 12, 31, 23, 0), 2, anchor=ms(2024, 12, 31, 22, 0)) == [
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 2, 0, tzinfo=UTC),
    ]


def test_cron_expression_runs_in_utc():
    monthly_reminder = CronSchedule("0 16 1 * *")
    assert runs(monthly_reminder, ms(2024, 1, 15), 3) == [
        datetime(2024, 2, 1, 16, 0, tzinfo=UTC),
        datetime(2024, 3, 1, 16, 0, tzinfo=UTC),
        datetime(2024, 4, 1, 16, 0, tzinfo=UTC),
    ]
    # Strictly after: exactly on a run gives the following one.
    assert monthly_reminder.next_run_ms(ms(2024, 2, 1, 16, 0)) == ms(2024, 3, 1, 16, 0)
    assert monthly_reminder.next_run_ms(ms(2024, 2, 1, 16, 0) - 0.5) == ms(2024, 2, 1, 16, 0)
    assert monthly_reminder.first_run_ms(ms(2024, 2, 1, 15, 59)) == ms(2024, 2, 1, 16, 0)


def test_every_fifteen_minutes():
    quarter = CronSchedule("*/15 * * * *")
    assert quarter.next_run_ms(ms(2024, 5, 6, 10, 7, 30) + 500) == ms(2024, 5, 6, 10, 15)
    assert quarter.next_run_ms(ms(2024, 5, 6, 10, 15)) == ms(2024, 5, 6, 10, 30)
    assert quarter.next_run_ms(ms(2024, 5, 6, 10, 14, 59) + 999) == ms(2024, 5, 6, 10, 15)
    assert runs(quarter, ms(2024, 12, 31, 23, 40), 3) == [
        datetime(2024, 12, 31, 23, 45, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 15, tzinfo=UTC),
    ]


def test_february_29th_only_in_leap_years():
    leap_day = CronSchedule("0 0 29 2 *")
    assert utc(leap_day.next_run_ms(ms(2023, 6, 1))) == datetime(2024, 2, 29, tzinfo=UTC)
    assert runs(leap_day, ms(2024, 2, 29), 2) == [
        datetime(2028, 2, 29, tzinfo=UTC),
        datetime(2032, 2, 29, tzinfo=UTC),
    ]


def test_cron_whitespace_is_normalized():
    assert CronSchedule("  0  16 1 *\t* ").cron == "0 16 1 * *"
    assert CronSchedule("  0  16 1 *\t* ") == CronSchedule("0 16 1 * *")


def test_hourly():
    half_past = HourlySchedule(30)
    assert half_past.expression == "30 * * * *"
    assert half_past.next_run_ms(ms(2024, 7, 1, 10, 29, 59)) == ms(2024, 7, 1, 10, 30)
    assert half_past.next_run_ms(ms(2024, 7, 1, 10, 30)) == ms(2024, 7, 1, 11, 30)
    assert half_past.next_run_ms(ms(2024, 7, 31, 23, 45)) == ms(2024, 8, 1, 0, 30)


def test_daily_ignores_daylight_saving_time():
    digest = DailySchedule(17, 30)
    # 2024-03-10 is the US switch to daylight time, 2024-03-31 the EU one,
    # 2024-11-03 the US switch back: in UTC every day is 24 hours long.
    for start in (ms(2024, 3, 9), ms(2024, 3, 30), ms(2024, 11, 2)):
        first, second, third = runs(digest, start, 3)
        assert (first.hour, first.minute) == (17, 30)
        assert (second - first).total_seconds() == 86_400
        assert (third - second).total_seconds() == 86_400
    assert digest.next_run_ms(ms(2024, 3, 10, 17, 30)) == ms(2024, 3, 11, 17, 30)


def test_weekly_on_tuesday():
    report = WeeklySchedule("tuesday", 17, 30)
    assert report.expression == "30 17 * * 2"
    # 2024-01-01 is a Monday.
    assert runs(report, ms(2024, 1, 1), 3) == [
        datetime(2024, 1, 2, 17, 30, tzinfo=UTC),
        datetime(2024, 1, 9, 17, 30, tzinfo=UTC),
        datetime(2024, 1, 16, 17, 30, tzinfo=UTC),
    ]
    assert all(run.strftime("%A") == "Tuesday" for run in runs(report, ms(2024, 2, 20), 10))
    assert report.next_run_ms(ms(2024, 1, 2, 17, 30)) == ms(2024, 1, 9, 17, 30)
    sunday = WeeklySchedule("sunday", 0, 0)
    assert utc(sunday.next_run_ms(ms(2024, 1, 1))) == datetime(2024, 1, 7, tzinfo=UTC)


def test_monthly_on_the_first():
    bill = MonthlySchedule(1, 16, 0)
    assert runs(bill, ms(2024, 11, 20), 3) == [
        datetime(2024, 12, 1, 16, 0, tzinfo=UTC),
        datetime(2025, 1, 1, 16, 0, tzinfo=UTC),
        datetime(2025, 2, 1, 16, 0, tzinfo=UTC),
    ]


def test_monthly_days_past_28_skip_short_months():
    # Day 31: months with 30 days and February are skipped, not moved to their last day.
    assert [run.date().isoformat() for run in runs(MonthlySchedule(31, 16, 0), ms(2024, 1, 1),
                                                   7)] == [
        "2024-01-31", "2024-03-31", "2024-05-31", "2024-07-31", "2024-08-31", "2024-10-31",
        "2024-12-31",
    ]
    # Day 30 skips February only; day 29 runs in February of leap years only.
    assert [run.month for run in runs(MonthlySchedule(30, 0, 0), ms(2024, 1, 1), 3)] == [1, 3, 4]
    assert runs(MonthlySchedule(29, 0, 0), ms(2023, 1, 30), 2) == [
        datetime(2023, 3, 29, tzinfo=UTC),
        datetime(2023, 4, 29, tzinfo=UTC),
    ]
    assert utc(MonthlySchedule(29, 0, 0).next_run_ms(ms(2024, 1, 30))) == datetime(
        2024, 2, 29, tzinfo=UTC
    )


def test_job_next_run_delegates_to_its_schedule():
    crons = Crons()
    crons.interval("every", internal.x.y, minutes=1)
    job = only_job(crons)
    assert job.next_run_ms(1_000.0, anchor_ms=0.0) == 60_000.0


# --- JSON --------------------------------------------------------------------------


def _full_crons() -> Crons:
    crons = Crons()
    crons.interval("clear presence", internal.presence.clear, {}, seconds=30)
    crons.interval("hours", internal.presence.clear, hours=3)
    crons.cron("payment reminder", "0 16 1 * *", internal.payments.remind,
               {"when": "soon", "n": Int64(-3), "raw": b"\x01\x02", "nan": math.nan,
                "nested": {"list": [1, None, True, -0.0]}})
    crons.hourly("tick", internal.x.y)
    crons.daily("digest", internal.x.y, hour_utc=17, minute_utc=30)
    crons.weekly("report", internal.x.y, day_of_week="tuesday", hour_utc=17, minute_utc=30)
    crons.monthly("bill", internal.x.y, day=31, hour_utc=16, minute_utc=0)
    return crons


def test_json_round_trip_through_text():
    crons = _full_crons()
    text = json.dumps(crons.to_json())
    again = Crons.from_json(json.loads(text))
    assert again == crons
    assert again.names() == crons.names()
    assert again.to_json() == crons.to_json()
    for job in crons:
        assert CronJob.from_json(json.loads(json.dumps(job.to_json()))) == job
    reminder = again.get("payment reminder")
    assert reminder.args["n"] == Int64(-3) and isinstance(reminder.args["n"], Int64)
    assert reminder.args["raw"] == b"\x01\x02" and math.isnan(reminder.args["nan"])


def test_json_shapes_follow_convex():
    by_name = {item["name"]: item for item in _full_crons().to_json()}
    assert by_name["clear presence"] == {
        "name": "clear presence",
        "function": "presence:clear",
        "args": {},
        "schedule": {"type": "interval", "seconds": 30},
    }
    assert by_name["hours"]["schedule"] == {"type": "interval", "seconds": 10_800}
    assert by_name["payment reminder"]["schedule"] == {"type": "cron", "cron": "0 16 1 * *"}
    assert by_name["payment reminder"]["args"]["n"] == {"$integer": "/f////////8="}
    assert by_name["tick"]["schedule"] == {"type": "hourly", "minuteUTC": default_minute("tick")}
    assert by_name["report"]["schedule"] == {
        "type": "weekly", "dayOfWeek": "tuesday", "hourUTC": 17, "minuteUTC": 30,
    }
    assert by_name["bill"]["schedule"] == {
        "type": "monthly", "day": 31, "hourUTC": 16, "minuteUTC": 0,
    }


def test_two_pushes_with_the_same_crons_compare_equal():
    first, second = _full_crons(), _full_crons()
    assert first is not second and first == second
    assert first.jobs() == second.jobs()
    assert {hash(job) for job in first} == {hash(job) for job in second}
    # Definition order does not matter: jobs are keyed by name.
    reordered = Crons.from_json(list(reversed(first.to_json())))
    assert reordered == first
    # The same schedule written two ways is the same job.
    a, b = Crons(), Crons()
    a.interval("j", internal.x.y, {"n": 1}, minutes=1)
    b.interval("j", "x:y", {"n": 1.0}, seconds=60)
    assert a == b


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.interval("extra", internal.x.y, seconds=5),
        lambda c: c.daily("digest2", internal.x.y, hour_utc=17, minute_utc=30),
    ],
)
def test_added_jobs_make_crons_differ(change):
    changed = _full_crons()
    change(changed)
    assert changed != _full_crons()


def test_changed_jobs_compare_unequal():
    def one(**overrides) -> CronJob:
        fields = {"function": internal.x.y, "args": {"a": 1}, "hour_utc": 17}
        fields.update(overrides)
        crons = Crons()
        crons.daily("d", fields["function"], fields["args"], hour_utc=fields["hour_utc"],
                    minute_utc=0)
        return only_job(crons)

    base = one()
    assert base == one()
    assert base != one(function=internal.x.z)
    assert base != one(args={"a": 2})
    assert base != one(args={"a": Int64(1)})  # int64 1 is not float64 1
    assert base != one(hour_utc=18)


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"name": "x"},
        {"name": "x", "function": "a:b", "args": {}, "schedule": {"type": "yearly"}},
        {"name": "x", "function": "a:b", "args": {}, "schedule": {"type": "interval"}},
        {"name": "x", "function": "a:b", "args": {},
         "schedule": {"type": "interval", "seconds": 0}},
        {"name": "x", "function": "a:b", "args": {},
         "schedule": {"type": "daily", "hourUTC": 24, "minuteUTC": 0}},
        {"name": "x", "function": "a:b", "args": {},
         "schedule": {"type": "cron", "cron": "* *"}},
        {"name": "x", "function": "a:b:c", "args": {},
         "schedule": {"type": "hourly", "minuteUTC": 0}},
        {"name": "x", "function": "a:b", "args": [1],
         "schedule": {"type": "hourly", "minuteUTC": 0}},
        {"name": "", "function": "a:b", "args": {},
         "schedule": {"type": "hourly", "minuteUTC": 0}},
    ],
)
def test_malformed_job_json_is_refused(bad):
    with pytest.raises(CronDefinitionError):
        CronJob.from_json(bad)


def test_malformed_job_set_json_is_refused():
    job = {"name": "x", "function": "a:b", "args": {},
           "schedule": {"type": "hourly", "minuteUTC": 0}}
    with pytest.raises(CronDefinitionError, match="expected a list"):
        Crons.from_json({"x": job})
    with pytest.raises(CronDefinitionError, match="registered twice: 'x'"):
        Crons.from_json([job, job])


def test_schedule_json_round_trip():
    for schedule in (
        IntervalSchedule(90),
        CronSchedule("5 4 * * sun"),
        HourlySchedule(0),
        DailySchedule(0, 59),
        WeeklySchedule("saturday", 23, 0),
        MonthlySchedule(31, 12, 30),
    ):
        assert schedule_from_json(json.loads(json.dumps(schedule.to_json()))) == schedule
        assert schedule.describe()
