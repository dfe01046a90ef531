//! RFC 9421 HTTP Message Signatures: `Signature-Input` and `Signature` dictionaries.
//!
//! Mastodon 4.5 verifies RFC 9421 signatures by default and other servers are starting to
//! send them, so Fulmar accepts them on incoming requests. The subset implemented is what
//! requests need: the request derived components of §2.2 and plain header fields; the
//! field parameters `sf`, `key`, `bs`, `req` and `tr` (§2.1) are refused with a clear error
//! rather than half-supported, and so are response-only components such as `@status`.

use std::time::SystemTime;

use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};
use sfv::{BareItem, InnerList, Item, KeyRef, ListEntry, StringRef};

use super::digest::{content_digest_header, verify_content_digest, verify_digest_header};
use super::key::{Algorithm, SigningKey};
use super::policy::unix_secs;
use super::request::{host_header_for, IncomingRequest};
use super::verify::{AlgorithmClaim, SignedRequest, Standard};
use super::{Policy, SignatureError};

/// The `Signature-Input` header name (RFC 9421 §4.1).
pub const SIGNATURE_INPUT: HeaderName = HeaderName::from_static("signature-input");
/// The `Content-Digest` header name (RFC 9530 §2).
pub const CONTENT_DIGEST: HeaderName = HeaderName::from_static("content-digest");

const INPUT: &str = "Signature-Input";
const SIGNATURE: &str = "Signature";

/// A covered component this implementation can derive from a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Component<'a> {
    Method,
    TargetUri,
    Authority,
    Scheme,
    RequestTarget,
    Path,
    Query,
    /// `@query-param;name="…"` (§2.2.8), holding the encoded name.
    QueryParam(&'a str),
    /// A header field, by its lowercase name.
    Field(&'a str),
}

/// Reads one covered component identifier (§2.1, §2.2): a String item whose parameters
/// must all be understood.
fn component(item: &Item) -> Result<Component<'_>, SignatureError> {
    let BareItem::String(name) = &item.bare_item else {
        return Err(SignatureError::malformed(
            INPUT,
            "covered components must be quoted strings",
        ));
    };
    let name = name.as_str();
    let mut query_param_name = None;
    for (key, value) in &item.params {
        match (name, key.as_str(), value) {
            ("@query-param", "name", BareItem::String(v)) if query_param_name.is_none() => {
                query_param_name = Some(v.as_str());
            }
            _ => {
                return Err(SignatureError::UnsupportedComponentParameter {
                    component: name.to_owned(),
                    parameter: key.as_str().to_owned(),
                })
            }
        }
    }
    Ok(match name {
        "@method" => Component::Method,
        "@target-uri" => Component::TargetUri,
        "@authority" => Component::Authority,
        "@scheme" => Component::Scheme,
        "@request-target" => Component::RequestTarget,
        "@path" => Component::Path,
        "@query" => Component::Query,
        "@query-param" => Component::QueryParam(query_param_name.ok_or_else(|| {
            SignatureError::malformed(INPUT, "@query-param needs a name parameter")
        })?),
        "@signature-params" => {
            return Err(SignatureError::malformed(
                INPUT,
                "@signature-params may not be listed as a covered component",
            ))
        }
        derived if derived.starts_with('@') => {
            return Err(SignatureError::UnsupportedComponent(derived.to_owned()))
        }
        field => {
            // §2.1: field names are used lowercased. A mixed-case name is refused rather
            // than silently lowered, since the signer may have built another base from it.
            if field.is_empty()
                || !field.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&b)
                })
            {
                return Err(SignatureError::malformed(
                    INPUT,
                    format!("component names must be lowercase field names, not {field:?}"),
                ));
            }
            Component::Field(field)
        }
    })
}

/// Appends the component value for `component` (§2.1 fields, §2.2 derived components).
fn append_value(
    req: &IncomingRequest<'_>,
    component: Component<'_>,
    scratch: &mut Vec<u8>,
    out: &mut String,
) -> Result<(), SignatureError> {
    match component {
        Component::Method => out.push_str(req.method.as_str()),
        Component::TargetUri => {
            out.push_str(&req.scheme());
            out.push_str("://");
            out.push_str(&authority(req)?);
            out.push_str(req.path());
            if let Some(query) = req.query() {
                out.push('?');
                out.push_str(query);
            }
        }
        Component::Authority => out.push_str(&authority(req)?),
        Component::Scheme => out.push_str(&req.scheme()),
        Component::RequestTarget => {
            out.push_str(req.path());
            if let Some(query) = req.query() {
                out.push('?');
                out.push_str(query);
            }
        }
        Component::Path => out.push_str(req.path()),
        Component::Query => {
            out.push('?');
            out.push_str(req.query().unwrap_or(""));
        }
        Component::QueryParam(name) => {
            // §2.2.8: decode as application/x-www-form-urlencoded, re-encode each name and
            // value, and refuse a name that is absent or repeated.
            let mut found: Option<String> = None;
            for (key, value) in form_urlencoded::parse(req.query().unwrap_or("").as_bytes()) {
                let encoded_key: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
                if encoded_key == name {
                    if found.is_some() {
                        return Err(SignatureError::UnsupportedComponent(format!(
                            "@query-param;name=\"{name}\" (the parameter occurs more than once)"
                        )));
                    }
                    found = Some(form_urlencoded::byte_serialize(value.as_bytes()).collect());
                }
            }
            let value = found.ok_or_else(|| {
                SignatureError::MissingHeader(format!("the query parameter {name:?}"))
            })?;
            out.push_str(&value);
        }
        Component::Field(name) => {
            scratch.clear();
            req.append_field(name, scratch)?;
            // §2.5 step 4: the base is ASCII; obs-text in a field cannot be signed plainly.
            let text = std::str::from_utf8(scratch)
                .ok()
                .filter(|t| t.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)))
                .ok_or_else(|| {
                    SignatureError::malformed(
                        INPUT,
                        format!("the signed field {name} is not ASCII"),
                    )
                })?;
            out.push_str(text);
        }
    }
    Ok(())
}

fn authority(req: &IncomingRequest<'_>) -> Result<String, SignatureError> {
    req.normalized_authority()
        .ok_or_else(|| SignatureError::MissingHeader("host".to_owned()))
}

/// Builds the signature base of §2.5: one `"component": value` line per covered component,
/// then the `"@signature-params"` line, serialized canonically by sfv so that the verifier
/// signs what the sender signed even if the sender's header had odd whitespace.
fn signature_base(
    req: &IncomingRequest<'_>,
    input: &InnerList,
    components: &[Component<'_>],
) -> Result<String, SignatureError> {
    let mut base = String::with_capacity(64 * (components.len() + 2));
    let mut scratch = Vec::new();
    for (item, component) in input.items.iter().zip(components) {
        let _ = sfv::ItemSerializer::with_buffer(&mut base)
            .bare_item(&item.bare_item)
            .parameters(&item.params)
            .finish();
        base.push_str(": ");
        append_value(req, *component, &mut scratch, &mut base)?;
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    let mut list = sfv::ListSerializer::with_buffer(&mut base);
    {
        let mut inner = list.inner_list();
        inner.items(&input.items);
        let _ = inner.finish().parameters(&input.params);
    }
    let _ = list.finish();
    Ok(base)
}

/// The signature parameters Fulmar reads (§2.3). Unknown ones stay in the serialized
/// `@signature-params` line, which is all they need.
#[derive(Default)]
struct Params<'a> {
    created: Option<i64>,
    expires: Option<i64>,
    keyid: Option<&'a str>,
    alg: Option<&'a str>,
}

fn params(input: &InnerList) -> Result<Params<'_>, SignatureError> {
    let mut out = Params::default();
    for (key, value) in &input.params {
        let bad = |name: &'static str, kind: &'static str| SignatureError::InvalidParameter {
            name,
            reason: format!("it must be {kind}").into(),
        };
        match key.as_str() {
            "created" => match value {
                BareItem::Integer(i) => out.created = Some(i64::from(*i)),
                _ => return Err(bad("created", "an integer")),
            },
            "expires" => match value {
                BareItem::Integer(i) => out.expires = Some(i64::from(*i)),
                _ => return Err(bad("expires", "an integer")),
            },
            "keyid" => match value {
                BareItem::String(s) => out.keyid = Some(s.as_str()),
                _ => return Err(bad("keyid", "a string")),
            },
            "alg" => match value {
                BareItem::String(s) => out.alg = Some(s.as_str()),
                _ => return Err(bad("alg", "a string")),
            },
            "nonce" if !matches!(value, BareItem::String(_)) => {
                return Err(bad("nonce", "a string"))
            }
            "tag" if !matches!(value, BareItem::String(_)) => return Err(bad("tag", "a string")),
            _ => {}
        }
    }
    Ok(out)
}

fn parse_dictionary(
    req: &IncomingRequest<'_>,
    name: &'static str,
    header: &HeaderName,
    scratch: &mut Vec<u8>,
) -> Result<sfv::Dictionary, SignatureError> {
    scratch.clear();
    req.append_field(header.as_str(), scratch)?;
    sfv::Parser::new(scratch.as_slice())
        .with_version(sfv::Version::Rfc8941)
        .parse()
        .map_err(|e| SignatureError::malformed(name, e.to_string()))
}

/// Parses and checks an RFC 9421 signature, up to but excluding the key.
pub(crate) fn parse(
    req: &IncomingRequest<'_>,
    policy: &Policy,
    now: SystemTime,
) -> Result<SignedRequest, SignatureError> {
    let mut scratch = Vec::with_capacity(512);
    let inputs = parse_dictionary(req, INPUT, &SIGNATURE_INPUT, &mut scratch)?;
    if !req.headers.contains_key(super::cavage::SIGNATURE) {
        return Err(SignatureError::MissingHeader("signature".to_owned()));
    }
    let signatures = parse_dictionary(req, SIGNATURE, &super::cavage::SIGNATURE, &mut scratch)?;

    // §3.2 step 1.1: which signature to check is the verifier's choice. Prefer the
    // configured label, else the first one offered.
    let label = policy
        .preferred_label
        .as_deref()
        .and_then(|l| inputs.get_key_value(l).map(|(k, _)| k))
        .or_else(|| inputs.keys().next())
        .ok_or_else(|| SignatureError::malformed(INPUT, "it holds no signature"))?;
    let input = match inputs.get(label) {
        Some(ListEntry::InnerList(list)) => list,
        _ => {
            return Err(SignatureError::malformed(
                INPUT,
                format!("{} is not an inner list", label.as_str()),
            ))
        }
    };
    let signature = match signatures.get(label) {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) => bytes.clone(),
        Some(_) => {
            return Err(SignatureError::malformed(
                SIGNATURE,
                format!("{} is not a byte sequence", label.as_str()),
            ))
        }
        None => {
            return Err(SignatureError::malformed(
                SIGNATURE,
                format!("it has no value for {}", label.as_str()),
            ))
        }
    };

    let params = params(input)?;
    let key_id = params
        .keyid
        .filter(|k| !k.is_empty())
        .ok_or(SignatureError::MissingParameter("keyid"))?;
    let claimed = match params.alg {
        None => None,
        Some(name) => Some(
            Algorithm::from_rfc9421_name(name)
                .ok_or_else(|| SignatureError::UnsupportedAlgorithm(name.to_owned()))?,
        ),
    };

    let mut components: Vec<Component<'_>> = Vec::with_capacity(input.items.len());
    for item in &input.items {
        let c = component(item)?;
        if components.contains(&c) {
            return Err(SignatureError::DuplicateComponent(describe(item)));
        }
        components.push(c);
    }
    let covers = |c: Component<'_>| components.contains(&c);

    if policy.require_coverage {
        if !covers(Component::Method) {
            return Err(SignatureError::MissingCoverage("@method"));
        }
        let target = covers(Component::TargetUri)
            || (covers(Component::Authority)
                && (covers(Component::Path) || covers(Component::RequestTarget)));
        if !target {
            return Err(SignatureError::MissingCoverage(
                "@target-uri (or @authority with @path)",
            ));
        }
        if req.needs_digest() && !covers(Component::Field("content-digest")) {
            return Err(SignatureError::MissingDigest("Content-Digest"));
        }
    }

    // `created` is optional in the RFC but the only clock Fulmar can check, and Mastodon
    // requires it too.
    let created = params
        .created
        .ok_or(SignatureError::MissingParameter("created"))?;
    policy.check_time(created, params.expires, unix_secs(now))?;

    if covers(Component::Field("content-digest")) {
        let value = req
            .headers
            .get(CONTENT_DIGEST)
            .ok_or_else(|| SignatureError::MissingHeader("content-digest".to_owned()))?;
        verify_content_digest(value.as_bytes(), req.body)?;
    }
    if covers(Component::Field("digest")) {
        let value = req
            .headers
            .get(super::cavage::DIGEST)
            .ok_or_else(|| SignatureError::MissingHeader("digest".to_owned()))?;
        verify_digest_header(value.as_bytes(), req.body)?;
    }

    let base = signature_base(req, input, &components)?;
    Ok(SignedRequest {
        standard: Standard::Rfc9421,
        key_id: key_id.to_owned(),
        label: Some(label.as_str().to_owned()),
        claim: AlgorithmClaim::Rfc9421(claimed),
        signature,
        base: base.into_bytes(),
        alternate_base: None,
    })
}

fn describe(item: &Item) -> String {
    let mut out = String::new();
    let _ = sfv::ItemSerializer::with_buffer(&mut out)
        .bare_item(&item.bare_item)
        .parameters(&item.params)
        .finish();
    out
}

/// Signs an outgoing request with RFC 9421, label `sig1`.
///
/// Covers `@method` and `@target-uri`, plus `content-digest` (set here, SHA-256) and
/// `content-type` when the request has a body, with `created`, `keyid` and `alg`: the
/// coverage Mastodon 4.5 requires of RFC 9421 requests. Host is set as in
/// [`super::cavage::sign_request`], since the receiver rebuilds `@target-uri` from it.
/// Fulmar's deliveries still go out draft-cavage signed; this is for peers that ask for
/// RFC 9421 and for testing the verifier against an independent signer path.
#[allow(clippy::too_many_arguments)]
pub fn sign_request(
    method: &Method,
    uri: &Uri,
    headers: &mut HeaderMap,
    body: Option<&[u8]>,
    key_id: &str,
    key: &SigningKey,
    algorithm: Algorithm,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let unsignable = |what: &str| {
        SignatureError::Unsignable(format!("{what} is not a valid header value").into())
    };
    let host = host_header_for(uri)?;
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&host).map_err(|_| unsignable("the host"))?,
    );

    let mut names = vec!["@method", "@target-uri"];
    if let Some(body) = body {
        let digest = HeaderValue::from_str(&content_digest_header(body))
            .map_err(|_| unsignable("the digest"))?;
        headers.insert(CONTENT_DIGEST, digest);
        names.push("content-digest");
        if headers.contains_key(header::CONTENT_TYPE) {
            names.push("content-type");
        }
    }
    let string = |s: &str| {
        StringRef::from_str(s).map(|s| s.to_owned()).map_err(|_| {
            SignatureError::Unsignable(format!("{s:?} cannot be a structured string").into())
        })
    };
    let mut items = Vec::with_capacity(names.len());
    for name in &names {
        items.push(Item::new(string(name)?));
    }
    let mut params = sfv::Parameters::new();
    params.insert(
        KeyRef::constant("created").to_owned(),
        BareItem::Integer(integer(unix_secs(now))?),
    );
    params.insert(
        KeyRef::constant("keyid").to_owned(),
        BareItem::String(string(key_id)?),
    );
    params.insert(
        KeyRef::constant("alg").to_owned(),
        BareItem::String(string(algorithm.rfc9421_name())?),
    );
    let input = InnerList::with_params(items, params);

    let components: Vec<Component<'_>> = input
        .items
        .iter()
        .map(component)
        .collect::<Result<_, _>>()?;
    let scheme = uri.scheme_str().unwrap_or("https");
    let view =
        IncomingRequest::new(method, uri, headers, body.unwrap_or_default()).with_scheme(scheme);
    let base = signature_base(&view, &input, &components)?;
    let signature = key.sign(algorithm, base.as_bytes())?;

    let label = KeyRef::constant("sig1");
    let mut input_header = sfv::DictSerializer::new();
    {
        let mut inner = input_header.inner_list(label);
        inner.items(&input.items);
        let _ = inner.finish().parameters(&input.params);
    }
    let mut signature_header = sfv::DictSerializer::new();
    let _ = signature_header.bare_item(label, sfv::RefBareItem::ByteSequence(&signature));
    let input_header = input_header.finish().unwrap_or_default();
    let signature_header = signature_header.finish().unwrap_or_default();
    headers.insert(
        SIGNATURE_INPUT,
        HeaderValue::from_str(&input_header).map_err(|_| unsignable("Signature-Input"))?,
    );
    headers.insert(
        super::cavage::SIGNATURE,
        HeaderValue::from_str(&signature_header).map_err(|_| unsignable("Signature"))?,
    );
    Ok(())
}

fn integer(value: i64) -> Result<sfv::Integer, SignatureError> {
    sfv::Integer::try_from(value).map_err(|_| {
        SignatureError::Unsignable("the time does not fit a structured integer".into())
    })
}
