//! Telling clients apart: the address a request came from, as the serving code knows it, and
//! behind trusted proxies the one they forwarded. Used for the client's share of the memory
//! budget ([`MemoryBudget`](crate::MemoryBudget)).

use std::net::{IpAddr, SocketAddr};

use meetingbaas_webhooks::HeaderLookup;

/// The address of the peer that sent a request, as a request extension (`http::Extensions`):
/// the serving crate (`meetingbaas-webhooks-server`) inserts it into every request, and the
/// tower adapter reads it (or axum's `ConnectInfo<SocketAddr>`) to pass to
/// [`Pipeline::read_from`](crate::Pipeline::read_from). Insert it yourself when you serve with
/// your own loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// The header a proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// The client of a request from `peer`: `peer` itself, unless it is one of `proxies`; then the
/// last address of `X-Forwarded-For` that is not a trusted proxy (each proxy appends the
/// address it was reached from, so what lies left of the first untrusted one was written by the
/// client and proves nothing). A header that cannot be read leaves `peer`.
pub(crate) fn resolve<H: HeaderLookup + ?Sized>(
    peer: IpAddr,
    headers: &H,
    proxies: &[IpAddr],
) -> IpAddr {
    if !proxies.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    // Every value of the header, joined in order, read from the right.
    let values: Vec<&[u8]> = headers.header_values(FORWARDED_FOR).collect();
    for value in values.iter().rev() {
        let Ok(text) = std::str::from_utf8(value) else {
            return client;
        };
        for entry in text.rsplit(',') {
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                return client;
            };
            client = address;
            if !proxies.contains(&address) {
                return address;
            }
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_peer_unless_it_is_a_trusted_proxy() {
        let proxies = [ip("10.0.0.1"), ip("10.0.0.2")];
        let forwarded = [(FORWARDED_FOR, "203.0.113.9, 198.51.100.7, 10.0.0.2")];
        // Not through a trusted proxy: the header is the client's own word, ignored.
        assert_eq!(
            resolve(ip("192.0.2.1"), &forwarded, &proxies),
            ip("192.0.2.1")
        );
        // Through two trusted proxies: the first untrusted address from the right.
        assert_eq!(
            resolve(ip("10.0.0.1"), &forwarded, &proxies),
            ip("198.51.100.7")
        );
        // No header, or one that cannot be read: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.1"), &[("accept", "*/*")], &proxies),
            ip("10.0.0.1")
        );
        let broken = [(FORWARDED_FOR, "not an address, 10.0.0.2")];
        assert_eq!(resolve(ip("10.0.0.1"), &broken, &proxies), ip("10.0.0.2"));
        // Repeated headers read as one list, in order.
        let repeated = [(FORWARDED_FOR, "203.0.113.9"), (FORWARDED_FOR, "10.0.0.2")];
        assert_eq!(
            resolve(ip("10.0.0.1"), &repeated, &proxies),
            ip("203.0.113.9")
        );
        // No proxies named: never read.
        assert_eq!(resolve(ip("10.0.0.1"), &forwarded, &[]), ip("10.0.0.1"));
    }
}
