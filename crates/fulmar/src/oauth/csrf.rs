//! CSRF protection of the sign-in and consent form.
//!
//! The page sets a cookie holding 256 random bits and repeats the same value in a
//! hidden field; `POST /oauth/authorize` goes on only when both arrive and agree
//! (the "double submit" pattern). A page on another site can make a browser post the
//! form, but it cannot read our cookie to fill the field, and with `SameSite=Lax` the
//! browser does not even send the cookie with a cross-site POST. That matters here
//! even though every authorization asks for a password: without it, another site
//! could sign a visitor in to the *attacker's* account and hand the resulting code
//! to the visitor's app (login CSRF).
//!
//! A cookie rather than an HMAC over the form: an HMAC proves the form came from us,
//! not that it came to this browser, and the attacker can fetch a fresh form
//! himself. The cookie is `HttpOnly` (scripts never need it), limited to
//! `/oauth/authorize`, and `Secure` when the server runs on https. One cookie serves
//! every tab: a page reuses the token already in the cookie, so opening the page
//! twice does not break the first form.

use axum::http::{header, HeaderMap, HeaderValue};

/// The hidden field's name (Rails' name, which tools that drive the form expect).
pub const FIELD: &str = "authenticity_token";
pub const COOKIE: &str = "fulmar_oauth_csrf";
const PATH: &str = "/oauth/authorize";
/// Long enough to read the page and find the password; short enough not to linger.
const MAX_AGE_SECS: u32 = 60 * 60;

/// The token in the request's cookie, when it has one of the right shape.
pub fn from_cookies(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|v| well_formed(v))
}

/// The token of a page: the cookie's, or a new one.
pub fn token_for(headers: &HeaderMap) -> String {
    from_cookies(headers).unwrap_or_else(crate::core::accounts::new_secret)
}

/// The `Set-Cookie` value carrying `token`.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path={PATH}; Max-Age={MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The `Set-Cookie` value that removes the cookie, once its form has served.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path={PATH}; Max-Age=0; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// True when the form's field matches the cookie. The comparison takes the same time
/// wherever the first difference is.
pub fn verify(headers: &HeaderMap, field: Option<&str>) -> bool {
    let (Some(cookie), Some(field)) = (from_cookies(headers), field) else {
        return false;
    };
    constant_time_eq(cookie.as_bytes(), field.as_bytes())
}

/// Tokens are [`crate::core::accounts::new_secret`] values: 43 base64url characters.
fn well_formed(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        h
    }

    #[test]
    fn field_must_match_cookie() {
        let t = crate::core::accounts::new_secret();
        let h = headers(&format!("other=1; {COOKIE}={t}; x=y"));
        assert_eq!(from_cookies(&h).as_deref(), Some(t.as_str()));
        assert!(verify(&h, Some(&t)));
        assert!(!verify(&h, Some(&crate::core::accounts::new_secret())));
        assert!(!verify(&h, None));
        assert!(!verify(&HeaderMap::new(), Some(&t)));
        // A cookie of the wrong shape is no cookie, even when the field repeats it.
        assert!(!verify(&headers(&format!("{COOKIE}=short")), Some("short")));
        assert!(!verify(&headers(&format!("{COOKIE}=")), Some("")));
    }

    #[test]
    fn cookie_attributes() {
        let c = set_cookie("abc", true);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!set_cookie("abc", false)
            .to_str()
            .unwrap()
            .contains("Secure"));
    }
}
