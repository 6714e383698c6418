//! The page shells and their static assets, compiled into the binary.
//!
//! The shells hold no store data at all: the script fetches everything from the JSON API and
//! shows it as text. The only value written into them is the `<base>` the relative links
//! resolve against, so the router works when nested under any prefix.

use axum::extract::OriginalUri;
use axum::http::{header, Uri};
use axum::response::{Html, IntoResponse, Response};

use super::escape::xml;

const LIST: &str = include_str!("assets/list.html");
const ACTOR: &str = include_str!("assets/actor.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// The path the router is mounted at, without a trailing slash (empty at the root): the
/// original path minus the part the (possibly nested) router saw.
fn prefix<'a>(original: &'a Uri, inner: &Uri) -> &'a str {
    let (original, inner) = (original.path(), inner.path());
    if inner == "/" {
        original.trim_end_matches('/')
    } else {
        original.strip_suffix(inner).unwrap_or("")
    }
}

/// What relative links resolve against: the mount path with a trailing slash.
fn base(original: &Uri, inner: &Uri) -> String {
    format!("{}/", prefix(original, inner))
}

/// The list page: the mount path itself. Under `nest("/inspect", ..)` that is `/inspect`;
/// axum does not route `/inspect/` into the nested router, so a relative `./` would not do.
fn home(original: &Uri, inner: &Uri) -> String {
    match prefix(original, inner) {
        "" => "/".to_owned(),
        prefix => prefix.to_owned(),
    }
}

fn page(template: &str, original: &Uri, inner: &Uri) -> Html<String> {
    Html(
        template
            .replace("{{base}}", &xml(&base(original, inner)))
            .replace("{{home}}", &xml(&home(original, inner))),
    )
}

pub(crate) async fn list_page(OriginalUri(original): OriginalUri, inner: Uri) -> Html<String> {
    page(LIST, &original, &inner)
}

pub(crate) async fn actor_page(OriginalUri(original): OriginalUri, inner: Uri) -> Html<String> {
    page(ACTOR, &original, &inner)
}

pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

pub(crate) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_is_the_mount_point() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert_eq!(base(&uri("/actor"), &uri("/actor")), "/");
        assert_eq!(base(&uri("/inspect/actor"), &uri("/actor")), "/inspect/");
        assert_eq!(base(&uri("/inspect"), &uri("/")), "/inspect/");
        assert_eq!(base(&uri("/inspect/"), &uri("/")), "/inspect/");
    }

    #[test]
    fn the_home_link_is_the_mount_point_itself() {
        let uri = |text: &str| text.parse::<Uri>().unwrap();
        assert_eq!(home(&uri("/actor"), &uri("/actor")), "/");
        assert_eq!(home(&uri("/"), &uri("/")), "/");
        assert_eq!(home(&uri("/inspect/actor"), &uri("/actor")), "/inspect");
        assert_eq!(home(&uri("/inspect"), &uri("/")), "/inspect");
    }
}
