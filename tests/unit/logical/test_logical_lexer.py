"""Tokenizer: every lexical form of ovn-sb(5) and clear errors with offsets."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyovn.logical.errors import LexError
from pyovn.logical.lexer import TokenKind, parse_constant, tokenize
from pyovn.logical.values import IntConst, IntFormat

K = TokenKind


def kinds(text: str) -> list[TokenKind]:
    return [t.kind for t in tokenize(text)][:-1]


def one(text: str):
    tokens = tokenize(text)
    assert len(tokens) == 2, tokens
    return tokens[0]


@pytest.mark.parametrize(
    "text",
    [
        "eth.src",
        "reg0",
        "ct.est",
        "flags.loopback",
        "ct_label.ecmp_reply_eth",
        "_x",
        "is_chassis_resident",
    ],
)
def test_identifiers_keep_dots(text: str) -> None:
    tok = one(text)
    assert tok.kind is K.ID and tok.value == text and tok.offset == 0


@pytest.mark.parametrize(
    ("text", "value", "fmt"),
    [
        ("0", 0, IntFormat.DECIMAL),
        ("2048", 2048, IntFormat.DECIMAL),
        ("0x800", 0x800, IntFormat.HEXADECIMAL),
        ("0X86dd", 0x86DD, IntFormat.HEXADECIMAL),
        ("0xffffffffffffffffffffffffffffffffff", (1 << 136) - 1, IntFormat.HEXADECIMAL),
        ("00:00:00:00:00:01", 1, IntFormat.ETHERNET),
        ("ff:ff:ff:ff:ff:ff", (1 << 48) - 1, IntFormat.ETHERNET),
        ("0a:0B:c:d:e:f", 0x0A0B0C0D0E0F, IntFormat.ETHERNET),
        ("10.0.0.5", 0x0A000005, IntFormat.IPV4),
        ("255.255.255.255", 0xFFFFFFFF, IntFormat.IPV4),
        ("fe80::1", int(ipaddress.IPv6Address("fe80::1")), IntFormat.IPV6),
        ("::", 0, IntFormat.IPV6),
        ("::1", 1, IntFormat.IPV6),
        ("aef0::4", int(ipaddress.IPv6Address("aef0::4")), IntFormat.IPV6),
        ("1:2:3:4:5:6:7:8", int(ipaddress.IPv6Address("1:2:3:4:5:6:7:8")), IntFormat.IPV6),
        ("::ffff:1.2.3.4", int(ipaddress.IPv6Address("::ffff:1.2.3.4")), IntFormat.IPV6),
    ],
)
def test_integers(text: str, value: int, fmt: IntFormat) -> None:
    tok = one(text)
    assert (tok.kind, tok.value, tok.fmt, tok.mask) == (K.INTEGER, value, fmt, None)


@pytest.mark.parametrize(
    ("text", "value", "mask", "fmt"),
    [
        ("10.0.0.0/24", 0x0A000000, 0xFFFFFF00, IntFormat.IPV4),
        ("10.0.0.0/255.255.255.0", 0x0A000000, 0xFFFFFF00, IntFormat.IPV4),
        ("0.0.0.0/0", 0, 0, IntFormat.IPV4),
        ("1.0.2.0/255.0.255.0", 0x01000200, 0xFF00FF00, IntFormat.IPV4),
        ("fe80::/10", 0xFE80 << 112, ((1 << 10) - 1) << 118, IntFormat.IPV6),
        (
            "ff02::1:ff00:0/104",
            int(ipaddress.IPv6Address("ff02::1:ff00:0")),
            ((1 << 104) - 1) << 24,
            IntFormat.IPV6,
        ),
        ("0x8/0xc", 8, 0xC, IntFormat.HEXADECIMAL),
        ("4/4", 4, 4, IntFormat.DECIMAL),
        ("01:00:00:00:00:00/01:00:00:00:00:00", 1 << 40, 1 << 40, IntFormat.ETHERNET),
    ],
)
def test_masked_integers(text: str, value: int, mask: int, fmt: IntFormat) -> None:
    tok = one(text)
    assert (tok.kind, tok.value, tok.mask, tok.fmt) == (K.MASKED_INTEGER, value, mask, fmt)
    assert tok.const() == IntConst(value, mask, fmt)


def test_strings_use_json_syntax() -> None:
    tok = one(r'"lp\"1\u00e9\\"')
    assert tok.kind is K.STRING and tok.value == 'lp"1é\\'
    assert one('""').value == ""


def test_address_sets_and_port_groups() -> None:
    a, b, _ = tokenize("$as_ip4 @pg_1.x")
    assert (a.kind, a.value, a.offset) == (K.MACRO, "as_ip4", 0)
    assert (b.kind, b.value, b.offset) == (K.PORT_GROUP, "pg_1.x", 8)


def test_operators_longest_match() -> None:
    text = "== != < <= > >= ! && || = <-> -> ( ) { } [ ] , ; .. -- :"
    assert kinds(text) == [
        K.EQ, K.NE, K.LT, K.LE, K.GT, K.GE, K.LOG_NOT, K.LOG_AND, K.LOG_OR, K.EQUALS,
        K.EXCHANGE, K.ARROW, K.LPAREN, K.RPAREN, K.LCURLY, K.RCURLY, K.LSQUARE, K.RSQUARE,
        K.COMMA, K.SEMICOLON, K.ELLIPSIS, K.DECREMENT, K.COLON,
    ]  # fmt: skip
    assert kinds("a<->b") == [K.ID, K.EXCHANGE, K.ID]
    assert kinds("!a!=1") == [K.LOG_NOT, K.ID, K.NE, K.INTEGER]


def test_subfield_range_is_not_an_address() -> None:
    assert kinds("reg0[0..15]") == [K.ID, K.LSQUARE, K.INTEGER, K.ELLIPSIS, K.INTEGER, K.RSQUARE]


def test_ipv4_with_port_and_bracketed_ipv6() -> None:
    assert kinds("10.0.0.1:80") == [K.INTEGER, K.COLON, K.INTEGER]
    assert kinds("[fe80::1]:80") == [K.LSQUARE, K.INTEGER, K.RSQUARE, K.COLON, K.INTEGER]


def test_hex_letters_start_identifiers_unless_address() -> None:
    assert kinds("drop; dead; de:ad:be:ef:00:01 dead::beef") == [
        K.ID, K.SEMICOLON, K.ID, K.SEMICOLON, K.INTEGER, K.INTEGER
    ]  # fmt: skip


def test_offsets_and_comments() -> None:
    tokens = tokenize('inport == "lp1" // trailing\n && /* inline */ ip4')
    assert [(t.kind, t.offset) for t in tokens] == [
        (K.ID, 0), (K.EQ, 7), (K.STRING, 10), (K.LOG_AND, 29), (K.ID, 45), (K.END, 48)
    ]  # fmt: skip
    assert tokens[2].text == '"lp1"'


def test_empty_and_blank() -> None:
    assert kinds("") == [] and kinds("  // nothing\n /* */ ") == []


@pytest.mark.parametrize(
    ("text", "pos", "words"),
    [
        ("ip4 & tcp", 4, "Invalid character `&'"),
        ("a | b", 2, "Invalid character `|'"),
        ("x # y", 2, "Invalid character `#'"),
        ('inport == "lp1', 10, "Unterminated string"),
        ('"bad \\q escape"', 0, "Invalid escape"),
        ("ip4 /* open", 4, "Unterminated comment"),
        ("1.2.3.4.5", 0, "Invalid numeric constant"),
        ("12ab", 0, "Invalid numeric constant"),
        ("256.1.1.1", 0, "Invalid numeric constant"),
        ("00:00:00:00:00:00:01", 0, "Invalid numeric constant"),
        ("10.0.0.1/33", 9, "Prefix length 33"),
        ("10.0.0.1/24", 0, "unmasked 1-bits"),
        ("0x7/0x3", 0, "unmasked 1-bits"),
        ("ip4 && $ ", 7, "must be followed by a name"),
        ("- 1", 0, "Invalid character `-'"),
    ],
)
def test_errors_name_position(text: str, pos: int, words: str) -> None:
    with pytest.raises(LexError) as info:
        tokenize(text)
    assert info.value.pos == pos
    assert words in str(info.value)
    assert f"offset {pos}" in str(info.value)


def test_parse_constant() -> None:
    assert parse_constant("10.0.0.0/8") == IntConst(0x0A000000, 0xFF000000, IntFormat.IPV4)
    with pytest.raises(LexError):
        parse_constant("10.0.0.1 10.0.0.2")
    with pytest.raises(LexError):
        parse_constant('"x"')


@given(st.integers(0, (1 << 32) - 1), st.integers(0, 32))
def test_ipv4_prefix_roundtrip(addr: int, prefix: int) -> None:
    mask = ((1 << prefix) - 1) << (32 - prefix)
    text = f"{ipaddress.IPv4Address(addr & mask)}/{prefix}"
    tok = one(text)
    assert tok.value == addr & mask and tok.mask == mask
    assert tok.const().format() == text


@given(st.integers(0, (1 << 128) - 1))
def test_ipv6_roundtrip(addr: int) -> None:
    text = str(ipaddress.IPv6Address(addr))
    tok = one(text)
    assert (tok.value, tok.fmt) == (addr, IntFormat.IPV6)
    assert tok.const().format() == text


@given(st.integers(0, (1 << 48) - 1))
def test_mac_roundtrip(addr: int) -> None:
    text = IntConst(addr, None, IntFormat.ETHERNET).format()
    assert one(text).value == addr
