"""An independent checker for the tests: walks frame bytes by hand (no pyovn code) and checks
every IPv4 header and ICMP/ICMPv6/UDP/TCP checksum and length."""

from __future__ import annotations


def ones_sum(data: bytes) -> int:
    """One's complement sum of 16-bit words, by the modulo-65535 identity (not by carry folding)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(data[i] * 256 + data[i + 1] for i in range(0, len(data), 2))
    if total == 0:
        return 0
    return total % 0xFFFF or 0xFFFF


def sums_ok(*parts: bytes) -> bool:
    return ones_sum(b"".join(parts)) == 0xFFFF


def check_frame(frame: bytes) -> list[str]:
    """The checks that hold for ``frame``, e.g. ``["ip4-header", "udp"]``; AssertionError if one
    fails."""
    eth_type = frame[12] * 256 + frame[13]
    off = 14
    if eth_type == 0x8100:
        eth_type = frame[16] * 256 + frame[17]
        off = 18
    done: list[str] = []
    if eth_type == 0x0800:
        ip = frame[off:]
        ihl = (ip[0] & 15) * 4
        total = ip[2] * 256 + ip[3]
        assert ip[0] >> 4 == 4
        assert sums_ok(ip[:ihl]), "IPv4 header checksum"
        done.append("ip4-header")
        if ip[6] & 0x20 or (ip[6] & 0x1F) or ip[7]:
            return done  # a fragment
        proto, seg = ip[9], ip[ihl:total]
        pseudo = ip[12:20] + bytes([0, proto]) + len(seg).to_bytes(2, "big")
        if proto == 1:
            assert sums_ok(seg), "ICMP checksum"
            done.append("icmp4")
            return done
    elif eth_type == 0x86DD:
        ip = frame[off:]
        plen = ip[4] * 256 + ip[5]
        proto, seg = ip[6], ip[40 : 40 + plen]
        pseudo = ip[8:40] + len(seg).to_bytes(4, "big") + bytes([0, 0, 0, proto])
        if proto == 58:
            assert sums_ok(pseudo, seg), "ICMPv6 checksum"
            done.append("icmp6")
            return done
    else:
        return done
    if proto == 17:
        assert seg[4] * 256 + seg[5] == len(seg), "UDP length"
        if seg[6:8] != b"\x00\x00":
            assert sums_ok(pseudo, seg), "UDP checksum"
        done.append("udp")
    elif proto == 6:
        assert sums_ok(pseudo, seg), "TCP checksum"
        done.append("tcp")
    return done
