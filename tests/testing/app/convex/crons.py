from syncline import internal
from syncline.scheduler import Crons

crons = Crons()
crons.interval("tick", internal.jobs.record, {"kind": "tick"}, minutes=5)
