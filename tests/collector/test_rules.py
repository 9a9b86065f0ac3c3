"""The connected rule, LastSessionStart (reference §4 (a)-(e)) and the disconnect grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.collector.rules import (
    GraceDecision,
    PeerCounters,
    Publish,
    PublishedState,
    apply_disconnect_grace,
    is_connected,
    session_start,
)

REKEY = 180.0
NOW = datetime(2025, 11, 26, 12, 0, 0, tzinfo=UTC)
FRESH = NOW - timedelta(seconds=30)  # within the rekey window
STALE = NOW - timedelta(seconds=REKEY + 1)  # older than the rekey window
NEW_HANDSHAKE = NOW - timedelta(seconds=5)
OLD_START = NOW - timedelta(hours=3)


def counters(
    rx: int,
    tx: int,
    handshake: datetime | None = NEW_HANDSHAKE,
    start: datetime | None = None,
) -> PeerCounters:
    return PeerCounters(rx=rx, tx=tx, last_handshake=handshake, session_start=start)


# --- is_connected -------------------------------------------------------------------------------


def test_handshake_exactly_rekey_timeout_ago_is_connected() -> None:
    assert is_connected(NOW - timedelta(seconds=REKEY), NOW, REKEY)


def test_handshake_a_microsecond_older_than_rekey_timeout_is_disconnected() -> None:
    assert not is_connected(NOW - timedelta(seconds=REKEY, microseconds=1), NOW, REKEY)


def test_recent_handshake_is_connected() -> None:
    assert is_connected(FRESH, NOW, REKEY)


def test_peer_that_never_shook_hands_is_disconnected() -> None:
    assert not is_connected(None, NOW, REKEY)


def test_pingable_peer_is_connected_without_a_handshake() -> None:
    assert is_connected(None, NOW, REKEY, is_pingable=True)


def test_pingable_peer_is_connected_with_a_stale_handshake() -> None:
    assert is_connected(STALE, NOW, REKEY, is_pingable=True)


def test_rekey_timeout_is_configurable() -> None:
    handshake = NOW - timedelta(seconds=200)
    assert not is_connected(handshake, NOW, 180.0)
    assert is_connected(handshake, NOW, 300.0)


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_connected(FRESH.replace(tzinfo=None), NOW, REKEY)


# --- session_start: the reference's cases -------------------------------------------------------


def test_no_handshake_means_no_session_start() -> None:
    old = counters(100, 200, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(150, 250, handshake=None), REKEY, NOW) is None


def test_case_a_first_traffic_after_zero_counters_starts_the_session() -> None:
    # Only (a) applies: the old handshake is fresh (not b), tx stays 0 (not c), nothing went
    # down (not d), and a session start exists (not e).
    old = counters(0, 0, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(10, 0), REKEY, NOW) == NEW_HANDSHAKE


def test_case_b_first_receive_after_a_stale_handshake_starts_the_session() -> None:
    old = counters(0, 100, handshake=STALE, start=OLD_START)
    assert session_start(old, counters(50, 150), REKEY, NOW) == NEW_HANDSHAKE


def test_case_b_first_receive_without_an_old_handshake_starts_the_session() -> None:
    old = counters(0, 100, handshake=None, start=OLD_START)
    assert session_start(old, counters(50, 150), REKEY, NOW) == NEW_HANDSHAKE


def test_case_b_does_not_apply_while_the_old_handshake_is_fresh() -> None:
    old = counters(0, 100, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(50, 150), REKEY, NOW) == OLD_START


def test_case_c_first_transmit_after_a_stale_handshake_starts_the_session() -> None:
    old = counters(100, 0, handshake=STALE, start=OLD_START)
    assert session_start(old, counters(100, 50), REKEY, NOW) == NEW_HANDSHAKE


def test_case_c_first_transmit_without_an_old_session_start_starts_the_session() -> None:
    old = counters(100, 0, handshake=FRESH, start=None)
    assert session_start(old, counters(100, 50), REKEY, NOW) == NEW_HANDSHAKE


def test_case_c_first_transmit_without_an_old_handshake_starts_the_session() -> None:
    # wg-portal's Go code dereferences the missing handshake here; missing counts as stale.
    old = counters(100, 0, handshake=None, start=OLD_START)
    assert session_start(old, counters(100, 50), REKEY, NOW) == NEW_HANDSHAKE


def test_case_c_does_not_apply_while_the_session_and_handshake_are_fresh() -> None:
    old = counters(100, 0, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(100, 50), REKEY, NOW) == OLD_START


def test_case_d_counter_going_down_restarts_the_session() -> None:
    old = counters(100, 100, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(10, 200), REKEY, NOW) == NEW_HANDSHAKE


def test_case_d_counter_going_down_to_zero_restarts_the_session() -> None:
    old = counters(100, 100, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(100, 0), REKEY, NOW) == NEW_HANDSHAKE


def test_case_e_growing_counter_without_a_session_start_starts_the_session() -> None:
    old = counters(100, 100, handshake=FRESH, start=None)
    assert session_start(old, counters(100, 150), REKEY, NOW) == NEW_HANDSHAKE


def test_growing_counters_keep_the_running_session() -> None:
    old = counters(100, 100, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(150, 250), REKEY, NOW) == OLD_START


def test_idle_peer_with_a_new_handshake_keeps_its_session_start() -> None:
    old = counters(100, 100, handshake=FRESH, start=OLD_START)
    assert session_start(old, counters(100, 100), REKEY, NOW) == OLD_START


def test_old_handshake_exactly_at_the_rekey_boundary_is_not_stale() -> None:
    # The complement of is_connected's window: connected there, so (b) does not fire.
    old = counters(0, 100, handshake=NOW - timedelta(seconds=REKEY), start=OLD_START)
    assert session_start(old, counters(50, 150), REKEY, NOW) == OLD_START


def test_negative_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PeerCounters(rx=-1, tx=0, last_handshake=None)


# --- the disconnect grace -----------------------------------------------------------------------


CONNECTED = PublishedState(is_connected=True)
DISCONNECTED = PublishedState(is_connected=False)


def test_without_grace_a_disconnect_is_published_at_once() -> None:
    decision = apply_disconnect_grace(CONNECTED, connected=False, now=NOW, grace=0)
    assert decision == GraceDecision(Publish.DISCONNECT, DISCONNECTED)


def test_connect_is_published_at_once_even_with_a_grace() -> None:
    decision = apply_disconnect_grace(DISCONNECTED, connected=True, now=NOW, grace=300)
    assert decision == GraceDecision(Publish.CONNECT, CONNECTED)


def test_unchanged_state_publishes_nothing() -> None:
    assert apply_disconnect_grace(CONNECTED, True, NOW, 300) == GraceDecision(None, CONNECTED)
    assert apply_disconnect_grace(DISCONNECTED, False, NOW, 300) == GraceDecision(
        None, DISCONNECTED
    )


def test_first_disconnected_observation_within_grace_is_remembered_not_published() -> None:
    decision = apply_disconnect_grace(CONNECTED, connected=False, now=NOW, grace=300)
    assert decision == GraceDecision(None, PublishedState(True, disconnected_since=NOW))


def test_disconnect_is_published_once_the_grace_has_passed() -> None:
    pending = PublishedState(True, disconnected_since=NOW)
    later = NOW + timedelta(seconds=300)
    decision = apply_disconnect_grace(pending, connected=False, now=later, grace=300)
    assert decision == GraceDecision(Publish.DISCONNECT, DISCONNECTED)


def test_disconnect_waits_until_the_grace_has_fully_passed() -> None:
    pending = PublishedState(True, disconnected_since=NOW)
    almost = NOW + timedelta(seconds=299)
    decision = apply_disconnect_grace(pending, connected=False, now=almost, grace=300)
    assert decision == GraceDecision(None, pending)


def test_reconnect_within_the_grace_publishes_nothing_and_forgets_the_disconnect() -> None:
    pending = PublishedState(True, disconnected_since=NOW)
    decision = apply_disconnect_grace(pending, True, NOW + timedelta(seconds=60), 300)
    assert decision == GraceDecision(None, CONNECTED)


def test_disconnected_since_cannot_be_stored_for_a_disconnected_peer() -> None:
    with pytest.raises(ValueError, match="only kept while published as connected"):
        PublishedState(is_connected=False, disconnected_since=NOW)


def test_negative_grace_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        apply_disconnect_grace(CONNECTED, False, NOW, -1)


def test_publish_values_are_the_webhook_event_names() -> None:
    assert [p.value for p in Publish] == ["connect", "disconnect"]


# --- properties ---------------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
maybe_instants = st.none() | instants
byte_counts = st.integers(min_value=0, max_value=2**64 - 1)
small_counts = st.integers(min_value=0, max_value=3)  # makes 0 and equal counters common
any_counts = byte_counts | small_counts
timeouts = st.floats(min_value=0, max_value=86400, allow_nan=False, allow_infinity=False)
peer_counters = st.builds(
    PeerCounters,
    rx=any_counts,
    tx=any_counts,
    last_handshake=maybe_instants,
    session_start=maybe_instants,
)


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_session_start_is_none_whenever_there_is_no_handshake(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    fresh = PeerCounters(new.rx, new.tx, last_handshake=None)
    assert session_start(old, fresh, timeout, now) is None


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_session_start_is_the_new_handshake_or_the_old_start(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    result = session_start(old, new, timeout, now)
    assert result in (new.last_handshake, old.session_start)


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_with_a_handshake_session_start_is_none_only_without_an_old_start_or_traffic_change(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    # The suggested "None iff no handshake" does not hold for the reference's rules: a peer
    # that shook hands but whose counters did not move since a start-less observation keeps None.
    if new.last_handshake is not None and session_start(old, new, timeout, now) is None:
        assert old.session_start is None
        assert (new.rx, new.tx) == (old.rx, old.tx)


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_a_decreasing_counter_always_restarts_the_session(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    if new.rx < old.rx or new.tx < old.tx:
        assert session_start(old, new, timeout, now) == new.last_handshake


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_changed_counters_without_a_session_start_always_start_one(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    no_start = PeerCounters(old.rx, old.tx, old.last_handshake, session_start=None)
    if (new.rx, new.tx) != (old.rx, old.tx):
        assert session_start(no_start, new, timeout, now) == new.last_handshake


@given(old=peer_counters, new=peer_counters, timeout=timeouts, now=instants)
def test_repeating_an_observation_does_not_move_the_session_start(
    old: PeerCounters, new: PeerCounters, timeout: float, now: datetime
) -> None:
    first = session_start(old, new, timeout, now)
    stored = PeerCounters(new.rx, new.tx, new.last_handshake, session_start=first)
    assert session_start(stored, new, timeout, now) == first


@given(h1=instants, h2=instants, now=instants, timeout=timeouts, pingable=st.booleans())
def test_is_connected_is_monotone_in_handshake_time(
    h1: datetime, h2: datetime, now: datetime, timeout: float, pingable: bool
) -> None:
    earlier, later = sorted((h1, h2))
    if is_connected(earlier, now, timeout, pingable):
        assert is_connected(later, now, timeout, pingable)


@given(handshake=maybe_instants, now=instants, timeout=timeouts)
def test_pinging_never_makes_a_peer_less_connected(
    handshake: datetime | None, now: datetime, timeout: float
) -> None:
    assert is_connected(handshake, now, timeout, True) >= is_connected(handshake, now, timeout)


@given(handshake=instants, now=instants, t1=timeouts, t2=timeouts)
def test_a_longer_rekey_timeout_never_disconnects_a_peer(
    handshake: datetime, now: datetime, t1: float, t2: float
) -> None:
    shorter, longer = sorted((t1, t2))
    if is_connected(handshake, now, shorter):
        assert is_connected(handshake, now, longer)


states = st.one_of(
    st.builds(PublishedState, is_connected=st.booleans()),
    st.builds(PublishedState, is_connected=st.just(True), disconnected_since=instants),
)


@given(stored=states, connected=st.booleans(), now=instants)
def test_zero_grace_publishes_exactly_when_the_state_flips(
    stored: PublishedState, connected: bool, now: datetime
) -> None:
    decision = apply_disconnect_grace(stored, connected, now, grace=0)
    assert (decision.publish is not None) == (connected != stored.is_connected)
    assert decision.state == PublishedState(is_connected=connected)


@given(stored=states, connected=st.booleans(), now=instants, grace=timeouts)
def test_published_event_always_matches_the_new_stored_state(
    stored: PublishedState, connected: bool, now: datetime, grace: float
) -> None:
    decision = apply_disconnect_grace(stored, connected, now, grace)
    if decision.publish is Publish.CONNECT:
        assert not stored.is_connected
        assert decision.state == PublishedState(is_connected=True)
    elif decision.publish is Publish.DISCONNECT:
        assert stored.is_connected
        assert decision.state == PublishedState(is_connected=False)
    else:
        assert decision.state.is_connected == stored.is_connected


@given(
    observations=st.lists(
        st.tuples(st.booleans(), st.integers(min_value=0, max_value=600)), max_size=40
    ),
    grace=st.integers(min_value=0, max_value=900),
)
def test_events_alternate_and_a_disconnect_needs_a_whole_grace_of_disconnection(
    observations: list[tuple[bool, int]], grace: int
) -> None:
    state = CONNECTED
    now = NOW
    down_since: datetime | None = None  # start of the current run of raw "disconnected"
    published: list[Publish] = []
    for connected, step in observations:
        now += timedelta(seconds=step)
        down_since = None if connected else (down_since or now)
        decision = apply_disconnect_grace(state, connected, now, grace)
        if decision.publish is Publish.DISCONNECT:
            assert down_since is not None
            assert now - down_since >= timedelta(seconds=grace)
        if decision.publish is not None:
            published.append(decision.publish)
        state = decision.state
    expected = [Publish.DISCONNECT, Publish.CONNECT] * len(published)
    assert published == expected[: len(published)]
