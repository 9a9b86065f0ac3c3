"""`wg show all dump` parsing, on text shaped exactly like wireguard-tools prints it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.collector.dump import DumpError, parse_dump

WG0_PRIVATE = "iOARchpBdKaqcGv94aw7k3NsAmeoWjTGi74h5ZNxgcA="
WG0_PUBLIC = "i44szXCiwkHGZZlSDq3/hKKvTwzIXoUFnhTz8PrQw+M="
WG1_PRIVATE = "scK/1Yhcgq/4edWGm1kcfWUulxNQY1llOeG45xHxWRE="
WG1_PUBLIC = "wPD6x5sVJJw0bjIH49JbTYGZLV9q6jkiZIeHWi0b7Aw="
ALICE = "jZ3xxU+mDgdgMIwAs2aLZod4WEhSfPylenhrKNeZXII="
BOB = "cTH9oaAzN8Z1fHkN1nukTjRtGXWjBOnjJOu8yyX1IsE="
CAROL = "JSc2PtVe3oDBSXG09XuDC6ims8sM+jbJVurFUoRIz68="
PSK = "08PtTAexFeeey5vNaaCGUJTPvNrznhNNC2d8buxsoZw="


def tsv(*fields: object) -> str:
    return "\t".join(str(f) for f in fields)


# Two interfaces: wg0 with a fwmark and three peers (IPv4 endpoint with a preshared key, IPv6
# endpoint, never connected); wg1 with no fwmark and no peers. Ends with a newline, as wg does.
DUMP = (
    "\n".join(
        [
            tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "0xca6c"),
            tsv(
                "wg0",
                ALICE,
                PSK,
                "203.0.113.7:33874",
                "10.11.12.2/32,fdfd:d3ad:c0de:1234::2/128",
                1764158673,
                1860,
                10824,
                25,
            ),
            tsv(
                "wg0",
                BOB,
                "(none)",
                "[2001:db8::7]:51000",
                "10.11.12.3/32",
                1764158600,
                92,
                148,
                "off",
            ),
            tsv("wg0", CAROL, "(none)", "(none)", "10.11.12.4/32", 0, 0, 0, "off"),
            tsv("wg1", WG1_PRIVATE, WG1_PUBLIC, 51821, "off"),
        ]
    )
    + "\n"
)


def test_interfaces_are_keyed_by_name_in_dump_order() -> None:
    dump = parse_dump(DUMP)
    assert list(dump.interfaces) == ["wg0", "wg1"]


def test_interface_line_gives_keys_port_and_fwmark() -> None:
    wg0 = parse_dump(DUMP).interfaces["wg0"]
    assert wg0.name == "wg0"
    assert wg0.private_key == WG0_PRIVATE
    assert wg0.public_key == WG0_PUBLIC
    assert wg0.listen_port == 51820


def test_fwmark_printed_in_hex_is_read_as_a_number() -> None:
    assert parse_dump(DUMP).interfaces["wg0"].fwmark == 0xCA6C


def test_fwmark_off_is_none() -> None:
    assert parse_dump(DUMP).interfaces["wg1"].fwmark is None


def test_fwmark_in_decimal_is_accepted_for_hand_written_dumps() -> None:
    dump = parse_dump(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, 51820))
    assert dump.interfaces["wg0"].fwmark == 51820


def test_peers_are_grouped_under_their_interface_by_public_key() -> None:
    dump = parse_dump(DUMP)
    assert list(dump.interfaces["wg0"].peers) == [ALICE, BOB, CAROL]
    assert dict(dump.interfaces["wg1"].peers) == {}
    assert [p.public_key for p in dump.peers()] == [ALICE, BOB, CAROL]


def test_peer_line_gives_every_field_typed() -> None:
    alice = parse_dump(DUMP).interfaces["wg0"].peers[ALICE]
    assert alice.interface == "wg0"
    assert alice.preshared_key == PSK
    assert alice.endpoint == "203.0.113.7:33874"
    assert alice.allowed_ips == ("10.11.12.2/32", "fdfd:d3ad:c0de:1234::2/128")
    assert alice.latest_handshake == datetime(2025, 11, 26, 12, 4, 33, tzinfo=UTC)
    assert alice.transfer_rx == 1860
    assert alice.transfer_tx == 10824
    assert alice.persistent_keepalive == 25


def test_handshake_is_a_timezone_aware_utc_datetime() -> None:
    alice = parse_dump(DUMP).interfaces["wg0"].peers[ALICE]
    assert alice.latest_handshake is not None
    assert alice.latest_handshake.utcoffset() is not None
    assert alice.latest_handshake.timestamp() == 1764158673


def test_ipv6_endpoint_is_kept_with_its_brackets() -> None:
    bob = parse_dump(DUMP).interfaces["wg0"].peers[BOB]
    assert bob.endpoint == "[2001:db8::7]:51000"


def test_link_local_ipv6_endpoint_with_scope_is_accepted() -> None:
    line = tsv("wg0", ALICE, "(none)", "[fe80::1%eth0]:51820", "(none)", 0, 0, 0, "off")
    dump = parse_dump(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "off") + "\n" + line)
    assert dump.interfaces["wg0"].peers[ALICE].endpoint == "[fe80::1%eth0]:51820"


def test_none_preshared_key_is_none() -> None:
    assert parse_dump(DUMP).interfaces["wg0"].peers[BOB].preshared_key is None


def test_keepalive_off_is_none() -> None:
    assert parse_dump(DUMP).interfaces["wg0"].peers[BOB].persistent_keepalive is None


def test_peer_that_never_shook_hands_has_no_handshake_and_no_endpoint() -> None:
    carol = parse_dump(DUMP).interfaces["wg0"].peers[CAROL]
    assert carol.latest_handshake is None
    assert carol.endpoint is None
    assert (carol.transfer_rx, carol.transfer_tx) == (0, 0)


def test_peer_without_allowed_ips_has_an_empty_tuple() -> None:
    line = tsv("wg0", ALICE, "(none)", "(none)", "(none)", 0, 0, 0, "off")
    dump = parse_dump(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "off") + "\n" + line)
    assert dump.interfaces["wg0"].peers[ALICE].allowed_ips == ()


def test_interface_without_keys_has_none_keys() -> None:
    dump = parse_dump(tsv("wg9", "(none)", "(none)", 0, "off"))
    assert dump.interfaces["wg9"].private_key is None
    assert dump.interfaces["wg9"].public_key is None


def test_counters_up_to_uint64_are_kept_exactly() -> None:
    big = 2**64 - 1
    line = tsv("wg0", ALICE, "(none)", "(none)", "(none)", 0, big, big, "off")
    dump = parse_dump(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "off") + "\n" + line)
    assert dump.interfaces["wg0"].peers[ALICE].transfer_rx == big


def test_empty_output_is_a_dump_without_interfaces() -> None:
    assert dict(parse_dump("").interfaces) == {}


def test_crlf_line_endings_are_accepted() -> None:
    assert parse_dump(DUMP.replace("\n", "\r\n")) == parse_dump(DUMP)


def test_private_and_preshared_keys_never_appear_in_repr() -> None:
    dump = parse_dump(DUMP)
    text = repr(dump) + repr(dump.interfaces["wg0"]) + repr(dump.interfaces["wg0"].peers[ALICE])
    assert WG0_PRIVATE not in text
    assert WG1_PRIVATE not in text
    assert PSK not in text
    assert ALICE in text  # public keys are fine and useful


def test_parsed_values_are_frozen() -> None:
    alice = parse_dump(DUMP).interfaces["wg0"].peers[ALICE]
    with pytest.raises(AttributeError):
        alice.transfer_rx = 0  # type: ignore[misc]


def test_peer_mapping_is_read_only() -> None:
    peers = parse_dump(DUMP).interfaces["wg0"].peers
    with pytest.raises(TypeError):
        peers[ALICE] = peers[BOB]  # type: ignore[index]


def _error_for(text: str) -> DumpError:
    with pytest.raises(DumpError) as info:
        parse_dump(text)
    return info.value


GOOD_INTERFACE = tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "off")


def _peer(**override: object) -> str:
    fields: dict[str, object] = {
        "interface": "wg0",
        "public_key": ALICE,
        "preshared_key": "(none)",
        "endpoint": "203.0.113.7:33874",
        "allowed_ips": "10.11.12.2/32",
        "handshake": 1764158673,
        "rx": 1,
        "tx": 2,
        "keepalive": "off",
    }
    fields.update(override)
    return tsv(*fields.values())


@pytest.mark.parametrize(
    ("bad_line", "named"),
    [
        pytest.param(_peer(rx="12kB"), "transfer-rx", id="rx-not-a-number"),
        pytest.param(_peer(tx="-5"), "transfer-tx", id="negative-tx"),
        pytest.param(_peer(rx=2**64), "transfer-rx", id="rx-above-uint64"),
        pytest.param(_peer(handshake="yesterday"), "latest handshake", id="handshake-text"),
        pytest.param(_peer(keepalive="sometimes"), "persistent keepalive", id="keepalive-text"),
        pytest.param(_peer(endpoint="203.0.113.7"), "endpoint", id="endpoint-without-port"),
        pytest.param(_peer(endpoint="203.0.113.7:0"), "endpoint", id="endpoint-port-zero"),
        pytest.param(_peer(endpoint="2001:db8::7:51000"), "endpoint", id="ipv6-without-brackets"),
        pytest.param(_peer(endpoint="[203.0.113.7]:1"), "endpoint", id="ipv4-in-brackets"),
        pytest.param(_peer(endpoint="vpn.example.com:51820"), "endpoint", id="hostname-endpoint"),
        pytest.param(_peer(allowed_ips="10.11.12.300/32"), "allowed IP", id="bad-allowed-ip"),
        pytest.param(_peer(allowed_ips="10.11.12.2"), "prefix length", id="allowed-ip-no-prefix"),
        pytest.param(_peer(public_key="not-a-key"), "peer public key", id="bad-public-key"),
        pytest.param(_peer(preshared_key="short=="), "preshared key", id="bad-preshared-key"),
        pytest.param(_peer(interface=""), "interface name", id="empty-interface-name"),
        pytest.param(_peer(interface="wg1"), "before that interface", id="peer-of-unknown-iface"),
        pytest.param(_peer() + "\textra", "10 tab-separated fields", id="too-many-fields"),
        pytest.param("wg0 " + WG0_PUBLIC, "1 tab-separated fields", id="spaces-not-tabs"),
        pytest.param(_peer(public_key=BOB), "listed twice", id="duplicate-peer"),
        pytest.param(GOOD_INTERFACE, "listed twice", id="duplicate-interface"),
    ],
)
def test_malformed_line_raises_dump_error_naming_line_and_field(bad_line: str, named: str) -> None:
    error = _error_for("\n".join([GOOD_INTERFACE, _peer(public_key=BOB), bad_line, ""]))
    assert error.line == 3
    assert "line 3:" in str(error)
    assert named in str(error)


@pytest.mark.parametrize(
    ("bad_line", "named"),
    [
        pytest.param(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 70000, "off"), "listen port", id="port"),
        pytest.param(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "0xfffffffff"), "fwmark", id="fw"),
        pytest.param(tsv("wg0", WG0_PRIVATE, WG0_PUBLIC, 51820, "on"), "fwmark", id="fw-text"),
        pytest.param(tsv("wg0", "secret", WG0_PUBLIC, 51820, "off"), "private key", id="privkey"),
    ],
)
def test_malformed_interface_line_raises_dump_error_naming_the_field(
    bad_line: str, named: str
) -> None:
    error = _error_for(bad_line)
    assert error.line == 1
    assert named in str(error)


def test_malformed_key_is_not_echoed_in_the_error() -> None:
    almost_a_key = WG0_PRIVATE[:-2] + "!="
    error = _error_for(tsv("wg0", almost_a_key, WG0_PUBLIC, 51820, "off"))
    assert almost_a_key not in str(error)


def test_blank_lines_count_towards_the_line_number() -> None:
    error = _error_for(GOOD_INTERFACE + "\n\n" + _peer(rx="x"))
    assert error.line == 3


def test_single_interface_dump_format_is_rejected_with_a_hint() -> None:
    error = _error_for("\t".join([WG0_PRIVATE, WG0_PUBLIC, "51820", "off"]))
    assert "wg show all dump" in str(error)


def test_dump_error_is_a_value_error() -> None:
    assert issubclass(DumpError, ValueError)


# Fragments of real dump lines, so generated text often has the right shape but wrong details.
_fragments = st.sampled_from(
    [
        *("wg0", ALICE, WG0_PRIVATE, "(none)", "off", "0", "51820", "0x1", "[::1]:1"),
        *("1.2.3.4:5", "10.0.0.1/32", "10.0.0.1/32,::/0", "-1", "", " ", "\r", "9" * 25),
    ]
)
_lines = st.lists(_fragments | st.text(max_size=8), min_size=1, max_size=10).map("\t".join)


@given(text=st.lists(_lines, max_size=6).map("\n".join) | st.text())
def test_any_text_either_parses_or_raises_dump_error(text: str) -> None:
    try:
        parse_dump(text)
    except DumpError as error:
        assert 1 <= error.line <= text.count("\n") + 1
