"""The pure delivery rules, without I/O or a clock: the backoff schedule with its jitter and
Retry-After floor, the outcome of an attempt, Retry-After parsing, and the signature.

The end-to-end tests (test_outcomes.py) show the rules at work through real receivers and
workers; these pin down their invariants in milliseconds, as tests/collector/test_rules.py
does for the collector.
"""

from __future__ import annotations

import base64
import email.utils
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from workers.backoff import JITTER, next_delay
from workers.outcome import Result, classify, parse_retry_after, retry_after_of
from workers.signing import secret_bytes, sign

schedules = st.lists(
    st.floats(min_value=0.0, max_value=86_400.0, allow_nan=False), min_size=1, max_size=12
)
seeds = st.integers(min_value=0, max_value=2**32 - 1)
NOW = 1_764_417_600.0  # 2025-11-29 12:00:00 UTC


def _attempt(status_code: int | None, retry_after: float | None = None) -> Result:
    return Result(status_code, None if status_code else "connection refused", 1.0, "", retry_after)


# --- next_delay ---------------------------------------------------------------------------------


@given(schedule=schedules, data=st.data(), seed=seeds)
def test_each_step_waits_its_scheduled_time_within_the_jitter(
    schedule: list[float], data: st.DataObject, seed: int
) -> None:
    attempts = data.draw(st.integers(min_value=1, max_value=len(schedule)))
    step = schedule[attempts - 1]
    delay = next_delay(attempts, schedule, rng=random.Random(seed))
    assert delay is not None
    assert step * (1 - JITTER) - 1e-9 <= delay <= step * (1 + JITTER) + 1e-9


@given(schedule=schedules, extra=st.integers(min_value=1, max_value=100), seed=seeds)
def test_an_attempt_past_the_schedule_gives_up(
    schedule: list[float], extra: int, seed: int
) -> None:
    assert next_delay(len(schedule) + extra, schedule, rng=random.Random(seed)) is None


@given(schedule=schedules, attempts=st.integers(max_value=0))
def test_attempts_count_from_one(schedule: list[float], attempts: int) -> None:
    with pytest.raises(ValueError, match="counts from 1"):
        next_delay(attempts, schedule)


@given(schedule=schedules, data=st.data(), seed=seeds)
def test_the_same_random_source_gives_the_same_delay(
    schedule: list[float], data: st.DataObject, seed: int
) -> None:
    attempts = data.draw(st.integers(min_value=1, max_value=len(schedule)))
    first = next_delay(attempts, schedule, rng=random.Random(seed))
    assert next_delay(attempts, schedule, rng=random.Random(seed)) == first


@given(
    schedule=schedules,
    data=st.data(),
    retry_after=st.floats(min_value=0.001, max_value=10**9, allow_nan=False),
    seed=seeds,
)
def test_retry_after_is_a_floor_capped_by_the_longest_step(
    schedule: list[float], data: st.DataObject, retry_after: float, seed: int
) -> None:
    attempts = data.draw(st.integers(min_value=1, max_value=len(schedule)))
    without = next_delay(attempts, schedule, rng=random.Random(seed))
    delay = next_delay(attempts, schedule, retry_after, rng=random.Random(seed))
    assert without is not None and delay is not None
    assert delay == max(without, min(retry_after, max(schedule)))
    assert delay <= max(schedule) * (1 + JITTER) + 1e-9  # a receiver cannot park it longer


@given(
    schedule=schedules,
    retry_after=st.floats(max_value=0.0, allow_nan=False) | st.none(),
    seed=seeds,
)
def test_a_missing_or_non_positive_retry_after_changes_nothing(
    schedule: list[float], retry_after: float | None, seed: int
) -> None:
    assert next_delay(1, schedule, retry_after, rng=random.Random(seed)) == next_delay(
        1, schedule, rng=random.Random(seed)
    )


# --- classify -----------------------------------------------------------------------------------


@given(code=st.integers(min_value=200, max_value=299), attempts=st.integers(min_value=1))
def test_any_2xx_is_delivered_whatever_the_attempt(code: int, attempts: int) -> None:
    outcome = classify(_attempt(code), attempts, [1.0])
    assert (outcome.status, outcome.delay) == ("delivered", None)


@given(schedule=schedules, attempts=st.integers(min_value=1, max_value=50))
def test_410_is_dead_at_once_with_retries_left(schedule: list[float], attempts: int) -> None:
    outcome = classify(_attempt(410), attempts, schedule)
    assert (outcome.status, outcome.delay) == ("dead", None)


failures = st.none() | st.integers(min_value=100, max_value=199) | st.integers(300, 409)
failures |= st.integers(411, 599)


@given(code=failures, schedule=schedules, data=st.data())
def test_a_failure_retries_within_the_schedule_and_is_dead_after_it(
    code: int | None, schedule: list[float], data: st.DataObject
) -> None:
    attempts = data.draw(st.integers(min_value=1, max_value=len(schedule) + 3))
    outcome = classify(_attempt(code), attempts, schedule)
    if attempts > len(schedule):
        assert (outcome.status, outcome.delay) == ("dead", None)
    else:
        step = schedule[attempts - 1]
        assert outcome.status == "retry"
        assert outcome.delay is not None
        assert step * (1 - JITTER) - 1e-9 <= outcome.delay <= step * (1 + JITTER) + 1e-9


def test_a_redirect_is_a_failure_not_followed() -> None:
    assert classify(_attempt(301), 1, [10.0]).status == "retry"
    assert classify(_attempt(308), 1, []).status == "dead"


@given(retry_after=st.floats(min_value=0.001, max_value=10**6, allow_nan=False))
def test_a_429_waits_at_least_its_retry_after_up_to_the_longest_step(retry_after: float) -> None:
    schedule = [1.0, 60.0, 3600.0]
    outcome = classify(_attempt(429, retry_after), 1, schedule)
    assert outcome.status == "retry"
    assert outcome.delay is not None
    assert outcome.delay >= min(retry_after, 3600.0)


# --- Retry-After ----------------------------------------------------------------------------------


@given(seconds=st.integers(min_value=0, max_value=10**9))
def test_retry_after_in_seconds_is_read_as_is(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=NOW) == float(seconds)
    assert parse_retry_after(f"  {seconds} ", now=NOW) == float(seconds)


@given(offset=st.integers(min_value=-(10**8), max_value=10**8))
def test_retry_after_as_an_http_date_is_the_time_until_it_or_zero(offset: int) -> None:
    when = datetime.fromtimestamp(NOW + offset, UTC)
    header = email.utils.format_datetime(when, usegmt=True)
    assert parse_retry_after(header, now=NOW) == max(0.0, float(offset))


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Fri, 99 Foo 2025 25:61:00"])
def test_unreadable_retry_after_is_none(value: str | None) -> None:
    assert parse_retry_after(value, now=NOW) is None


@given(code=st.integers(min_value=100, max_value=599))
def test_retry_after_counts_only_on_429_and_503(code: int) -> None:
    found = retry_after_of(code, {"Retry-After": "120"})
    assert found == (120.0 if code in (429, 503) else None)


# --- signing ------------------------------------------------------------------------------------

keys = st.binary(min_size=1, max_size=64)


@given(key=keys, msg_id=st.from_regex(r"[0-9]{1,19}", fullmatch=True),
       timestamp=st.integers(min_value=0, max_value=2**33), body=st.text())  # fmt: skip
def test_the_signature_is_the_standard_webhooks_one(
    key: bytes, msg_id: str, timestamp: int, body: str
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    expected = Webhook(secret).sign(msg_id, datetime.fromtimestamp(timestamp, UTC), body)
    assert sign(secret_bytes(secret), msg_id, timestamp, body.encode()) == expected


@given(key=keys, msg_id=st.text(min_size=1, max_size=20), timestamp=st.integers(0, 2**33),
       body=st.binary(max_size=256), changed=st.binary(min_size=1, max_size=8))  # fmt: skip
def test_a_changed_body_id_or_time_changes_the_signature(
    key: bytes, msg_id: str, timestamp: int, body: bytes, changed: bytes
) -> None:
    signature = sign(key, msg_id, timestamp, body)
    assert sign(key, msg_id, timestamp, body + changed) != signature
    assert sign(key, msg_id + "x", timestamp, body) != signature
    assert sign(key, msg_id, timestamp + 1, body) != signature


@given(key=keys)
def test_the_whsec_prefix_is_a_label_around_base64(key: bytes) -> None:
    encoded = base64.b64encode(key).decode()
    assert secret_bytes("whsec_" + encoded) == key
    assert secret_bytes(encoded) == key
