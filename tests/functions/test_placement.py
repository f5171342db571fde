"""Placement: which functions run inline, from the CPU time their runs took."""

from syncline.functions.placement import (
    INLINE_FAST_S,
    INLINE_MAX_S,
    INLINE_SLOW_S,
    REPROMOTE_AFTER,
    Placement,
)

QUICK = INLINE_FAST_S / 10


def test_a_function_starts_on_the_pool_and_moves_inline_after_a_quick_run():
    placement = Placement()
    assert not placement.inline("f")
    placement.after_pool_run("f", INLINE_FAST_S * 2, suspended=False)  # slow first run
    assert not placement.inline("f")
    placement.after_pool_run("f", QUICK, suspended=False)
    assert placement.inline("f")


def test_one_slow_inline_run_does_not_demote_but_a_slow_average_does():
    placement = Placement()
    placement.after_pool_run("f", QUICK, suspended=False)
    placement.after_inline_run("f", INLINE_SLOW_S * 3, suspended=False)  # a GC pause
    assert placement.inline("f")
    for _ in range(30):
        placement.after_inline_run("f", INLINE_SLOW_S * 2, suspended=False)
    assert not placement.inline("f")


def test_one_very_long_inline_run_demotes_and_quick_pool_runs_repromote():
    placement = Placement()
    placement.after_pool_run("f", QUICK, suspended=False)
    placement.after_inline_run("f", INLINE_MAX_S * 2, suspended=False)
    assert not placement.inline("f")
    for _ in range(REPROMOTE_AFTER - 1):
        placement.after_pool_run("f", QUICK, suspended=False)
    placement.after_pool_run("f", INLINE_FAST_S * 2, suspended=False)  # the streak breaks
    for _ in range(REPROMOTE_AFTER - 1):
        placement.after_pool_run("f", QUICK, suspended=False)
    assert not placement.inline("f")
    placement.after_pool_run("f", QUICK, suspended=False)
    assert placement.inline("f")


def test_a_function_that_suspends_stays_on_the_pool():
    placement = Placement()
    placement.after_pool_run("f", QUICK, suspended=False)
    placement.after_inline_run("f", QUICK, suspended=True)
    assert not placement.inline("f")
    for _ in range(REPROMOTE_AFTER * 2):
        placement.after_pool_run("f", QUICK, suspended=False)
    assert not placement.inline("f")
    other = Placement()
    other.after_pool_run("g", QUICK, suspended=True)
    other.after_pool_run("g", QUICK, suspended=False)
    assert not other.inline("g")
