"""The API-model-to-columns rules reconcile relies on, as properties: what the REST API cannot
say (since when, the exact expiry time, the provider) never looks like a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.bridge.mirror import is_change
from services.bridge.portal_state import STATE, expiry_time
from tests.support.fake_portal import option, peer_model, user_model

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m))


@given(instants, offsets)
def test_a_stored_expiry_is_kept_when_its_date_in_any_zone_is_the_one_listed(
    stored: datetime, offset: timedelta
) -> None:
    listed = stored.astimezone(timezone(offset)).date().isoformat()  # as wg-portal formats it
    assert expiry_time(listed, {"expires_at": stored}) == stored


@given(instants, st.integers(min_value=2, max_value=4000))
def test_an_expiry_moved_by_days_is_a_change(stored: datetime, days: int) -> None:
    moved = (stored + timedelta(days=days)).date().isoformat()
    assert expiry_time(moved, {"expires_at": stored}) != stored


peers = st.builds(
    lambda name, disabled, expires, keepalive, overridable: peer_model(
        "vtUGaQpz9QMluFddga8gxnJYxk3rSefGpPl0g6wvExk=",
        "wg0",
        DisplayName=name,
        Disabled=disabled,
        DisabledReason="lost" if disabled else "",
        ExpiresAt=expires.isoformat() if expires else "",
        PersistentKeepalive=option(keepalive, overridable),
    ),
    st.text(max_size=20),
    st.booleans(),
    st.none() | st.dates(),
    st.integers(min_value=0, max_value=65535),
    st.booleans(),
)
users = st.builds(
    lambda sources, disabled, locked: user_model(
        "alice", AuthSources=sources, Disabled=disabled, Locked=locked
    ),
    st.lists(st.sampled_from(["db", "ldap", "oauth"]), max_size=3),
    st.booleans(),
    st.booleans(),
)


def _stored(entity: str, model: dict[str, Any], at: datetime) -> dict[str, Any]:
    return STATE[entity](model, None, at)


@given(peers, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_a_peer_read_again_later_is_no_change(model: dict[str, Any], later: timedelta) -> None:
    row = _stored("peer", model, NOW)
    assert not is_change(row, STATE["peer"](model, row, NOW + later))


@given(users, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_a_user_read_again_later_is_no_change(model: dict[str, Any], later: timedelta) -> None:
    row = _stored("user", model, NOW)
    row["auth_sources"] = [{**s, "ProviderName": "corp"} for s in row["auth_sources"]]
    assert not is_change(row, STATE["user"](model, row, NOW + later))


@given(peers, st.text(min_size=1, max_size=20))
def test_a_renamed_peer_is_a_change(model: dict[str, Any], suffix: str) -> None:
    row = _stored("peer", model, NOW)
    renamed = {**model, "DisplayName": model["DisplayName"] + suffix}
    assert is_change(row, STATE["peer"](renamed, row, NOW))
