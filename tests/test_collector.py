"""gc_paused: no cycle collection inside, the collector as it was after."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from profiles_ui.altcraft.collector import gc_paused


@contextmanager
def collections_started() -> Iterator[list[int]]:
    """The generations of the collections that start inside the block, after a full one."""
    started: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    try:
        yield started
    finally:
        gc.callbacks.remove(record)


def test_paused_inside_and_enabled_after_even_on_error():
    with pytest.raises(ValueError), gc_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()


def test_a_nested_pause_leaves_resuming_to_the_outermost():
    with gc_paused():
        with gc_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with gc_paused(keep_result=True):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_kept_result_skips_the_young_generations_and_nothing_stays_frozen():
    with collections_started() as started:
        with gc_paused(keep_result=True):
            kept = [{"n": [i]} for i in range(50_000)]
        more = [[i] for i in range(100)]  # would start a young collection of all of `kept`
    assert started == []
    assert gc.get_freeze_count() == 0
    cycle: list = [kept, more]
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1  # a full collection still finds cycles
