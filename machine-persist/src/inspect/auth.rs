//! Who may read the inspector, and what every response carries.

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::Shared;

/// The cookie a browser keeps the token in.
const COOKIE: &str = "machine_inspector_token";

/// The header every state-changing request must carry. A browser sends a custom header only
/// after a CORS preflight, which the inspector never answers, so another site cannot make a
/// visitor's browser rewind an actor.
pub(crate) const ACTION_HEADER: &str = "x-machine-inspector";

/// Equal, in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn cookie(request: &Request) -> Option<&str> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// The query's key-value pairs (none when it does not parse).
fn pairs(uri: &Uri) -> Vec<(String, String)> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(pairs)| pairs)
        .unwrap_or_default()
}

/// The `token` query parameter, if the URL carries one.
fn query_token(request: &Request) -> Option<String> {
    pairs(request.uri())
        .into_iter()
        .find_map(|(key, value)| (key == "token").then_some(value))
}

/// Checks the token (when one is configured) and the action header on POSTs.
pub(crate) async fn guard(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &shared.token {
        let presented = bearer(&request).or_else(|| cookie(&request));
        if !presented.is_some_and(|presented| same(presented.as_bytes(), token.as_bytes())) {
            // A browser opening `?token=…` trades it for a cookie and drops it from the URL.
            if let Some(offered) = query_token(&request) {
                if same(offered.as_bytes(), token.as_bytes()) {
                    return with_cookie(&request, token);
                }
            }
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "a bearer token is required",
            )
                .into_response();
        }
    }
    if request.method() == Method::POST && !request.headers().contains_key(ACTION_HEADER) {
        return (
            StatusCode::FORBIDDEN,
            format!("actions need the {ACTION_HEADER} header"),
        )
            .into_response();
    }
    next.run(request).await
}

fn with_cookie(request: &Request, token: &str) -> Response {
    let path = request.uri().path();
    let rest: Vec<(String, String)> = pairs(request.uri())
        .into_iter()
        .filter(|(key, _)| key != "token")
        .collect();
    let query = rest
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    // Relative to the current directory, so a nested router redirects within its prefix.
    let file = path.rsplit('/').next().unwrap_or_default();
    let target = match (file.is_empty(), query.is_empty()) {
        (true, true) => "./".to_owned(),
        (true, false) => format!("./?{query}"),
        (false, true) => format!("./{file}"),
        (false, false) => format!("./{file}?{query}"),
    };
    let mut response = Redirect::to(&target).into_response();
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        encode(token)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Percent-encodes everything but unreserved characters.
fn encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char)
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

/// Headers on every response: no sniffing, no framing, no referrer, and a content security
/// policy that only lets the inspector's own script and styles run.
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; base-uri 'self'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
