"""The console's pure rules: the chart's geometry, secret masking, and the headers it shows
(held equal to the ones the worker sends)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from services.config import Endpoint
from services.console import chart, redaction, sent
from workers.delivery import headers_for

counts = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=1440)


@given(counts)
def test_every_point_lies_inside_the_chart_and_the_highest_touches_the_top(
    values: list[int],
) -> None:
    top = max(values)
    points = chart.points(values, top)
    assert len(points) == len(values)
    assert all(0 <= x <= chart.WIDTH and 0 <= y <= chart.HEIGHT for x, y in points)
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    ys = [y for _, y in points]
    if top > 0:
        assert ys[values.index(top)] == min(ys)


@given(st.lists(st.tuples(st.integers(-5, 30), st.integers(0, 9), st.integers(0, 9))))
def test_per_minute_keeps_every_count_inside_the_window(
    rows: list[tuple[int, int, int]],
) -> None:
    delivered, failed = chart.per_minute(rows, 24)
    assert len(delivered) == len(failed) == 24
    assert sum(delivered) == sum(ok for m, ok, _ in rows if 0 <= m < 24)
    assert sum(failed) == sum(bad for m, _, bad in rows if 0 <= m < 24)


def test_svg_escapes_its_labels_and_draws_one_line_per_series() -> None:
    markup = chart.svg(
        [chart.Series("a<b", "delivered", [1, 2]), chart.Series("c", "failed", [0, 5])],
        title='x"y',
        span_label="24 h ago",
    )
    assert markup.count("<polyline") == 2
    assert "a<b" not in markup and "a&lt;b" in markup
    assert 'aria-label="x&#34;y"' in markup


secret_text = st.text(alphabet="abcdefghij0123456789_-+/=", min_size=4, max_size=40)


@given(st.lists(secret_text, min_size=1, max_size=5), st.text(max_size=200), st.data())
def test_redact_leaves_no_secret_in_the_text(
    secrets: list[str], noise: str, data: st.DataObject
) -> None:
    pieces = [noise]
    for secret in secrets:
        pieces.insert(data.draw(st.integers(0, len(pieces))), secret)
    text = redaction.redact("".join(pieces), secrets)
    for secret in secrets:
        assert secret not in text


def test_known_secrets_include_the_token_inside_a_scheme_and_a_whsec() -> None:
    from services.config import Core, Settings, Webhook

    settings = Settings(
        core=Core(admin_api_token="tok-12345"),
        webhook=Webhook(
            endpoints=(
                Endpoint("a", "http://127.0.0.1/", "Bearer abc-def-1", "whsec_QUJDREVGR0g="),
            )
        ),
        flower_basic_auth="ops:pw-flower",
    )
    known = redaction.known_secrets(settings)
    assert {"Bearer abc-def-1", "abc-def-1", "whsec_QUJDREVGR0g=", "QUJDREVGR0g="} <= known
    assert {"tok-12345", "pw-flower"} <= known
    assert "ops" not in known


def test_the_console_shows_the_header_names_the_worker_sends() -> None:
    whsec = "whsec_QUJDREVGR0g="
    for auth, secret in (("", ""), ("Bearer x1", ""), ("", whsec), ("B y", whsec)):
        endpoint = Endpoint("a", "http://127.0.0.1/", auth, secret)
        shown = sent.sent_headers(endpoint, "evt_42")
        sending = headers_for(endpoint, "evt_42", b"{}", 1_700_000_000)
        assert [name for name, _ in shown] == list(sending)
        for name, value in shown:
            if name in ("Authorization", "webhook-signature"):
                assert sending[name] not in value and redaction.MASK in value
            elif name != "webhook-timestamp":
                assert value == sending[name]


def test_the_envelope_is_pretty_printed_and_a_broken_one_shown_as_stored() -> None:
    assert sent.pretty_envelope('{"a":{"b":1}}') == '{\n  "a": {\n    "b": 1\n  }\n}'
    assert sent.pretty_envelope("not json") == "not json"
    assert re.fullmatch(r"wg-webhooks/\S+", sent.USER_AGENT)
