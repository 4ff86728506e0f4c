//! `switchboard healthcheck`: asks a running Switchboard for `/healthz` and exits 0 when it
//! answers 200.
//!
//! Container images use it as their `HEALTHCHECK`, so the runtime image needs no curl or
//! wget. It reads the same configuration as `serve`, so it probes the address the server
//! listens on; an unspecified bind address (`0.0.0.0`, `::`) is probed on loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::config::ServerSettings;

/// Why the probe failed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No answer (refused, timed out …).
    #[error("{url}: no answer: {source}")]
    Unreachable {
        /// The URL probed.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// An answer other than 200.
    #[error("{url}: answered {status}")]
    Unhealthy {
        /// The URL probed.
        url: String,
        /// The status received.
        status: reqwest::StatusCode,
    },
}

/// The URL of `/healthz` on the address `server` listens on.
pub fn healthz_url(server: &ServerSettings) -> String {
    let addr = probe_address(server.listen);
    format!("http://{addr}/healthz")
}

fn probe_address(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// GETs `url` with a short timeout; `Ok` on 200.
pub async fn probe(url: &str, timeout: Duration) -> Result<(), ProbeError> {
    let unreachable = |source| ProbeError::Unreachable {
        url: url.to_owned(),
        source,
    };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(unreachable)?;
    let response = client.get(url).send().await.map_err(unreachable)?;
    if response.status() == reqwest::StatusCode::OK {
        Ok(())
    } else {
        Err(ProbeError::Unhealthy {
            url: url.to_owned(),
            status: response.status(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_bind_address_is_probed_on_loopback() {
        let v4: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert_eq!(probe_address(v4), "127.0.0.1:3000".parse().unwrap());
        let v6: SocketAddr = "[::]:3000".parse().unwrap();
        assert_eq!(probe_address(v6), "[::1]:3000".parse().unwrap());
        let fixed: SocketAddr = "10.1.2.3:8080".parse().unwrap();
        assert_eq!(probe_address(fixed), fixed);
    }
}
