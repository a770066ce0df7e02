//! `cidrmatch(cidr, ip)` (Search Reference, Comparison and Conditional functions): whether an
//! IPv4 or IPv6 address is in a subnet written in CIDR notation. An address without a prefix
//! length is a subnet of one address; an address of the other family, or text that is not an
//! address, does not match [inferred].

use std::net::IpAddr;

/// A parsed subnet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cidr {
    net: IpAddr,
    bits: u32,
}

impl Cidr {
    pub(crate) fn parse(text: &str) -> Option<Cidr> {
        let (addr, bits) = match text.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u32>().ok()?)),
            None => (text, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(max);
        (bits <= max).then_some(Cidr { net, bits })
    }

    /// Whether the address `text` is in the subnet.
    pub(crate) fn contains(&self, text: &str) -> bool {
        let Ok(ip) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.bits).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.bits).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(cidr: &str, ip: &str) -> bool {
        Cidr::parse(cidr).is_some_and(|c| c.contains(ip))
    }

    #[test]
    fn examples_of_the_comparison_page() {
        assert!(!m("192.0.2.0/24", "192.0.3.0"));
        assert!(m("192.0.2.0/24", "192.0.2.56"));
        assert!(m(
            "2001:0db8:ffff:ffff:ffff:ffff:ffff:ff00/120",
            "2001:0db8:ffff:ffff:ffff:ffff:ffff:ff99"
        ));
        assert!(m("123.132.32.0/25", "123.132.32.127"));
        assert!(!m("123.132.32.0/25", "123.132.32.128"));
    }

    #[test]
    fn edges() {
        assert!(m("0.0.0.0/0", "8.8.8.8"));
        assert!(m("10.1.2.3", "10.1.2.3"));
        assert!(!m("10.1.2.3", "10.1.2.4"));
        assert!(!m("10.0.0.0/8", "::1"));
        assert!(!m("10.0.0.0/33", "10.0.0.1"));
        assert!(!m("10.0.0.0/8", "not an ip"));
    }
}
