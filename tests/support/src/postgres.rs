//! The Postgres server of the tests.
//!
//! Tests read the server's URL from `MACHINE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and keep their data in a schema of their own, so
//! they run in parallel and repeatedly. Without a server they print that they were skipped and
//! pass, except under `CI=true`, where a missing service is a failure.

use std::sync::atomic::{AtomicU64, Ordering};

/// The URL of the test server.
pub fn url() -> String {
    std::env::var("MACHINE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether this run is CI (`CI=true`), where a missing service fails the test.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// Reports that the server at [`url`] is unreachable: a skip, or under CI a failure.
///
/// # Panics
///
/// Under `CI=true`, always: a missing service is a failure there.
pub fn unavailable(test: &str, error: &dyn std::fmt::Display) {
    assert!(
        !is_ci(),
        "{test}: Postgres at {} is unreachable and CI=true requires it: {error}",
        url()
    );
    eprintln!(
        "skipped: {test}: Postgres at {} is unreachable: {error}",
        url()
    );
}

/// A schema name no other test run uses: `prefix`, the process id and a counter.
pub fn fresh_schema(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The URL of the test server with its host and port replaced by `addr` (to go through a
/// proxy).
pub fn url_via(addr: std::net::SocketAddr) -> String {
    let url = url();
    let Some((scheme, rest)) = url.split_once("://") else {
        return url;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority.rsplit_once('@').map(|(user, _)| user);
    match user {
        Some(user) => format!("{scheme}://{user}@{addr}/{path}"),
        None => format!("{scheme}://{addr}/{path}"),
    }
}

/// The host and port of the test server.
pub fn server_addr() -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let url = url();
    let rest = url.split_once("://")?.1;
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    host.to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_are_fresh_and_urls_rewrite() {
        assert_ne!(fresh_schema("t"), fresh_schema("t"));
        let addr: std::net::SocketAddr = "127.0.0.1:6000".parse().unwrap();
        assert!(url_via(addr).contains("@127.0.0.1:6000/"));
    }
}
