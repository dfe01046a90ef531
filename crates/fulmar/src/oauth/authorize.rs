//! `GET /oauth/authorize` and `POST /oauth/authorize`: the sign-in and consent page of
//! the authorization code flow (RFC 6749 section 4.1, PKCE per RFC 7636).
//!
//! The page is plain server-rendered HTML that works without JavaScript: the app's
//! name, what it asks for, a username-or-email and password form, and Authorize /
//! Deny buttons. Every request is checked twice, on display and on submission, since
//! the form's hidden fields come back from the browser.
//!
//! Errors follow RFC 6749 section 4.1.2.1: an unknown client or a redirect URI the app
//! did not register get an error page and never a redirect (that would make us an
//! open redirector); every later error is sent back to the app on its redirect URI.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fulmar_store::oauth::ApplicationRow;
use serde::Deserialize;

use super::grants::{self, NewCode};
use super::redirect_uri::{self, ResponseMode};
use super::{csrf, OOB};
use crate::core::scopes::Scopes;
use crate::http::ApiError;
use crate::mastodon::params::{flex, Params};
use crate::state::App;
use crate::web::{escape, layout};

#[derive(Debug, Default, Deserialize)]
pub struct AuthorizeParams {
    #[serde(default, deserialize_with = "flex::opt_string")]
    response_type: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    redirect_uri: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    scope: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    state: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    code_challenge: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    code_challenge_method: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    response_mode: Option<String>,
    // `force_login` and `lang` are accepted and ignored: there is no session to
    // reuse, and the page is in English only.
    // The form's own fields.
    #[serde(default, deserialize_with = "flex::opt_string")]
    authenticity_token: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    username: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    password: Option<String>,
    #[serde(default, deserialize_with = "flex::opt_string")]
    decision: Option<String>,
}

fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// A request whose client and redirect URI are known good: from here on, errors go
/// back to the app.
struct Target {
    app: ApplicationRow,
    redirect_uri: String,
    mode: ResponseMode,
    state: Option<String>,
}

/// A request that passed every check: what the page asks the user to allow.
struct Valid {
    target: Target,
    scopes: Scopes,
    code_challenge: Option<String>,
}

/// An OAuth error to send back to the app.
struct Refusal {
    error: &'static str,
    description: &'static str,
}

/// `GET /oauth/authorize`: the sign-in and consent page.
pub async fn show(
    State(app): State<App>,
    headers: HeaderMap,
    parsed: Result<Params<AuthorizeParams>, ApiError>,
) -> Response {
    let p = match parsed {
        Ok(Params(p)) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.error),
    };
    let target = match check_target(&app, &p).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let valid = match check_request(&target, &p) {
        Ok((scopes, code_challenge)) => Valid {
            target,
            scopes,
            code_challenge,
        },
        Err(refusal) => return refuse(&target, &refusal),
    };
    let token = csrf::token_for(&headers);
    form_page(&app, &valid, &token, StatusCode::OK, None, "")
}

/// `POST /oauth/authorize`: the form's answer.
pub async fn decide(
    State(app): State<App>,
    headers: HeaderMap,
    parsed: Result<Params<AuthorizeParams>, ApiError>,
) -> Response {
    let p = match parsed {
        Ok(Params(p)) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e.error),
    };
    let target = match check_target(&app, &p).await {
        Ok(t) => t,
        Err(res) => return res,
    };
    let valid = match check_request(&target, &p) {
        Ok((scopes, code_challenge)) => Valid {
            target,
            scopes,
            code_challenge,
        },
        Err(refusal) => return refuse(&target, &refusal),
    };
    let username = field(&p.username).unwrap_or_default();
    if !csrf::verify(&headers, p.authenticity_token.as_deref()) {
        // Nothing is decided without a matching token. A person whose cookie
        // expired simply gets the form again, with a fresh one.
        let token = csrf::token_for(&HeaderMap::new());
        return form_page(
            &app,
            &valid,
            &token,
            StatusCode::FORBIDDEN,
            Some("This form has expired or did not come from this site. Please sign in again."),
            username,
        );
    }
    let token = p.authenticity_token.as_deref().unwrap_or_default();
    if p.decision.as_deref() == Some("deny") {
        return refuse(
            &valid.target,
            &Refusal {
                error: "access_denied",
                description: "The resource owner or authorization server denied the request.",
            },
        );
    }
    let password = p.password.as_deref().unwrap_or_default();
    let user = match grants::check_login(&app.db, username, password).await {
        Ok(Some((user, _))) => user,
        Ok(None) => {
            return form_page(
                &app,
                &valid,
                token,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Wrong username, email address or password."),
                username,
            )
        }
        Err(e) => return internal(e),
    };
    let code = match grants::issue_code(
        &app.db,
        NewCode {
            application_id: valid.target.app.id,
            user_id: user.id,
            redirect_uri: &valid.target.redirect_uri,
            scopes: &valid.scopes,
            code_challenge: valid.code_challenge.as_deref(),
        },
    )
    .await
    {
        Ok(code) => code,
        Err(e) => return internal(e),
    };
    if valid.target.redirect_uri == OOB {
        return code_page(&valid.target.app, &code);
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &valid.target.state {
        params.push(("state", state));
    }
    send_back(&valid.target, &params)
}

/// The checks whose failure must not redirect: the client and the redirect URI.
async fn check_target(app: &App, p: &AuthorizeParams) -> Result<Target, Response> {
    let client = match field(&p.client_id) {
        Some(id) => grants::app_by_client_id(&app.db, id)
            .await
            .map_err(internal)?,
        None => None,
    };
    let Some(client) = client else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
        ));
    };
    let registered = grants::redirect_uris(&client);
    // RFC 6749 section 3.1.2.3: the URI may be left out when only one is registered.
    let requested = match field(&p.redirect_uri) {
        Some(uri) => uri.to_owned(),
        None if registered.len() == 1 => registered[0].to_owned(),
        None => {
            return Err(error_page(
                StatusCode::BAD_REQUEST,
                "The redirect uri included is not valid.",
            ))
        }
    };
    if !registered
        .iter()
        .any(|r| redirect_uri::matches(&requested, r))
    {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            "The redirect uri included is not valid.",
        ));
    }
    Ok(Target {
        app: client,
        redirect_uri: requested,
        // An unknown response mode is reported in the default mode.
        mode: ResponseMode::parse(field(&p.response_mode)).unwrap_or(ResponseMode::Query),
        state: p.state.clone().filter(|s| !s.is_empty()),
    })
}

/// The checks whose failure is reported to the app.
fn check_request(
    target: &Target,
    p: &AuthorizeParams,
) -> Result<(Scopes, Option<String>), Refusal> {
    let no = |error, description| Err(Refusal { error, description });
    if ResponseMode::parse(field(&p.response_mode)).is_none() {
        return no(
            "invalid_request",
            "The response_mode is not supported; use query, fragment or form_post.",
        );
    }
    match field(&p.response_type) {
        Some("code") => {}
        None => {
            return no(
                "invalid_request",
                "Missing required parameter: response_type.",
            )
        }
        Some(_) => {
            return no(
                "unsupported_response_type",
                "The authorization server does not support this response type.",
            )
        }
    }
    let Some(scopes) = grants::granted_scopes(&target.app, p.scope.as_deref()) else {
        return no(
            "invalid_scope",
            "The requested scope is invalid, unknown, or malformed.",
        );
    };
    let code_challenge = match (field(&p.code_challenge), field(&p.code_challenge_method)) {
        (None, None) => None,
        (Some(c), Some("S256")) if grants::valid_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return no(
                "invalid_request",
                "The code_challenge is not a SHA-256 digest in base64url.",
            )
        }
        (None, Some(_)) => {
            return no(
                "invalid_request",
                "Missing required parameter: code_challenge.",
            )
        }
        // Without a method RFC 7636 means `plain`, which protects nothing against an
        // attacker who can read the authorization request.
        (Some(_), _) => {
            return no(
                "invalid_request",
                "The code_challenge_method is not supported; use S256.",
            )
        }
    };
    Ok((scopes, code_challenge))
}

/// Sends an error back to the app, or shows it when the app asked for the code to be
/// shown.
fn refuse(target: &Target, refusal: &Refusal) -> Response {
    if target.redirect_uri == OOB {
        return error_page(StatusCode::BAD_REQUEST, refusal.description);
    }
    let mut params = vec![
        ("error", refusal.error),
        ("error_description", refusal.description),
    ];
    if let Some(state) = &target.state {
        params.push(("state", state));
    }
    send_back(target, &params)
}

/// Redirects to the app with `params`, or for `form_post` posts them there.
fn send_back(target: &Target, params: &[(&str, &str)]) -> Response {
    match target.mode {
        ResponseMode::FormPost => form_post_page(&target.redirect_uri, params),
        mode => {
            let location = redirect_uri::with_params(&target.redirect_uri, mode, params);
            let Ok(location) = HeaderValue::from_str(&location) else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "The redirect uri included is not valid.",
                );
            };
            let mut res = StatusCode::FOUND.into_response();
            res.headers_mut().insert(header::LOCATION, location);
            protect(res)
        }
    }
}

fn internal(e: crate::core::CoreError) -> Response {
    tracing::error!(error = %e, "authorization page failed");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The authorization server encountered an unexpected condition which prevented it from fulfilling the request.",
    )
}

/// Headers every page of the flow carries: never cached (they hold codes and form
/// tokens), never framed (a framed consent page invites clickjacking), and no
/// `Referer` for the app's page after the redirect.
fn protect(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

const STYLE: &str = "<style>\n\
    form p { margin: 0.8rem 0; }\n\
    input[type=text], input[type=password] { width: 100%; max-width: 24rem; padding: 0.4rem; font-size: 1rem; box-sizing: border-box; }\n\
    button { font-size: 1rem; padding: 0.4rem 1.2rem; margin-right: 0.5rem; }\n\
    .error { color: #a00; font-weight: bold; }\n\
    .note { color: #666; font-size: 0.9rem; }\n\
    .code { font-size: 1.2rem; width: 100%; padding: 0.4rem; box-sizing: border-box; }\n\
    </style>";

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<main>\n<h1>An error has occurred</h1>\n<p class=\"error\">{}</p>\n\
         <p>Go back to the app you came from and try again.</p>\n</main>",
        escape(message)
    );
    protect((status, layout("Authorization error", STYLE, &body)).into_response())
}

/// What a scope lets an app do, in words.
fn describe(scope: &str) -> String {
    let words = |s: &str| s.replace('_', " ");
    match scope {
        "read" => "Read all your account's data".into(),
        "write" => {
            "Change all your account's data: post, favourite, follow, edit your profile".into()
        }
        "follow" => "Follow, unfollow, block and mute accounts".into(),
        "push" => "Receive your push notifications".into(),
        "profile" => "Read your profile information".into(),
        "admin:read" => "Read all data on the server (administration)".into(),
        "admin:write" => "Change all data on the server (administration)".into(),
        s => {
            if let Some(rest) = s.strip_prefix("admin:read:") {
                format!("Read the server's {} (administration)", words(rest))
            } else if let Some(rest) = s.strip_prefix("admin:write:") {
                format!("Change the server's {} (administration)", words(rest))
            } else if let Some(rest) = s.strip_prefix("read:") {
                format!("Read your {}", words(rest))
            } else if let Some(rest) = s.strip_prefix("write:") {
                format!("Change your {}", words(rest))
            } else {
                s.to_owned()
            }
        }
    }
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
        escape(name),
        escape(value)
    )
}

/// The sign-in and consent form. Its hidden fields repeat the checked request.
fn form_page(
    app: &App,
    valid: &Valid,
    token: &str,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
) -> Response {
    let client = &valid.target.app;
    let name = escape(&client.name);
    let website = client
        .website
        .as_deref()
        .map(|w| {
            format!(
                " (<a href=\"{}\" rel=\"noopener noreferrer nofollow\">{}</a>)",
                escape(w),
                escape(w)
            )
        })
        .unwrap_or_default();
    let scopes: String = valid
        .scopes
        .iter()
        .map(|s| {
            format!(
                "<li>{} <code>{}</code></li>\n",
                escape(&describe(s)),
                escape(s)
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let mut fields = hidden(csrf::FIELD, token);
    fields.push_str(&hidden("response_type", "code"));
    fields.push_str(&hidden("client_id", &client.client_id));
    fields.push_str(&hidden("redirect_uri", &valid.target.redirect_uri));
    fields.push_str(&hidden("scope", &valid.scopes.to_string()));
    fields.push_str(&hidden("response_mode", valid.target.mode.as_str()));
    if let Some(state) = &valid.target.state {
        fields.push_str(&hidden("state", state));
    }
    if let Some(challenge) = &valid.code_challenge {
        fields.push_str(&hidden("code_challenge", challenge));
        fields.push_str(&hidden("code_challenge_method", "S256"));
    }
    let destination = if valid.target.redirect_uri == OOB {
        "If you authorize it, a code will be shown for you to copy into the app.".to_owned()
    } else {
        format!(
            "If you decide, you will be sent back to <code>{}</code>.",
            escape(&valid.target.redirect_uri)
        )
    };
    let body = format!(
        "<main class=\"oauth\">\n<h1>Authorization required</h1>\n\
         <p>The application <strong>{name}</strong>{website} requests access to your account on \
         <strong>{domain}</strong>.</p>\n{error}\
         <p>It will be able to:</p>\n<ul class=\"scopes\">\n{scopes}</ul>\n\
         <form method=\"post\" action=\"/oauth/authorize\">\n{fields}\
         <p><label for=\"username\">Username or email address</label><br>\n\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" \
         autocapitalize=\"none\" spellcheck=\"false\" required autofocus value=\"{username}\"></p>\n\
         <p><label for=\"password\">Password</label><br>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\" name=\"decision\" value=\"authorize\">Authorize</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></p>\n\
         </form>\n<p class=\"note\">{destination}</p>\n</main>",
        domain = escape(app.urls.domain()),
        username = escape(username),
    );
    let mut res = (
        status,
        layout(&format!("Authorize {}", client.name), STYLE, &body),
    )
        .into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        csrf::set_cookie(token, app.urls.base().starts_with("https://")),
    );
    protect(res)
}

/// For `urn:ietf:wg:oauth:2.0:oob`: the code, to copy into the app.
fn code_page(client: &ApplicationRow, code: &str) -> Response {
    let body = format!(
        "<main>\n<h1>Authorization code</h1>\n\
         <p>Copy this code and paste it into <strong>{name}</strong>:</p>\n\
         <p><input class=\"code\" id=\"code\" type=\"text\" readonly value=\"{code}\" \
         aria-label=\"Authorization code\"></p>\n\
         <p class=\"note\">It can be used once, within ten minutes.</p>\n</main>",
        name = escape(&client.name),
        code = escape(code),
    );
    protect(layout("Authorization code", STYLE, &body).into_response())
}

/// `response_mode=form_post`: a form that posts the answer to the app. A script
/// submits it at once; without scripts the person presses the button.
fn form_post_page(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let fields: String = params.iter().map(|(k, v)| hidden(k, v)).collect();
    let body = format!(
        "<main>\n<form method=\"post\" action=\"{action}\">\n{fields}\
         <p><button type=\"submit\">Continue</button></p>\n</form>\n\
         <script>document.forms[0].submit();</script>\n</main>",
        action = escape(redirect_uri),
    );
    protect(layout("Continue", STYLE, &body).into_response())
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn scopes_read_as_words() {
        assert_eq!(describe("read:statuses"), "Read your statuses");
        assert_eq!(describe("write:favourites"), "Change your favourites");
        assert_eq!(
            describe("admin:read:domain_blocks"),
            "Read the server's domain blocks (administration)"
        );
    }
}
