"""The journal's fixed-size memory behaves like a first-in-first-out set of the last N keys."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections import OrderedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.recent import RecentKeys


def key(n: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest()


def test_the_oldest_key_is_forgotten_when_the_set_is_full() -> None:
    recent = RecentKeys(3)
    for n in range(4):
        recent.add(key(n))
    assert key(0) not in recent and all(key(n) in recent for n in (1, 2, 3))
    assert len(recent) == 3


def test_adding_a_known_key_again_changes_nothing() -> None:
    recent = RecentKeys(2)
    for n in (1, 1, 2):
        recent.add(key(n))
    assert key(1) in recent and key(2) in recent and len(recent) == 2


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        RecentKeys(2).add(b"short")


@given(st.integers(1, 9), st.lists(st.tuples(st.booleans(), st.integers(0, 30)), max_size=200))
def test_it_answers_like_a_fifo_set_of_the_last_n_keys(
    capacity: int, steps: list[tuple[bool, int]]
) -> None:
    # few distinct keys and a tiny index: probe runs collide and wrap, deletions shift entries
    recent, model = RecentKeys(capacity), OrderedDict[bytes, None]()
    for adding, n in steps:
        if adding:
            recent.add(key(n))
            if key(n) not in model:
                model[key(n)] = None
                if len(model) > capacity:
                    model.popitem(last=False)
        assert (key(n) in recent) == (key(n) in model)
    assert len(recent) == len(model)
    assert all(k in recent for k in model)


def test_memory_does_not_grow_as_keys_come_and_go() -> None:
    recent = RecentKeys(1000)
    for n in range(1000):
        recent.add(key(n))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for n in range(1000, 5000):
        recent.add(key(n))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 4096
