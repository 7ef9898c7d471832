//! Which IP addresses count as "public", and resolver-style IPv4 parsing.
//!
//! An allow-list approach: IPv4 is public unless it falls in a special-purpose block;
//! IPv6 is public only inside global unicast `2000::/3` minus its special blocks. IPv6
//! forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by the
//! embedded IPv4 address, because that is where the packets end up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 blocks that are never reachable as a public upstream (IANA special-purpose registry).
const V4_BLOCKED: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // 0.0.0.0/8 "this network"; Linux connects 0.0.0.0 to localhost
    (0x0A00_0000, 8),  // 10/8 private
    (0x6440_0000, 10), // 100.64/10 CGNAT
    (0x7F00_0000, 8),  // 127/8 loopback
    (0xA9FE_0000, 16), // 169.254/16 link-local (cloud metadata lives here)
    (0xAC10_0000, 12), // 172.16/12 private
    (0xC000_0000, 24), // 192.0.0/24 IETF protocol assignments
    (0xC000_0200, 24), // 192.0.2/24 TEST-NET-1
    (0xC058_6300, 24), // 192.88.99/24 6to4 relay anycast
    (0xC0A8_0000, 16), // 192.168/16 private
    (0xC612_0000, 15), // 198.18/15 benchmarking
    (0xC633_6400, 24), // 198.51.100/24 TEST-NET-2
    (0xCB00_7100, 24), // 203.0.113/24 TEST-NET-3
    (0xE000_0000, 4),  // 224/4 multicast
    (0xF000_0000, 4),  // 240/4 reserved, includes 255.255.255.255 broadcast
];

/// Special-purpose blocks inside `2000::/3` that are not ordinary public hosts.
const V6_BLOCKED_GLOBAL: &[(u128, u8)] = &[
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // IETF protocol assignments, Teredo
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation
    (0x3fff_0000_0000_0000_0000_0000_0000_0000, 20), // documentation (RFC 9637)
];

fn in_block(value: u128, base: u128, prefix: u8, bits: u8) -> bool {
    let shift = u32::from(bits - prefix);
    value.checked_shr(shift) == base.checked_shr(shift)
}

/// True when `ip` is an ordinary public unicast address.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_ipv4(v4),
        IpAddr::V6(v6) => is_public_ipv6(v6),
    }
}

/// True when `ip` is outside every special-purpose IPv4 block.
pub fn is_public_ipv4(ip: Ipv4Addr) -> bool {
    let value = u128::from(u32::from(ip));
    !V4_BLOCKED
        .iter()
        .any(|&(base, prefix)| in_block(value, u128::from(base), prefix, 32))
}

/// True when `ip` is global unicast IPv6 (or embeds a public IPv4 address).
pub fn is_public_ipv6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(ip) {
        return is_public_ipv4(v4);
    }
    let value = u128::from(ip);
    // Only 2000::/3 is allocated for global unicast: this rules out ::/8 (loopback,
    // unspecified, compat), 64:ff9b:1::/48, 100::/64, fc00::/7 ULA, fe80::/10
    // link-local, fec0::/10 site-local and ff00::/8 multicast in one step.
    let global_unicast = in_block(value, 0x2 << 124, 3, 128);
    global_unicast
        && !V6_BLOCKED_GLOBAL
            .iter()
            .any(|&(base, prefix)| in_block(value, base, prefix, 128))
}

/// The IPv4 address an IPv6 address stands for, if it is one of the translated forms:
/// IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
/// or 6to4 `2002:aabb:ccdd::/48`.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let value = u128::from(ip);
    let low32 = Ipv4Addr::from((value & 0xffff_ffff) as u32);
    if value >> 32 == 0xffff {
        return Some(low32); // ::ffff:0:0/96
    }
    if value >> 32 == 0 {
        // ::/96 (deprecated compatible form); :: and ::1 map to 0.0.0.0 / 0.0.0.1,
        // which are refused as "this network" anyway.
        return Some(low32);
    }
    if value >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low32); // 64:ff9b::/96
    }
    if value >> 112 == 0x2002 {
        return Some(Ipv4Addr::from(((value >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// Parses IPv4 the way `inet_aton`/getaddrinfo do: one to four parts, each decimal,
/// octal (leading `0`) or hex (`0x`), the last part filling the remaining bytes.
/// So `2130706433`, `0x7f.1`, `017700000001` and `127.1` all mean 127.0.0.1.
/// A single trailing dot is accepted, as resolvers do.
pub fn parse_ipv4_lenient(text: &str) -> Option<Ipv4Addr> {
    let text = text.strip_suffix('.').unwrap_or(text);
    if text.is_empty() {
        return None;
    }
    let parts = text
        .split('.')
        .map(parse_ipv4_part)
        .collect::<Option<Vec<u64>>>()?;
    let (last, leading) = parts.split_last()?;
    if leading.len() > 3 || leading.iter().any(|&p| p > 0xff) {
        return None;
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut value: u64 = 0;
    for (i, part) in leading.iter().enumerate() {
        value |= part << (24 - 8 * i as u32);
    }
    u32::try_from(value | last).ok().map(Ipv4Addr::from)
}

fn parse_ipv4_part(part: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // "0x" alone is 0 for inet_aton; an empty part ("1..2") is invalid.
        return (radix == 16).then_some(0);
    }
    if digits.len() > 12 || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Parses a URL/DNS host as an IP address: bracketed or bare IPv6, dotted IPv4, and the
/// lenient IPv4 spellings. `None` means it is a name that needs resolving.
pub fn parse_host_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(ip);
    }
    parse_ipv4_lenient(bare).map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn refuses_every_non_public_ipv4_block() {
        for text in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.0.0.2",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public_ip(ip(text)), "{text} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv4() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert!(is_public_ip(ip(text)), "{text} is public");
        }
    }

    #[test]
    fn refuses_non_public_ipv6_and_translated_forms() {
        for text in [
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:7f00:2",
            "::ffff:10.0.0.1",
            "::127.0.0.2",
            "::169.254.169.254",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:0001::",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "100::1",
            "2001:db8::1",
            "2001::1",
            "3fff::1",
            "5f00::1",
        ] {
            assert!(!is_public_ip(ip(text)), "{text} must be refused");
        }
    }

    #[test]
    fn accepts_public_ipv6_and_translated_public_ipv4() {
        for text in [
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert!(is_public_ip(ip(text)), "{text} is public");
        }
    }

    #[test]
    fn parses_resolver_style_ipv4_spellings() {
        let loopback = Some(Ipv4Addr::new(127, 0, 0, 1));
        for text in [
            "127.0.0.1",
            "2130706433",
            "0x7f000001",
            "0X7F000001",
            "017700000001",
            "0x7f.1",
            "0177.0.0.1",
            "127.1",
            "127.0.1",
            "0x7f.0.0.0x1",
            "127.0.0.1.",
        ] {
            assert_eq!(parse_ipv4_lenient(text), loopback, "{text}");
        }
        assert_eq!(parse_ipv4_lenient("0"), Some(Ipv4Addr::UNSPECIFIED));
        assert_eq!(parse_ipv4_lenient("0x"), Some(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn rejects_things_that_are_not_ipv4() {
        for text in [
            "",
            ".",
            "1..2",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.256",
            "4294967296",
            "08.0.0.1",
            "0x1g",
            "example.com",
            "1.2.3.-4",
            "+1.2.3.4",
            " 1.2.3.4",
        ] {
            assert_eq!(parse_ipv4_lenient(text), None, "{text:?}");
        }
    }

    #[test]
    fn host_ip_handles_brackets_and_names() {
        assert_eq!(parse_host_ip("[::1]"), Some(ip("::1")));
        assert_eq!(parse_host_ip("::1"), Some(ip("::1")));
        assert_eq!(parse_host_ip("0x7f.1"), Some(ip("127.0.0.1")));
        assert_eq!(parse_host_ip("api.openai.com"), None);
    }
}
