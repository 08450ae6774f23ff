//! Per-source-address limits on the public operations that send or check one-time codes
//! (SignUp, ResendConfirmationCode, ForgotPassword and their confirmations): a fixed window per
//! address and minute, in this edge process. The per-user limits live with the codes in the
//! directory; this one stops one address from spraying codes over many names.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The operations an address is limited on, all counted together.
const LIMITED: [&str; 5] = [
    "SignUp",
    "ResendConfirmationCode",
    "ForgotPassword",
    "ConfirmSignUp",
    "ConfirmForgotPassword",
];

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered before windows that have ended are swept.
const SWEEP_ABOVE: usize = 100_000;

#[derive(Debug)]
pub struct AddressLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl AddressLimiter {
    /// `per_minute` requests per address and minute; 0 turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// Whether a request for `operation` from `address` at `now` is within the limit (and
    /// counts it).
    pub fn admits(&self, operation: &str, address: Option<IpAddr>, now: Instant) -> bool {
        let (Some(address), true) = (address, self.per_minute > 0 && LIMITED.contains(&operation))
        else {
            return true;
        };
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= SWEEP_ABOVE {
            windows.retain(|_, (started, _)| now.duration_since(*started) < WINDOW);
        }
        let window = windows.entry(address).or_insert((now, 0));
        if now.duration_since(window.0) >= WINDOW {
            *window = (now, 0);
        }
        if window.1 >= self.per_minute {
            return false;
        }
        window.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_requests_a_minute_and_no_more() {
        let limiter = AddressLimiter::new(3);
        let start = Instant::now();
        let one = Some(IpAddr::from([192, 0, 2, 1]));
        let other = Some(IpAddr::from([192, 0, 2, 2]));
        for operation in ["SignUp", "ForgotPassword", "ConfirmSignUp"] {
            assert!(limiter.admits(operation, one, start));
        }
        assert!(!limiter.admits("ResendConfirmationCode", one, start));
        assert!(
            limiter.admits("InitiateAuth", one, start),
            "not a code operation"
        );
        assert!(limiter.admits("SignUp", other, start), "another address");
        assert!(
            limiter.admits("SignUp", one, start + WINDOW),
            "a new minute"
        );
        assert!(AddressLimiter::new(0).admits("SignUp", one, start), "off");
    }
}
