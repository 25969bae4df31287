import time

from backend.db.reference_cache import ReferenceCache


def test_an_entry_is_forgotten_after_its_lifetime():
    cache: ReferenceCache[str, int] = ReferenceCache(seconds=0.05)
    cache.put("a", 1)
    assert cache.get("a") == 1
    time.sleep(0.06)
    assert cache.get("a") is None


def test_a_shorter_lifetime_for_one_entry_wins():
    cache: ReferenceCache[str, int] = ReferenceCache(seconds=60)
    cache.put("token", 1, seconds=0.05)
    time.sleep(0.06)
    assert cache.get("token") is None


def test_an_already_expired_entry_is_not_kept():
    cache: ReferenceCache[str, int] = ReferenceCache(seconds=60)
    cache.put("old", 1, seconds=-5)
    assert cache.get("old") is None


def test_forget_drops_the_entries_it_picks():
    cache: ReferenceCache[str, int] = ReferenceCache(seconds=60)
    for key, value in (("a", 1), ("b", 2), ("c", 1)):
        cache.put(key, value)
    cache.forget(lambda value: value == 1)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, 2, None)


def test_zero_seconds_disables_the_cache():
    cache: ReferenceCache[str, int] = ReferenceCache(seconds=0)
    cache.put("a", 1)
    assert cache.get("a") is None


def test_forget_all_empties_every_cache_of_the_process():
    first: ReferenceCache[str, int] = ReferenceCache(seconds=60)
    second: ReferenceCache[int, str] = ReferenceCache(seconds=60)
    first.put("a", 1)
    second.put(1, "a")
    ReferenceCache.forget_all()
    assert (first.get("a"), second.get(1)) == (None, None)
    first.put("a", 2)
    assert first.get("a") == 2
