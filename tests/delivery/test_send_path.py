"""The send path itself (workers.http), POSTing in this process to a real receiver on loopback:
what goes on the wire, and what comes back of an answer."""

from __future__ import annotations

import base64
from collections.abc import Callable

from tests.support.receiver import Receiver, Reply
from workers import http


def _post(url: str, headers: dict[str, str] | None = None) -> http.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return http.post(url, b'{"a": 1}', sent, 5.0, block_private=False)


def test_user_info_in_the_url_is_sent_as_basic_auth(receiver: Receiver) -> None:
    url = receiver.url.replace("http://", "http://hook%40user:p%3Ass@")
    assert _post(url).status_code == 200
    expected = base64.b64encode(b"hook@user:p:ss").decode()
    assert receiver.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_an_authentication_header_wins_over_user_info(receiver: Receiver) -> None:
    url = receiver.url.replace("http://", "http://user:pass@")
    assert _post(url, {"Authorization": "Bearer t0ken"}).status_code == 200
    assert receiver.requests[0].headers["Authorization"] == "Bearer t0ken"


def test_the_body_goes_as_given_with_its_length_and_nothing_added(receiver: Receiver) -> None:
    assert _post(receiver.url + "?token=a%2Fb").status_code == 200
    request = receiver.requests[0]
    assert request.body == b'{"a": 1}'
    assert request.path.endswith("?token=a%2Fb")  # not re-quoted
    names = {name.lower() for name in request.headers}
    assert request.headers.get("Content-Length") == "8"
    assert "cookie" not in names and "accept" not in names
    assert request.headers.get("Accept-Encoding") == "identity"


def test_an_answer_is_read_up_to_the_excerpt_and_its_headers_case_insensitively(
    receiver_factory: Callable[..., Receiver],
) -> None:
    big = receiver_factory(
        lambda _r, _q: Reply(status=429, headers={"retry-after": "7"}, body=b"x" * 100_000)
    )
    answer = _post(big.url)
    assert answer.status_code == 429
    assert len(answer.body) == http.BODY_EXCERPT
    assert answer.headers["Retry-After"] == "7"
    assert _post(big.url).status_code == 429  # the cut-off connection was not reused broken
