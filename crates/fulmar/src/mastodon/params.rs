//! Request parameters as Mastodon accepts them: from the query string, from a
//! form-urlencoded or multipart body, or from a JSON body, interchangeably.
//!
//! Rails-style brackets are understood (`media_ids[]=1&media_ids[]=2`,
//! `poll[options][]=a`, `fields_attributes[0][name]=x`), and values from forms, which
//! are always strings, are accepted where numbers, booleans or lists are expected
//! (see the `flex` deserialisers). Everything is gathered into one JSON object and
//! deserialised into the handler's parameter struct.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::http::ApiError;

/// Parameters of type `T` gathered from every place a client may put them. Body
/// values win over query values of the same name.
pub struct Params<T>(pub T);

impl<S, T> FromRequest<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mut root = Value::Object(Map::new());
        if let Some(q) = req.uri().query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                insert_pair(&mut root, &k, Value::String(v.into_owned()));
            }
        }
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = Multipart::from_request(req, state)
                .await
                .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?
            {
                let Some(name) = field.name().map(str::to_owned) else {
                    continue;
                };
                // Files are read by the endpoints that take them (media), not here.
                if field.file_name().is_some() {
                    continue;
                }
                let text = field
                    .text()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
                insert_pair(&mut root, &name, Value::String(text));
            }
        } else {
            let body = axum::body::to_bytes(req.into_body(), crate::http::MAX_BODY)
                .await
                .map_err(|_| {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "Request body is too large",
                    )
                })?;
            let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
            if trimmed.is_some() {
                if content_type.starts_with("application/json") || content_type.contains("+json") {
                    let value: Value = serde_json::from_slice(&body)
                        .map_err(|e| ApiError::bad_request(format!("Malformed JSON body: {e}")))?;
                    match value {
                        Value::Object(map) => {
                            for (k, v) in map {
                                insert_pair(&mut root, &k, v);
                            }
                        }
                        Value::Null => {}
                        _ => return Err(ApiError::bad_request("The JSON body must be an object")),
                    }
                } else {
                    // Form-urlencoded, or no content type at all, as some clients send.
                    for (k, v) in form_urlencoded::parse(&body) {
                        insert_pair(&mut root, &k, Value::String(v.into_owned()));
                    }
                }
            }
        }
        serde_json::from_value(root)
            .map(Params)
            .map_err(|e| ApiError::unprocessable(format!("Validation failed: {e}")))
    }
}

/// Inserts `key` (possibly with brackets) into the object tree.
fn insert_pair(root: &mut Value, key: &str, value: Value) {
    let (head, rest) = match key.find('[') {
        Some(i) if key.ends_with(']') => (&key[..i], &key[i..]),
        _ => (key, ""),
    };
    if head.is_empty() {
        return;
    }
    let path: Vec<&str> = if rest.is_empty() {
        Vec::new()
    } else {
        rest.trim_start_matches('[')
            .trim_end_matches(']')
            .split("][")
            .collect()
    };
    let mut node = root;
    let mut segment = head;
    for next in path {
        let map = match node {
            Value::Object(m) => m,
            _ => return,
        };
        let child = map.entry(segment.to_owned()).or_insert_with(|| {
            if next.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        });
        if next.is_empty() {
            // `key[]`: append; a scalar seen before under the same name joins the list.
            if !child.is_array() {
                let old = std::mem::take(child);
                *child = Value::Array(if old.is_null() { vec![] } else { vec![old] });
            }
            if let Value::Array(items) = child {
                items.push(value);
            }
            return;
        }
        if !child.is_object() {
            *child = Value::Object(Map::new());
        }
        node = child;
        segment = next;
    }
    if let Value::Object(m) = node {
        m.insert(segment.to_owned(), value);
    }
}

/// Lenient deserialisers for values that arrive as strings from forms.
pub mod flex {
    use serde::de::{self, Deserializer};
    use serde::Deserialize;
    use serde_json::Value;

    fn to_bool(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64() != Some(0)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "on" | "yes" | "t" => Some(true),
                "false" | "0" | "off" | "no" | "f" | "" => Some(false),
                _ => None,
            },
            Value::Null => None,
            _ => None,
        }
    }

    /// `Option<bool>` from `true`, `"true"`, `"1"`, `"on"` and so on.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(None);
        }
        to_bool(&v)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a boolean, got {v}")))
    }

    /// `Option<i64>` from a number or a decimal string; an empty string is absent.
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let v = Value::deserialize(d)?;
        match &v {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| de::Error::custom(format!("expected an integer, got {v}"))),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| de::Error::custom(format!("expected an integer, got {s:?}"))),
            _ => Err(de::Error::custom(format!("expected an integer, got {v}"))),
        }
    }

    /// `Option<String>` from a string or a number (ids sent as JSON numbers); empty
    /// strings are kept, since "" can mean "clear this field".
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        let v = Value::deserialize(d)?;
        match v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            other => Err(de::Error::custom(format!("expected a string, got {other}"))),
        }
    }

    /// A list from an array, a single scalar, or a Rails-style indexed object
    /// (`{"0": ..., "1": ...}`), in index order. Numbers become strings.
    pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let v = Value::deserialize(d)?;
        let items: Vec<Value> = match v {
            Value::Null => Vec::new(),
            Value::Array(a) => a,
            Value::Object(m) => {
                let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
                pairs.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
                pairs.into_iter().map(|(_, v)| v).collect()
            }
            scalar => vec![scalar],
        };
        items
            .into_iter()
            .filter(|v| !v.is_null())
            .map(|v| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                other => Err(de::Error::custom(format!("expected a string, got {other}"))),
            })
            .collect()
    }

    /// Like [`string_list`], for lists of objects (`fields_attributes`).
    pub fn object_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(match v {
            Value::Null => Vec::new(),
            Value::Array(a) => a,
            Value::Object(m) if m.keys().all(|k| k.parse::<u64>().is_ok()) => {
                let mut pairs: Vec<(String, Value)> = m.into_iter().collect();
                pairs.sort_by_key(|(k, _)| k.parse::<u64>().unwrap_or(u64::MAX));
                pairs.into_iter().map(|(_, v)| v).collect()
            }
            other => vec![other],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(pairs: &[(&str, &str)]) -> Value {
        let mut root = Value::Object(Map::new());
        for (k, v) in pairs {
            insert_pair(&mut root, k, Value::String((*v).into()));
        }
        root
    }

    #[test]
    fn brackets_build_lists_and_maps() {
        assert_eq!(
            tree(&[("media_ids[]", "1"), ("media_ids[]", "2"), ("status", "hi")]),
            json!({"media_ids": ["1", "2"], "status": "hi"})
        );
        assert_eq!(
            tree(&[
                ("poll[options][]", "a"),
                ("poll[options][]", "b"),
                ("poll[expires_in]", "60")
            ]),
            json!({"poll": {"options": ["a", "b"], "expires_in": "60"}})
        );
        assert_eq!(
            tree(&[
                ("fields_attributes[0][name]", "n"),
                ("fields_attributes[0][value]", "v")
            ]),
            json!({"fields_attributes": {"0": {"name": "n", "value": "v"}}})
        );
        assert_eq!(
            tree(&[("types[]", "mention")]),
            json!({"types": ["mention"]})
        );
        assert_eq!(tree(&[("[]", "x")]), json!({}));
    }

    #[derive(serde::Deserialize, Debug)]
    struct P {
        #[serde(default, deserialize_with = "flex::opt_bool")]
        b: Option<bool>,
        #[serde(default, deserialize_with = "flex::opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "flex::string_list")]
        l: Vec<String>,
    }

    #[test]
    fn flex_accepts_form_strings_and_json_values() {
        let p: P = serde_json::from_value(json!({"b": "true", "n": "5", "l": "x"})).unwrap();
        assert_eq!(
            (p.b, p.n, p.l),
            (Some(true), Some(5), vec!["x".to_string()])
        );
        let p: P = serde_json::from_value(json!({"b": false, "n": 7, "l": [1, "y"]})).unwrap();
        assert_eq!(
            (p.b, p.n, p.l),
            (Some(false), Some(7), vec!["1".to_string(), "y".into()])
        );
        let p: P = serde_json::from_value(json!({"l": {"1": "b", "0": "a"}})).unwrap();
        assert_eq!(p.l, vec!["a".to_string(), "b".into()]);
        assert!(serde_json::from_value::<P>(json!({"b": "maybe"})).is_err());
        assert!(serde_json::from_value::<P>(json!({"n": "five"})).is_err());
    }
}
