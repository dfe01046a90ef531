//! `GET /.well-known/host-meta` (RFC 6415): the XRD that points older software at the
//! WebFinger endpoint.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::App;

pub async fn host_meta(State(app): State<App>) -> impl IntoResponse {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}/.well-known/webfinger?resource={{uri}}\"/>\n\
         </XRD>\n",
        app.urls.base()
    );
    (
        [(header::CONTENT_TYPE, "application/xrd+xml; charset=utf-8")],
        body,
    )
}
