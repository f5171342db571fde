"""Cron jobs of the dashboard app, written each way `convex/crons.py` can write them
(the Schedules page shows them as written)."""

from syncline import Crons, internal

crons = Crons()
crons.interval("every five minutes", internal.logsched.tick, {}, minutes=5)
crons.cron("first of the month", "0 16 1 * *", internal.logsched.tick)
crons.daily("digest", internal.logsched.tick, hour_utc=17, minute_utc=30)
crons.weekly("report", internal.logsched.tick, day_of_week="tuesday", hour_utc=9,
             minute_utc=0)
