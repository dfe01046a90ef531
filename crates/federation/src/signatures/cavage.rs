//! draft-cavage-http-signatures-12, the signature scheme the fediverse actually runs on.
//!
//! The draft expired in 2020 and RFC 9421 replaced it, but Mastodon, GoToSocial, Misskey,
//! Pleroma, Threads and Fedify all sign outgoing requests with it and most verify nothing
//! else, so Fulmar signs every outgoing request this way (`rsa-sha256`, the `Signature`
//! header) and accepts it on every incoming one.

use std::borrow::Cow;
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};

use super::digest::{digest_header, verify_digest_header};
use super::key::{Algorithm, SigningKey};
use super::policy::{parse_http_date, unix_secs};
use super::request::{host_header_for, IncomingRequest};
use super::verify::{AlgorithmClaim, SignedRequest, Standard};
use super::{Policy, SignatureError};

/// The `Digest` header name (RFC 3230), which `http` has no constant for.
pub const DIGEST: HeaderName = HeaderName::from_static("digest");
/// The `Signature` header name, shared by draft-cavage and RFC 9421.
pub const SIGNATURE: HeaderName = HeaderName::from_static("signature");

const REQUEST_TARGET: &str = "(request-target)";
const CREATED: &str = "(created)";
const EXPIRES: &str = "(expires)";

/// Signs an outgoing request the way Mastodon does and every fediverse server accepts.
///
/// Sets, replacing any previous value:
/// - `Host` from the URI's authority, with the port only when it is not the scheme's
///   default, since that is the Host the receiver sees and rebuilds the signature from;
/// - `Date` as an IMF-fixdate of `now`. Call this at send time, not when the delivery is
///   queued: Mastodon refuses a Date more than about an hour old, and queued deliveries
///   are retried for days;
/// - `Digest: SHA-256=…` when there is a body (see [`digest_header`] for the casing);
/// - `Signature` with `algorithm="rsa-sha256"` over `(request-target) host date`, plus
///   `digest` and, when the request has one, `content-type` for a request with a body.
///
/// `rsa-sha256` rather than `hs2019` because every verifier accepts the former, while
/// some older ones reject the latter. GET requests are signed too: Threads, GoToSocial and
/// Mastodon's secure mode refuse unsigned fetches.
pub fn sign_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    key: &SigningKey,
    now: SystemTime,
) -> Result<(), SignatureError> {
    if now < std::time::UNIX_EPOCH {
        return Err(SignatureError::Unsignable(
            "the clock is before 1970".into(),
        ));
    }
    let host = host_header_for(uri)?;
    let host = HeaderValue::from_str(&host)
        .map_err(|_| SignatureError::Unsignable("the host is not a valid header value".into()))?;
    headers.insert(header::HOST, host);
    let date = HeaderValue::from_str(&httpdate::fmt_http_date(now))
        .map_err(|_| SignatureError::Unsignable("cannot format the date".into()))?;
    headers.insert(header::DATE, date);

    let mut covered: Vec<&str> = vec![REQUEST_TARGET, "host", "date"];
    if let Some(body) = body {
        let digest = HeaderValue::from_str(&digest_header(body))
            .map_err(|_| SignatureError::Unsignable("cannot format the digest".into()))?;
        headers.insert(DIGEST, digest);
        covered.push("digest");
        if headers.contains_key(header::CONTENT_TYPE) {
            covered.push("content-type");
        }
    }
    sign_covering(method, uri, headers, key_id, key, &covered)
}

/// Adds a `Signature` header covering exactly `covered`, in that order, to a request whose
/// other headers are already set. [`sign_request`] is the usual entry point; this one
/// exists to reproduce other implementations' signatures, which cover headers in other
/// orders (Mastodon's test suite signs `date host (request-target)`).
pub fn sign_covering(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    key_id: &str,
    key: &SigningKey,
    covered: &[&str],
) -> Result<(), SignatureError> {
    check_quotable("the key id", key_id)?;
    let base = signing_string(method, uri, headers, covered)?;
    let signature = key.sign(Algorithm::RsaPkcs1Sha256, &base)?;
    let value = signature_header_value(key_id, covered, &signature);
    let value = HeaderValue::from_str(&value).map_err(|_| {
        SignatureError::Unsignable("the Signature header is not a valid header value".into())
    })?;
    headers.insert(SIGNATURE, value);
    Ok(())
}

/// The draft-cavage signing string (§2.3) of an outgoing request over `covered`.
///
/// Lines are `name: value` joined by `\n`, with no final newline; `(request-target)` is the
/// lowercased method, a space, then the path and query as sent.
pub fn signing_string(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    covered: &[&str],
) -> Result<Vec<u8>, SignatureError> {
    let scheme = uri.scheme_str().unwrap_or("https");
    let req = IncomingRequest::new(method, uri, headers, b"").with_scheme(scheme);
    let params = Params::default();
    let mut out = Vec::with_capacity(256);
    for (i, name) in covered.iter().enumerate() {
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace())
        {
            return Err(SignatureError::Unsignable(
                format!("covered header names must be lowercase tokens, not {name:?}").into(),
            ));
        }
        if i > 0 {
            out.push(b'\n');
        }
        append_line(&req, name, &params, true, &mut out)?;
    }
    Ok(out)
}

/// `keyId="…",algorithm="rsa-sha256",headers="…",signature="…"`: the parameter order and
/// spelling of Mastodon's `build_signature_string`.
fn signature_header_value(key_id: &str, covered: &[&str], signature: &[u8]) -> String {
    let mut value = String::with_capacity(key_id.len() + 64 + signature.len() * 4 / 3 + 4);
    value.push_str("keyId=\"");
    value.push_str(key_id);
    value.push_str("\",algorithm=\"rsa-sha256\",headers=\"");
    for (i, name) in covered.iter().enumerate() {
        if i > 0 {
            value.push(' ');
        }
        value.push_str(name);
    }
    value.push_str("\",signature=\"");
    STANDARD.encode_string(signature, &mut value);
    value.push('"');
    value
}

/// Refuses characters that the draft's quoted strings cannot carry: it defines no
/// escaping, so a `"` or `\` would be read differently by different parsers.
fn check_quotable(what: &str, value: &str) -> Result<(), SignatureError> {
    if value.is_empty()
        || value
            .bytes()
            .any(|b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b))
    {
        return Err(SignatureError::Unsignable(
            format!("{what} must be non-empty printable ASCII without quotes or backslashes")
                .into(),
        ));
    }
    Ok(())
}

/// The parameters of a draft-cavage `Signature` header (§2.1), borrowed from the header
/// value unless they contained escapes.
#[derive(Default, Debug)]
struct Params<'h> {
    key_id: Option<Cow<'h, str>>,
    algorithm: Option<Cow<'h, str>>,
    headers: Option<Cow<'h, str>>,
    signature: Option<Cow<'h, str>>,
    created: Option<Cow<'h, str>>,
    expires: Option<Cow<'h, str>>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `name="value", name=value, …`.
///
/// The draft's grammar is `name="value"` separated by commas; real senders add spaces
/// after commas (the draft's own examples do) and write `created` and `expires` as bare
/// integers, so both are accepted. Backslash escapes inside quotes are honoured as HTTP
/// quoted-strings define them (RFC 9110 §5.6.4). Unknown parameters are ignored as §2.2
/// requires; a repeated one is refused, as draft-12 added.
fn parse_params<'h>(header: &'static str, value: &'h str) -> Result<Params<'h>, SignatureError> {
    let bytes = value.as_bytes();
    let len = bytes.len();
    let mut i = 0;
    let mut params = Params::default();
    let mut any = false;
    let skip_ws = |i: &mut usize| {
        while *i < len && (bytes[*i] == b' ' || bytes[*i] == b'\t') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i == len {
            break;
        }
        let name_start = i;
        while i < len && is_tchar(bytes[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(SignatureError::malformed(
                header,
                "expected a parameter name",
            ));
        }
        let name = &value[name_start..i];
        skip_ws(&mut i);
        if i == len || bytes[i] != b'=' {
            return Err(SignatureError::malformed(
                header,
                format!("expected = after parameter {name}"),
            ));
        }
        i += 1;
        skip_ws(&mut i);
        let param_value: Cow<'h, str> = if i < len && bytes[i] == b'"' {
            i += 1;
            let start = i;
            let mut escaped = false;
            loop {
                if i >= len {
                    return Err(SignatureError::malformed(
                        header,
                        format!("unterminated quoted value of {name}"),
                    ));
                }
                match bytes[i] {
                    b'\\' => {
                        escaped = true;
                        i += 2;
                    }
                    b'"' => break,
                    _ => i += 1,
                }
            }
            let raw = &value[start..i];
            i += 1; // closing quote
            if escaped {
                let mut out = String::with_capacity(raw.len());
                let mut chars = raw.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        if let Some(next) = chars.next() {
                            out.push(next);
                        }
                    } else {
                        out.push(c);
                    }
                }
                Cow::Owned(out)
            } else {
                Cow::Borrowed(raw)
            }
        } else {
            let start = i;
            while i < len && bytes[i] != b',' && bytes[i] != b' ' && bytes[i] != b'\t' {
                i += 1;
            }
            if i == start {
                return Err(SignatureError::malformed(
                    header,
                    format!("parameter {name} has no value"),
                ));
            }
            Cow::Borrowed(&value[start..i])
        };
        let slot = if name.eq_ignore_ascii_case("keyId") {
            Some(&mut params.key_id)
        } else if name.eq_ignore_ascii_case("algorithm") {
            Some(&mut params.algorithm)
        } else if name.eq_ignore_ascii_case("headers") {
            Some(&mut params.headers)
        } else if name.eq_ignore_ascii_case("signature") {
            Some(&mut params.signature)
        } else if name.eq_ignore_ascii_case("created") {
            Some(&mut params.created)
        } else if name.eq_ignore_ascii_case("expires") {
            Some(&mut params.expires)
        } else {
            None
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(SignatureError::DuplicateParameter(name.to_owned()));
            }
            *slot = Some(param_value);
        }
        any = true;
        skip_ws(&mut i);
        if i == len {
            break;
        }
        if bytes[i] != b',' {
            return Err(SignatureError::malformed(
                header,
                format!("expected a comma after parameter {name}"),
            ));
        }
        i += 1;
    }
    if !any {
        return Err(SignatureError::malformed(header, "no parameters"));
    }
    Ok(params)
}

/// Appends one line of the signing string for `name` (already lowercased).
fn append_line(
    req: &IncomingRequest<'_>,
    name: &str,
    params: &Params<'_>,
    include_query: bool,
    out: &mut Vec<u8>,
) -> Result<(), SignatureError> {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    match name {
        REQUEST_TARGET => {
            for b in req.method.as_str().bytes() {
                out.push(b.to_ascii_lowercase());
            }
            out.push(b' ');
            out.extend_from_slice(req.path().as_bytes());
            if include_query {
                if let Some(query) = req.query() {
                    out.push(b'?');
                    out.extend_from_slice(query.as_bytes());
                }
            }
        }
        CREATED => out.extend_from_slice(
            params
                .created
                .as_deref()
                .ok_or(SignatureError::InvalidPseudoHeader {
                    name: CREATED,
                    reason: "it is signed but the created parameter is missing",
                })?
                .as_bytes(),
        ),
        EXPIRES => out.extend_from_slice(
            params
                .expires
                .as_deref()
                .ok_or(SignatureError::InvalidPseudoHeader {
                    name: EXPIRES,
                    reason: "it is signed but the expires parameter is missing",
                })?
                .as_bytes(),
        ),
        _ if name.starts_with('(') => {
            return Err(SignatureError::UnsupportedComponent(name.to_owned()));
        }
        _ => req.append_field(name, out)?,
    }
    Ok(())
}

fn parse_unix_time(name: &'static str, value: &str) -> Result<i64, SignatureError> {
    // The draft allows a decimal fraction; only whole seconds matter here.
    let whole = value.split_once('.').map_or(value, |(w, _)| w);
    whole
        .parse::<i64>()
        .map_err(|_| SignatureError::InvalidParameter {
            name,
            reason: format!("{value:?} is not a unix time").into(),
        })
}

/// Parses and checks a draft-cavage signature, up to but excluding the key: everything
/// that can be refused without fetching anything is refused here.
pub(crate) fn parse(
    req: &IncomingRequest<'_>,
    header_name: &'static str,
    value: &HeaderValue,
    policy: &Policy,
    now: SystemTime,
) -> Result<SignedRequest, SignatureError> {
    let value = value
        .to_str()
        .map_err(|_| SignatureError::malformed(header_name, "not printable ASCII"))?;
    let value = if header_name == "Authorization" {
        // `Authorization: Signature keyId=…` (§3.1): the scheme name is case-insensitive.
        match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("Signature") => rest,
            _ => return Err(SignatureError::NotSigned),
        }
    } else {
        value
    };
    let params = parse_params(header_name, value)?;

    let key_id = match params.key_id.as_deref() {
        Some(k) if !k.is_empty() => k,
        _ => return Err(SignatureError::MissingParameter("keyId")),
    };
    let signature = match params.signature.as_deref() {
        Some(s) if !s.is_empty() => {
            STANDARD
                .decode(s)
                .map_err(|_| SignatureError::InvalidParameter {
                    name: "signature",
                    reason: "not base64".into(),
                })?
        }
        _ => return Err(SignatureError::MissingParameter("signature")),
    };

    // hs2019 means "the algorithm the key's metadata says" (§2.1.3). Fediverse keys are
    // RSA and publish no such metadata, and in practice the servers that send hs2019
    // (GoToSocial, Misskey, Pleroma…) sign with RSASSA-PKCS1-v1_5 SHA-256, which is also
    // how Mastodon verifies hs2019. A key explicitly marked for another algorithm (see
    // `PublicKey::with_algorithm`) is honoured. Mastodon treats a missing algorithm as
    // hs2019 too.
    let claim = match params.algorithm.as_deref() {
        None => AlgorithmClaim::CavageHs2019,
        Some(a) if a.eq_ignore_ascii_case("hs2019") => AlgorithmClaim::CavageHs2019,
        Some(a) if a.eq_ignore_ascii_case("rsa-sha256") => AlgorithmClaim::CavageRsaSha256,
        Some(other) => return Err(SignatureError::UnsupportedAlgorithm(other.to_owned())),
    };

    // §2.1.6: without `headers`, hs2019 signs `(created)` and the older algorithms `date`.
    let headers_param = params.headers.as_deref().unwrap_or(match claim {
        AlgorithmClaim::CavageHs2019 => CREATED,
        _ => "date",
    });
    let lowered;
    let headers_param = if headers_param.bytes().any(|b| b.is_ascii_uppercase()) {
        lowered = headers_param.to_ascii_lowercase();
        lowered.as_str()
    } else {
        headers_param
    };
    let covered: Vec<&str> = headers_param.split_ascii_whitespace().collect();
    if covered.is_empty() {
        return Err(SignatureError::InvalidParameter {
            name: "headers",
            reason: "it lists no header".into(),
        });
    }
    let covers = |name: &str| covered.contains(&name);

    // §2.3: (created) and (expires) belong to hs2019; with rsa-sha256 they are an error.
    for (pseudo, present) in [
        (CREATED, params.created.is_some()),
        (EXPIRES, params.expires.is_some()),
    ] {
        if covers(pseudo) {
            if claim == AlgorithmClaim::CavageRsaSha256 {
                return Err(SignatureError::InvalidPseudoHeader {
                    name: pseudo,
                    reason: "it may not be used with algorithm rsa-sha256",
                });
            }
            if !present {
                return Err(SignatureError::InvalidPseudoHeader {
                    name: pseudo,
                    reason: "it is signed but its parameter is missing",
                });
            }
        }
    }

    if policy.require_coverage {
        if !covers(REQUEST_TARGET) {
            return Err(SignatureError::MissingCoverage("(request-target)"));
        }
        if !covers("host") {
            return Err(SignatureError::MissingCoverage("the Host header"));
        }
        if !covers("date") && !covers(CREATED) {
            return Err(SignatureError::MissingCoverage(
                "the Date header or (created)",
            ));
        }
        if req.needs_digest() && !covers("digest") {
            return Err(SignatureError::MissingDigest("Digest"));
        }
    }

    // The time window: a signed (created) wins over Date, as in Mastodon. The `expires`
    // parameter is only trusted to lengthen validity when `(expires)` is signed; otherwise
    // anyone replaying a captured request could add a far-off one (Mastodon honours it
    // either way). An unsigned `expires` can still shorten validity: that only ever makes
    // a replay fail.
    let now_secs = unix_secs(now);
    let expires = params
        .expires
        .as_deref()
        .map(|e| parse_unix_time("expires", e))
        .transpose()?;
    let signed_expires = expires.filter(|_| covers(EXPIRES));
    let created = if covers(CREATED) {
        params
            .created
            .as_deref()
            .map(|c| parse_unix_time("created", c))
            .transpose()?
    } else if covers("date") {
        let date = req
            .headers
            .get(header::DATE)
            .ok_or_else(|| SignatureError::MissingHeader("date".to_owned()))?;
        let parsed = date
            .to_str()
            .ok()
            .and_then(parse_http_date)
            .ok_or_else(|| {
                SignatureError::InvalidDate(String::from_utf8_lossy(date.as_bytes()).into_owned())
            })?;
        Some(parsed)
    } else {
        None
    };
    if let Some(created) = created {
        policy.check_time(created, signed_expires, now_secs)?;
    }
    if let Some(expires) = expires {
        policy.check_expires(expires, now_secs)?;
    }

    if covers("digest") {
        let digest = req
            .headers
            .get(DIGEST)
            .ok_or_else(|| SignatureError::MissingHeader("digest".to_owned()))?;
        verify_digest_header(digest.as_bytes(), req.body)?;
    }

    let mut base = Vec::with_capacity(256);
    for (i, name) in covered.iter().enumerate() {
        if i > 0 {
            base.push(b'\n');
        }
        append_line(req, name, &params, true, &mut base)?;
    }
    // Mastodon signed `(request-target)` without the query string until 4.2 and still
    // accepts both forms; so do GoToSocial and Fulmar.
    let alternate_base = if covers(REQUEST_TARGET) && req.query().is_some() {
        let mut alt = Vec::with_capacity(base.len());
        for (i, name) in covered.iter().enumerate() {
            if i > 0 {
                alt.push(b'\n');
            }
            append_line(req, name, &params, false, &mut alt)?;
        }
        Some(alt)
    } else {
        None
    };

    Ok(SignedRequest {
        standard: Standard::DraftCavage,
        key_id: key_id.to_owned(),
        label: None,
        claim,
        signature,
        base,
        alternate_base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_quoted_bare_spaced_and_escaped() {
        let p = parse_params(
            "Signature",
            r#"keyId="a\"b", algorithm="hs2019",created=1402170695,  expires=1402170699.5 ,headers="(created) date",signature="c2ln""#,
        )
        .unwrap();
        assert_eq!(p.key_id.as_deref(), Some("a\"b"));
        assert_eq!(p.algorithm.as_deref(), Some("hs2019"));
        assert_eq!(p.created.as_deref(), Some("1402170695"));
        assert_eq!(p.expires.as_deref(), Some("1402170699.5"));
        assert_eq!(p.headers.as_deref(), Some("(created) date"));
        assert_eq!(p.signature.as_deref(), Some("c2ln"));
        assert_eq!(
            parse_unix_time("expires", "1402170699.5").unwrap(),
            1_402_170_699
        );
    }

    #[test]
    fn params_refuse_duplicates_and_garbage() {
        assert!(matches!(
            parse_params("Signature", r#"keyId="a",keyId="b""#),
            Err(SignatureError::DuplicateParameter(_))
        ));
        for bad in [
            "",
            "   ",
            "keyId",
            "keyId=",
            r#"keyId="unterminated"#,
            r#"keyId="a" signature="b""#,
            r#"="a""#,
            r#"keyId="a\"#,
        ] {
            assert!(parse_params("Signature", bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let p = parse_params("Signature", r#"keyId="k",foo="bar",signature="c2ln""#).unwrap();
        assert_eq!(p.key_id.as_deref(), Some("k"));
    }
}
