"""The fault run's checks themselves: each one catches what it is there to catch."""

from __future__ import annotations

from typing import Any

from tests.faults.verify import Delivery, Outbox, Report, check_deliveries, check_logs

EVENTS = [("1", "create", "user", "a"), ("2", "update", "user", "a"), ("3", "create", "user", "b")]


def _outbox(**overrides: Delivery) -> Outbox:
    deliveries = {(e[0], "ep"): Delivery("delivered", 1, 0) for e in EVENTS}
    deliveries.update({(k, "ep"): v for k, v in overrides.items()})
    return Outbox(EVENTS, deliveries)


def _answers(*answers: tuple[str, str, str]) -> dict[str, list[list[Any]]]:
    """(webhook id, identifier, kind) in the order the receiver answered."""
    return {"ep": [[seq, w, "user", k, kind, False] for seq, (w, k, kind) in enumerate(answers)]}


def _check(outbox: Outbox, received: dict[str, list[list[Any]]]) -> Report:
    report = Report()
    check_deliveries(outbox, ["ep"], received, report)
    return report


def test_a_clean_run_passes() -> None:
    report = _check(_outbox(), _answers(("1", "a", "ok"), ("3", "b", "ok"), ("2", "a", "ok")))
    assert report.failures == []
    assert report.counts["duplicates (2xx answers beyond the first)"] == 0


def test_an_event_only_ever_answered_500_is_lost() -> None:
    report = _check(_outbox(), _answers(("1", "a", "ok"), ("2", "a", "500"), ("3", "b", "ok")))
    assert report.counts["lost (never answered 2xx by the receiver)"] == 1
    assert report.failures


def test_a_delivery_not_delivered_in_postgres_fails() -> None:
    received = _answers(("1", "a", "ok"), ("2", "a", "ok"), ("3", "b", "ok"))
    report = _check(_outbox(**{"3": Delivery("dead", 7, 0)}), received)
    assert any("not delivered" in f for f in report.failures)


def test_a_later_event_answered_first_breaks_order() -> None:
    report = _check(_outbox(), _answers(("2", "a", "ok"), ("1", "a", "ok"), ("3", "b", "ok")))
    assert report.counts["order violations"] == 1


def test_a_retry_after_the_first_success_does_not_break_order() -> None:
    received = _answers(("1", "a", "slow"), ("1", "a", "ok"), ("2", "a", "ok"), ("3", "b", "ok"))
    report = _check(_outbox(**{"1": Delivery("delivered", 2, 1)}), received)
    assert report.failures == []
    assert report.counts["duplicates by cause"] == {"an answer after the timeout": 1}


def test_a_duplicate_without_a_timeout_is_put_down_to_a_kill() -> None:
    received = _answers(("1", "a", "ok"), ("1", "a", "ok"), ("2", "a", "ok"), ("3", "b", "ok"))
    report = _check(_outbox(), received)
    assert report.counts["duplicates by cause"] == {"a kill or an outage": 1}
    assert report.counts["POSTs without an attempt row (in flight at a kill or outage)"] == 1


def test_a_delivery_left_leased_fails() -> None:
    received = _answers(("1", "a", "ok"), ("2", "a", "ok"), ("3", "b", "ok"))
    report = _check(_outbox(**{"2": Delivery("leased", 0, 0)}), received)
    assert report.counts["stuck leased"] == 1


def test_a_traceback_in_any_log_fails_and_is_quoted() -> None:
    report = Report()
    check_logs(
        [
            ("relay-0", "2026-11-26 10:00:00,000 INFO relay started\n"),
            (
                "worker-0",
                "[2026-11-26 10:00:01,000: ERROR/MainProcess] Task raised unexpected\n"
                'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom\n'
                "[2026-11-26 10:00:02,000: INFO/MainProcess] next\n",
            ),
        ],
        report,
    )
    assert report.counts["unhandled exceptions in logs"] == 1
    assert "Task raised unexpected" in report.failures[0]
    assert "ValueError: boom" in report.failures[0]
    assert "next" not in report.failures[0]
