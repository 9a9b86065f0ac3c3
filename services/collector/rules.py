"""The peer status rules of wg-portal (reference §4), as pure functions.

No I/O and no clock: the collector loop passes `now` in, so every rule can be tested at its exact
boundary and property-tested with hypothesis. All datetimes are timezone-aware (UTC); a naive one
is a programming error and raises ValueError rather than being compared to an aware one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "GraceDecision",
    "PeerCounters",
    "Publish",
    "PublishedState",
    "apply_disconnect_grace",
    "is_connected",
    "session_start",
]


@dataclass(frozen=True)
class PeerCounters:
    """One observation of a peer: the byte counters, the handshake and the session start.

    `rx` is what the server received from the peer (BytesReceived), `tx` what it sent to it
    (BytesTransmitted), both absolute. `last_handshake` is None when WireGuard reports 0 (never).
    `session_start` is the stored LastSessionStart on the *old* observation; on the *new* one it
    is ignored (it is what `session_start()` computes).
    """

    rx: int
    tx: int
    last_handshake: datetime | None
    session_start: datetime | None = None

    def __post_init__(self) -> None:
        if self.rx < 0 or self.tx < 0:
            raise ValueError(f"byte counters cannot be negative (rx={self.rx}, tx={self.tx})")
        _require_aware("last_handshake", self.last_handshake)
        _require_aware("session_start", self.session_start)


def is_connected(
    last_handshake: datetime | None,
    now: datetime,
    rekey_timeout: float,
    is_pingable: bool = False,
) -> bool:
    """wg-portal's connected rule: pingable, or a handshake within `rekey_timeout` seconds.

    `IsConnected = IsPingable or (LastHandshake is not null and LastHandshake >= now - timeout)`:
    a handshake exactly `rekey_timeout` ago still counts as connected.
    """
    _require_aware("now", now)
    _require_aware("last_handshake", last_handshake)
    if is_pingable:
        return True
    return last_handshake is not None and last_handshake >= now - timedelta(seconds=rekey_timeout)


def session_start(
    old: PeerCounters,
    new: PeerCounters,
    rekey_timeout: float,
    now: datetime,
) -> datetime | None:
    """The new LastSessionStart (reference §4), given the stored and the fresh observation.

    Null when there is no handshake. It becomes the new latest handshake when:

    (a) both old counters were 0 and a new counter is > 0 (the first traffic ever);
    (b) old rx was 0, new rx > 0, and the old handshake is missing or stale;
    (c) old tx was 0, new tx > 0, and the old session start is missing or the old handshake is
        missing or stale;
    (d) a counter went down (WireGuard re-created the peer: a new session);
    (e) there was no session start and a counter grew.

    Otherwise it keeps its old value. "Stale" means older than `now - rekey_timeout`, the
    complement of `is_connected`'s window, so a handshake exactly at the boundary is not stale.

    `now` is needed because (b) and (c) judge the old handshake against the present; wg-portal
    reads the clock there, this function takes it as an argument to stay pure.

    Differences from wg-portal's Go code, each on the side of the reference's wording: "stale"
    uses the configured rekey interval (Go hardcodes 2 minutes there); (c) treats a missing old
    handshake as stale (Go dereferences nil there and panics); (d) counts any decrease, also to 0
    (Go requires the new counter to be non-zero).
    """
    _require_aware("now", now)
    handshake = new.last_handshake
    if handshake is None:
        return None
    cutoff = now - timedelta(seconds=rekey_timeout)
    old_handshake_stale = old.last_handshake is None or old.last_handshake < cutoff
    # (a) the first traffic ever
    first_traffic = old.rx == 0 and old.tx == 0 and (new.rx > 0 or new.tx > 0)
    # (b) the first bytes received, after a stale or missing handshake
    first_receive = old.rx == 0 and new.rx > 0 and old_handshake_stale
    # (c) the first bytes sent, without a session start or after a stale handshake
    first_transmit = (
        old.tx == 0 and new.tx > 0 and (old.session_start is None or old_handshake_stale)
    )
    # (d) a counter went down: WireGuard re-created the peer
    counter_went_down = new.rx < old.rx or new.tx < old.tx
    # (e) traffic without a session start
    grew_without_start = old.session_start is None and (new.rx > old.rx or new.tx > old.tx)
    if first_traffic or first_receive or first_transmit or counter_went_down or grew_without_start:
        return handshake
    return old.session_start


class Publish(StrEnum):
    """A connection event to publish; the values are the webhook event names."""

    CONNECT = "connect"
    DISCONNECT = "disconnect"


@dataclass(frozen=True)
class PublishedState:
    """What the collector stores about a peer's connection between runs.

    `is_connected` is the state last *published* (not the raw rule's latest answer).
    `disconnected_since` is when the raw rule first said "disconnected" while the published state
    is still "connected"; it is None otherwise, so it can only be set when `is_connected` is True.
    """

    is_connected: bool
    disconnected_since: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("disconnected_since", self.disconnected_since)
        if self.disconnected_since is not None and not self.is_connected:
            raise ValueError("disconnected_since is only kept while published as connected")


@dataclass(frozen=True)
class GraceDecision:
    """The outcome of one observation: the event to publish (if any) and the state to store."""

    publish: Publish | None
    state: PublishedState


def apply_disconnect_grace(
    stored: PublishedState,
    connected: bool,
    now: datetime,
    grace: float,
) -> GraceDecision:
    """Decide what to publish for a fresh raw `connected` value, with a disconnect grace period.

    `grace` is `statistics.disconnect_grace` in seconds. Against flapping (wg-portal issue 444),
    a peer published as connected is published as disconnected only once the raw rule has said
    "disconnected" on every observation for at least `grace` seconds; if it is seen connected
    again before that, nothing is published at all (no disconnect/connect pair). A connect is
    always published at once: receivers should learn of a new connection without delay.

    With `grace == 0` (the default) this is exactly wg-portal: publish whenever the raw value
    differs from the published one.

    The caller stores `decision.state` in the same transaction as the published event (if any), so
    a restart neither repeats nor forgets a decision. If the clock steps backwards, the grace
    period is measured from the stored time and simply lasts longer; it never fires early.
    """
    _require_aware("now", now)
    if grace < 0:
        raise ValueError(f"disconnect grace cannot be negative ({grace} s)")
    if connected:
        publish = None if stored.is_connected else Publish.CONNECT
        return GraceDecision(publish, PublishedState(is_connected=True))
    if not stored.is_connected:
        return GraceDecision(None, PublishedState(is_connected=False))
    since = stored.disconnected_since or now
    if grace == 0 or now - since >= timedelta(seconds=grace):
        return GraceDecision(Publish.DISCONNECT, PublishedState(is_connected=False))
    return GraceDecision(None, PublishedState(is_connected=True, disconnected_since=since))


def _require_aware(name: str, value: datetime | None) -> None:
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime (UTC), got {value!r}")
