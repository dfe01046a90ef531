//! Reading the media attachments of objects in the shapes servers send.

use fulmar_federation::from_activitypub::{parse_object, RemoteAttachment, MAX_ATTACHMENTS};
use serde_json::{json, Value};

fn attachments_of(attachment: Value) -> Vec<RemoteAttachment> {
    parse_object(&json!({
        "id": "https://x.example/n/1", "type": "Note",
        "attributedTo": "https://x.example/users/a",
        "content": "<p>hi</p>",
        "attachment": attachment,
    }))
    .unwrap()
    .attachments
}

#[test]
fn a_single_object_is_one_attachment() {
    let got = attachments_of(json!({
        "type": "Document", "mediaType": "image/png",
        "url": "https://x.example/m/1.png", "name": "Alt",
        "blurhash": "LKO2?U%2Tw=w]~RBVZRi};RPxuwH",
        "width": 1200, "height": 800, "focalPoint": [0.5, -2.0]
    }));
    assert_eq!(
        got,
        vec![RemoteAttachment {
            url: "https://x.example/m/1.png".into(),
            kind: "Document".into(),
            media_type: Some("image/png".into()),
            name: Some("Alt".into()),
            blurhash: Some("LKO2?U%2Tw=w]~RBVZRi};RPxuwH".into()),
            width: Some(1200),
            height: Some(800),
            // Out-of-range coordinates are clamped.
            focal_point: Some((0.5, -1.0)),
        }]
    );
}

#[test]
fn an_array_keeps_media_in_order_and_skips_the_rest() {
    let got = attachments_of(json!([
        {"type": "Image", "url": "https://x.example/m/1.jpg"},
        {"type": "PropertyValue", "name": "k", "value": "v"},
        {"type": "Document", "url": "javascript:alert(1)"},
        {"type": "Document", "url": "/relative.png"},
        {"type": "Document"},
        "https://x.example/just-a-string",
        {"type": "Link", "mediaType": "text/html", "href": "https://x.example/page"},
        {"type": "Video", "mediaType": "video/mp4", "url": "https://x.example/m/2.mp4",
         "width": "wide", "name": ""}
    ]));
    let urls: Vec<&str> = got.iter().map(|a| a.url.as_str()).collect();
    assert_eq!(
        urls,
        vec!["https://x.example/m/1.jpg", "https://x.example/m/2.mp4"]
    );
    assert_eq!(got[1].kind, "Video");
    assert_eq!(got[1].width, None);
    assert_eq!(got[1].name, None);
}

#[test]
fn url_as_an_array_of_links_picks_the_file() {
    let got = attachments_of(json!([{
        "type": "Video",
        "url": [
            {"type": "Link", "mediaType": "text/html", "href": "https://x.example/w/1"},
            {"type": "Link", "mediaType": "video/mp4", "href": "https://x.example/v/1.mp4"}
        ]
    }, {
        "type": "Image",
        "url": {"type": "Link", "mediaType": "image/webp", "href": "https://x.example/i.webp"}
    }]));
    assert_eq!(got[0].url, "https://x.example/v/1.mp4");
    assert_eq!(got[0].media_type.as_deref(), Some("video/mp4"));
    assert_eq!(got[1].url, "https://x.example/i.webp");
    assert_eq!(got[1].media_type.as_deref(), Some("image/webp"));
}

#[test]
fn at_most_sixteen_are_kept() {
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"type": "Image", "url": format!("https://x.example/{i}.jpg")}))
        .collect();
    let got = attachments_of(Value::Array(many));
    assert_eq!(got.len(), MAX_ATTACHMENTS);
    assert_eq!(MAX_ATTACHMENTS, 16);
    assert_eq!(got[15].url, "https://x.example/15.jpg");
}

#[test]
fn no_attachment_is_no_media() {
    assert!(attachments_of(Value::Null).is_empty());
    assert!(attachments_of(json!("https://x.example/1.jpg")).is_empty());
}
