//! Server-rendered HTML pages for people with browsers: the landing page and
//! profiles. They show only what is public.

pub mod images;
pub mod profile;

use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use axum::Router;

use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/", get(home))
        .route("/@{username}", get(profile::profile))
        .route("/avatars/original/missing.png", get(images::missing_avatar))
        .route("/headers/original/missing.png", get(images::missing_header))
        .route("/images/preview.png", get(images::instance_thumbnail))
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Wraps a page body in the shared layout.
pub fn layout(title: &str, head: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n{head}\n<style>\n\
         body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}\n\
         .handle {{ color: #666; }}\n\
         </style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    ))
}

async fn home(State(app): State<App>) -> Html<String> {
    let domain = escape(app.urls.domain());
    layout(
        &format!("{} · Fulmar", app.urls.domain()),
        "",
        &format!(
            "<h1>{domain}</h1>\n<p>A <a href=\"https://joinfediverse.wiki/\">fediverse</a> server running Fulmar {}. \
             Sign in with any Mastodon app.</p>",
            env!("CARGO_PKG_VERSION")
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
