import pytest

from cenas.db import make_engine
from cenas.settings import Settings
from gateway.auth import KEY_PREFIX, FailureLimiter, create_api_key, find_api_key, generate_key, hash_key, key_matches


def test_keys_are_random_and_only_their_hash_is_stored(tmp_path):
    a, b = generate_key(), generate_key()
    assert a != b and a.startswith(KEY_PREFIX) and len(a) > 40
    assert hash_key(a) == hash_key(a) and len(hash_key(a)) == 64 and a not in hash_key(a)
    assert key_matches(a, hash_key(a)) and not key_matches(b, hash_key(a))

    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    row, key = create_api_key(engine, name="alice")
    assert row.key_hash == hash_key(key) and key not in row.model_dump_json()
    assert find_api_key(engine, key=key).id == row.id
    assert find_api_key(engine, key=key + "x") is None and find_api_key(engine, key="") is None
    with pytest.raises(ValueError, match="name"):
        create_api_key(engine, name="  ")
    engine.dispose()


def test_failure_limiter_blocks_after_the_limit_within_the_window():
    now = [0.0]
    limiter = FailureLimiter(3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("1.2.3.4")
        limiter.record_failure("1.2.3.4")
    assert limiter.blocked("1.2.3.4") and not limiter.blocked("5.6.7.8")
    assert 1 <= limiter.retry_after("1.2.3.4") <= 61
    now[0] = 61.0
    assert not limiter.blocked("1.2.3.4")
    with pytest.raises(ValueError, match="0"):
        FailureLimiter(0)
