//! Per-source-address limits on the public operations that send or check one-time codes
//! (SignUp, ResendConfirmationCode, ForgotPassword and their confirmations): a fixed window per
//! address and minute, counted in the ephemeral store, so with Redis every edge replica shares
//! one count. The per-user limits live with the codes in the directory; this one stops one
//! address from spraying codes over many names.
//!
//! The address is the connection's peer, unless that peer is a trusted proxy
//! (`trusted_proxies`): then it is the nearest address in `X-Forwarded-For` that is not one.
//! An IPv6 client is counted by its /64, the block one subscriber is usually given, so it can't
//! pass the limit by moving through its own addresses.

use std::net::IpAddr;
use std::time::Duration;

use axum::http::HeaderMap;
use ipnet::IpNet;

use cognate_common::CognitoResult;
use cognate_common::ephemeral::{Ephemeral, Kind};

/// The operations an address is limited on, all counted together.
const LIMITED: [&str; 5] = [
    "SignUp",
    "ResendConfirmationCode",
    "ForgotPassword",
    "ConfirmSignUp",
    "ConfirmForgotPassword",
];

const WINDOW: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct AddressLimiter {
    per_minute: u32,
    trusted_proxies: Vec<IpNet>,
    counts: Ephemeral,
}

impl AddressLimiter {
    /// `per_minute` requests per address and minute (0 turns the limit off), counted in
    /// `counts`; requests through `trusted_proxies` count against their forwarded address.
    pub fn new(per_minute: u32, trusted_proxies: Vec<IpNet>, counts: Ephemeral) -> Self {
        Self {
            per_minute,
            trusted_proxies,
            counts,
        }
    }

    /// Whether a request for `operation` from `peer` (the connection's other end) is within
    /// the limit, and counts it.
    pub async fn admits(
        &self,
        operation: &str,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> CognitoResult<bool> {
        let (Some(peer), true) = (peer, self.per_minute > 0 && LIMITED.contains(&operation)) else {
            return Ok(true);
        };
        let counted = counted_as(self.client_address(peer, headers));
        let count = self
            .counts
            .count(Kind::AddressWindow, &counted, WINDOW)
            .await?;
        Ok(count <= u64::from(self.per_minute))
    }

    fn trusted(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.trusted_proxies
            .iter()
            .any(|proxy| proxy.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then, reading
    /// `X-Forwarded-For` from the right (each proxy appends the address it was reached from),
    /// the first address that is not a trusted proxy. Addresses a client wrote itself sit to
    /// the left of that one and are never reached; a header that is missing or unreadable
    /// leaves the proxy's own address.
    fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for hop in forwarded.into_iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(address) if self.trusted(address) => client = address,
                Ok(address) => return address,
                Err(_) => return client,
            }
        }
        client
    }
}

/// What an address is counted as: an IPv4 address itself, an IPv6 one by its /64.
fn counted_as(address: IpAddr) -> String {
    match address.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !u128::from(u64::MAX);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().expect("a header value"));
        }
        headers
    }

    #[tokio::test]
    async fn an_address_gets_its_requests_a_minute_and_no_more() {
        let limiter = AddressLimiter::new(3, Vec::new(), Ephemeral::memory());
        let none = HeaderMap::new();
        let one = Some(IpAddr::from([192, 0, 2, 1]));
        let other = Some(IpAddr::from([192, 0, 2, 2]));
        let admits = |operation: &'static str, address: Option<IpAddr>| {
            let (limiter, none) = (&limiter, &none);
            async move {
                limiter
                    .admits(operation, address, none)
                    .await
                    .expect("counted")
            }
        };
        for operation in ["SignUp", "ForgotPassword", "ConfirmSignUp"] {
            assert!(admits(operation, one).await);
        }
        assert!(!admits("ResendConfirmationCode", one).await);
        assert!(admits("InitiateAuth", one).await, "not a code operation");
        assert!(admits("SignUp", other).await, "another address");
        let off = AddressLimiter::new(0, Vec::new(), Ephemeral::memory());
        for _ in 0..5 {
            assert!(off.admits("SignUp", one, &none).await.expect("counted"));
        }
    }

    /// Through a trusted proxy the forwarded client counts, so clients behind one load
    /// balancer don't share a limit; a client can't pick its own address by writing the
    /// header, and an untrusted peer's header is ignored.
    #[test]
    fn the_client_behind_trusted_proxies_is_the_one_counted() {
        let proxies = vec![
            "10.0.0.0/8".parse().expect("a network"),
            "2001:db8::1/128".parse().expect("a network"),
        ];
        let limiter = AddressLimiter::new(3, proxies, Ephemeral::memory());
        let proxy = IpAddr::from([10, 1, 2, 3]);
        let client: IpAddr = "198.51.100.7".parse().expect("an address");
        let address = |peer: IpAddr, headers: &[&str]| -> String {
            limiter
                .client_address(peer, &forwarded(headers))
                .to_string()
        };
        assert_eq!(address(proxy, &["198.51.100.7"]), "198.51.100.7");
        // A forged left-most entry is passed over: the proxy appended the real one.
        assert_eq!(
            address(proxy, &["203.0.113.9, 198.51.100.7"]),
            "198.51.100.7"
        );
        // Two proxies, the header split over two lines.
        assert_eq!(
            address(proxy, &["203.0.113.9, 198.51.100.7", "10.9.9.9"]),
            "198.51.100.7"
        );
        assert_eq!(address(proxy, &[]), "10.1.2.3", "no header: the proxy");
        assert_eq!(address(proxy, &["not an address"]), "10.1.2.3");
        assert_eq!(
            address(client, &["203.0.113.9"]),
            "198.51.100.7",
            "an untrusted peer's header is not read"
        );
        let ipv6_proxy: IpAddr = "2001:db8::1".parse().expect("an address");
        assert_eq!(address(ipv6_proxy, &["2001:db8::42"]), "2001:db8::42");
        // An IPv4 peer seen on a dual-stack socket is matched as IPv4.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().expect("an address");
        assert_eq!(address(mapped, &["198.51.100.7"]), "198.51.100.7");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let address = |text: &str| counted_as(text.parse().expect("an address"));
        assert_eq!(address("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(address("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_ne!(address("2001:db8:1:3::1"), "2001:db8:1:2::/64");
        assert_eq!(address("198.51.100.7"), "198.51.100.7");
        assert_eq!(address("::ffff:198.51.100.7"), "198.51.100.7");
    }

    /// With Redis, two edge processes share one count per address.
    #[tokio::test]
    async fn replicas_share_the_count_through_redis() {
        let url = std::env::var("COGNATE_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let client = redis::Client::open(url).expect("a Redis URL");
        let connection = redis::aio::ConnectionManager::new(client)
            .await
            .expect("Redis is running");
        let replicas = [(), ()]
            .map(|()| AddressLimiter::new(4, Vec::new(), Ephemeral::Redis(connection.clone())));
        // A documentation address of its own per run, so earlier runs' counts don't matter.
        let random = u128::from(uuid::Uuid::new_v4().as_u64_pair().0 >> 32);
        let address = Some(IpAddr::from(std::net::Ipv6Addr::from(
            (0x2001_0db8_u128 << 96) | (random << 64),
        )));
        let none = HeaderMap::new();
        let mut admitted = 0;
        for round in 0..4 {
            for replica in &replicas {
                if replica
                    .admits("SignUp", address, &none)
                    .await
                    .expect("counted")
                {
                    admitted += 1;
                }
            }
            assert!(admitted <= 4, "round {round}");
        }
        assert_eq!(admitted, 4);
    }
}
