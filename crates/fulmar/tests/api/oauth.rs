//! OAuth 2 as Mastodon apps drive it: app registration, the HTML sign-in and consent
//! page followed like a browser, the token endpoint with every grant, revocation and
//! the metadata document; and every way of getting them wrong.

use base64::Engine as _;
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::db_test;
use crate::helpers::{send, TestApp};

const PASSWORD: &str = "correct horse battery staple";
const CALLBACK: &str = "https://app.example/callback";
const OOB: &str = "urn:ietf:wg:oauth:2.0:oob";

/// A registered app's credentials.
struct Client {
    client_id: String,
    client_secret: String,
}

async fn register(app: &TestApp, body: Value) -> (u16, Value) {
    send(app.client.post(app.url("/api/v1/apps")).json(&body)).await
}

async fn register_ok(app: &TestApp, redirect_uris: Value, scopes: &str) -> Client {
    let (status, body) = register(
        app,
        json!({"client_name": "Test App", "redirect_uris": redirect_uris, "scopes": scopes}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    Client {
        client_id: body["client_id"].as_str().unwrap().to_owned(),
        client_secret: body["client_secret"].as_str().unwrap().to_owned(),
    }
}

/// A PKCE verifier and its S256 challenge, computed here independently of the server.
fn pkce() -> (String, String) {
    let verifier = format!("v{}", fulmar::core::accounts::new_secret());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// What a browser gets from `GET /oauth/authorize`.
struct Page {
    status: u16,
    headers: HeaderMap,
    html: String,
}

impl Page {
    /// The CSRF token in the form's hidden field.
    fn csrf(&self) -> String {
        hidden(&self.html, "authenticity_token").expect("authenticity_token field")
    }

    /// The `name=value` of the CSRF cookie, to send back as a browser would.
    fn cookie(&self) -> String {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|v| v.starts_with("fulmar_oauth_csrf="))
            .expect("CSRF cookie")
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }
}

/// The value of a hidden field, unescaped.
fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

async fn page(res: reqwest::Response) -> Page {
    Page {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        html: res.text().await.unwrap(),
    }
}

async fn authorize_page(app: &TestApp, query: &[(&str, &str)]) -> Page {
    page(
        app.client
            .get(app.url("/oauth/authorize"))
            .query(query)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Posts the consent form back the way a browser would: every hidden field of the
/// page, plus the user's input, with the page's cookie.
async fn submit(app: &TestApp, page: &Page, cookie: Option<&str>, input: &[(&str, &str)]) -> Page {
    let mut form: Vec<(String, String)> = Vec::new();
    for name in [
        "authenticity_token",
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
    ] {
        if let Some(v) = hidden(&page.html, name) {
            form.push((name.into(), v));
        }
    }
    for (k, v) in input {
        form.retain(|(name, _)| name != k);
        form.push(((*k).into(), (*v).into()));
    }
    let mut req = app.client.post(app.url("/oauth/authorize")).form(&form);
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    self::page(req.send().await.unwrap()).await
}

/// Signs in as `login` and authorizes: returns the redirect's `Location`.
async fn sign_in(app: &TestApp, query: &[(&str, &str)], login: &str) -> String {
    let p = authorize_page(app, query).await;
    assert_eq!(p.status, 200, "{}", p.html);
    let res = submit(
        app,
        &p,
        Some(&p.cookie()),
        &[
            ("username", login),
            ("password", PASSWORD),
            ("decision", "authorize"),
        ],
    )
    .await;
    assert_eq!(res.status, 302, "{}", res.html);
    res.headers[LOCATION].to_str().unwrap().to_owned()
}

/// The query parameters of a URL.
fn query_of(location: &str) -> Vec<(String, String)> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

fn param(location: &str, name: &str) -> Option<String> {
    query_of(location)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

async fn token(app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
    send(app.client.post(app.url("/oauth/token")).form(form)).await
}

async fn exchange(
    app: &TestApp,
    c: &Client,
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.as_str()),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    token(app, &form).await
}

async fn app_credentials(app: &TestApp, token: &str) -> (u16, Value) {
    app.api_get("/api/v1/apps/verify_credentials", token).await
}

async fn count_codes(app: &TestApp) -> i64 {
    fulmar_store::with_pool!(app.db(), p => sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM oauth_authorization_codes"
    )
    .fetch_one(p)
    .await)
    .unwrap()
}

fn assert_oauth_error(status: u16, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_error, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

db_test!(
    code_flow_with_pkce_like_a_browser,
    |app: TestApp| async move {
        let alice = app.create_user("alice").await;
        let (status, registered) = register(
            &app,
            json!({
                "client_name": "Test App",
                "redirect_uris": CALLBACK,
                "scopes": "read write push",
                "website": "https://app.example"
            }),
        )
        .await;
        assert_eq!(status, 200, "{registered}");
        insta::assert_json_snapshot!("credential_application", registered, {
            ".id" => "[id]",
            ".client_id" => "[client_id]",
            ".client_secret" => "[client_secret]",
            ".vapid_key" => "[vapid_key]",
        });
        // The VAPID key is a real P-256 point, the same for every app.
        let vapid = registered["vapid_key"].as_str().unwrap();
        let point = base64::engine::general_purpose::URL_SAFE
            .decode(vapid)
            .unwrap();
        assert_eq!((point.len(), point[0]), (65, 4));
        let c = Client {
            client_id: registered["client_id"].as_str().unwrap().into(),
            client_secret: registered["client_secret"].as_str().unwrap().into(),
        };
        // The secret is stored as a digest only.
        let stored = fulmar_store::oauth::application_by_client_id(app.db(), &c.client_id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(stored.client_secret, c.client_secret);
        assert_eq!(stored.redirect_uris, CALLBACK);

        let (verifier, challenge) = pkce();
        let query = [
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("scope", "read write"),
            ("state", "st<&>ate"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("force_login", "true"),
            ("lang", "en"),
        ];
        let p = authorize_page(&app, &query).await;
        assert_eq!(p.status, 200);
        assert!(p.headers[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        assert_eq!(p.headers["x-frame-options"], "DENY");
        assert_eq!(p.headers["cache-control"], "no-store");
        let set_cookie = p.headers[SET_COOKIE].to_str().unwrap();
        assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
        assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
        assert!(p.html.contains("Test App"));
        assert!(p.html.contains("<code>read</code>") && p.html.contains("<code>write</code>"));
        assert!(
            !p.html.contains("<code>push</code>"),
            "only the scopes asked for"
        );
        assert!(p.html.contains("type=\"password\""));
        assert!(p.html.contains("value=\"authorize\"") && p.html.contains("value=\"deny\""));
        assert!(p.html.contains("st&lt;&amp;&gt;ate"), "state is escaped");
        assert!(!p.html.contains("<script"), "the page needs no JavaScript");
        assert_eq!(p.csrf(), p.cookie().split_once('=').unwrap().1);

        // Opening the page again (another tab) keeps the same token.
        let again = app
            .client
            .get(app.url("/oauth/authorize"))
            .query(&query)
            .header("Cookie", p.cookie())
            .send()
            .await
            .unwrap();
        assert_eq!(page(again).await.csrf(), p.csrf());

        let res = submit(
            &app,
            &p,
            Some(&p.cookie()),
            &[
                ("username", "alice"),
                ("password", PASSWORD),
                ("decision", "authorize"),
            ],
        )
        .await;
        assert_eq!(res.status, 302, "{}", res.html);
        let location = res.headers[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("https://app.example/callback?code="),
            "{location}"
        );
        assert_eq!(param(location, "state").as_deref(), Some("st<&>ate"));
        let code = param(location, "code").unwrap();
        // Only the code's digest is stored, with a ten-minute lifetime.
        let row = fulmar_store::oauth::code_by_hash(
            app.db(),
            &fulmar::core::accounts::token_digest(&code),
        )
        .await
        .unwrap()
        .unwrap();
        assert_ne!(row.code_hash, code);
        assert_eq!(row.expires_at - row.created_at, 10 * 60 * 1000);
        assert_eq!(row.scopes, "read write");
        assert_eq!(row.code_challenge_method.as_deref(), Some("S256"));

        // Unknown fields are ignored, as Mastodon.py sends some.
        let (status, tok) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", &verifier),
                ("scope", "read write"),
                ("unknown_extra", "1"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{tok}");
        insta::assert_json_snapshot!("token_response", tok, {
            ".access_token" => "[token]",
            ".created_at" => "[unix seconds]",
        });
        let now_s = chrono::Utc::now().timestamp();
        assert!((now_s - tok["created_at"].as_i64().unwrap()).abs() < 60);
        let access = tok["access_token"].as_str().unwrap();

        let stored = fulmar_store::tokens::active_by_hash(
            app.db(),
            &fulmar::core::accounts::token_digest(access),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(stored.application_id, Some(row.application_id));
        assert_eq!(stored.scopes, "read write");
        let user = fulmar_store::users::by_account_id(app.db(), alice.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.user_id, Some(user.id));

        let (status, verified) = app_credentials(&app, access).await;
        assert_eq!(status, 200, "{verified}");
        insta::assert_json_snapshot!("application", verified, {
            ".id" => "[id]",
            ".vapid_key" => "[vapid_key]",
        });
        assert_eq!(verified["vapid_key"], vapid);
        assert_eq!(verified["id"], registered["id"]);
    }
);

db_test!(
    oob_flow_shows_the_code_and_email_signs_in,
    |app: TestApp| async move {
        app.create_user("bob").await;
        let c = register_ok(&app, json!(OOB), "read").await;
        let p = authorize_page(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", OOB),
            ],
        )
        .await;
        assert_eq!(p.status, 200);
        let res = submit(
            &app,
            &p,
            Some(&p.cookie()),
            &[("username", "BOB@example.org"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(res.status, 200, "{}", res.html);
        assert!(res.headers.get(LOCATION).is_none());
        assert!(res.html.contains("Authorization code"));
        let code = {
            let marker = "readonly value=\"";
            let start = res.html.find(marker).unwrap() + marker.len();
            res.html[start..start + 43].to_owned()
        };
        let (status, tok) = exchange(&app, &c, &code, OOB, None).await;
        assert_eq!(status, 200, "{tok}");
        assert_eq!(tok["scope"], "read");
        let (status, _) = app_credentials(&app, tok["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200);
    }
);

db_test!(
    custom_scheme_apps_get_their_code,
    |app: TestApp| async move {
        app.create_user("carol").await;
        for (scheme_uri, prefix) in [
            ("icecubesapp://", "icecubesapp://?code="),
            (
                "com.tapbots.Ivory.10217:/request_token",
                "com.tapbots.Ivory.10217:/request_token?code=",
            ),
        ] {
            let c = register_ok(&app, json!([scheme_uri, CALLBACK]), "read write follow").await;
            let location = sign_in(
                &app,
                &[
                    ("response_type", "code"),
                    ("client_id", &c.client_id),
                    ("redirect_uri", scheme_uri),
                    ("scope", "read+write+follow"),
                ],
                "@carol",
            )
            .await;
            assert!(location.starts_with(prefix), "{location}");
            let code = param(&location, "code").unwrap();
            let (status, tok) = exchange(&app, &c, &code, scheme_uri, None).await;
            assert_eq!(status, 200, "{tok}");
            assert_eq!(tok["scope"], "read write follow");
        }
    }
);

db_test!(
    deny_and_bad_requests_go_back_to_the_app,
    |app: TestApp| async move {
        app.create_user("dave").await;
        let c = register_ok(&app, json!(CALLBACK), "read").await;
        let base = [
            ("response_type", "code"),
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", CALLBACK),
            ("state", "s1"),
        ];

        // Deny needs no password, but a valid form.
        let p = authorize_page(&app, &base).await;
        let res = submit(&app, &p, Some(&p.cookie()), &[("decision", "deny")]).await;
        assert_eq!(res.status, 302);
        let location = res.headers[LOCATION].to_str().unwrap();
        assert_eq!(param(location, "error").as_deref(), Some("access_denied"));
        assert_eq!(param(location, "state").as_deref(), Some("s1"));
        assert!(param(location, "code").is_none());

        let (_, challenge) = pkce();
        for (extra, error) in [
            (vec![("scope", "read write")], "invalid_scope"),
            (vec![("scope", "read nonsense")], "invalid_scope"),
            (
                vec![
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
            ),
            (
                vec![("code_challenge", challenge.as_str())],
                "invalid_request",
            ),
            (
                vec![
                    ("code_challenge", "too-short"),
                    ("code_challenge_method", "S256"),
                ],
                "invalid_request",
            ),
            (
                vec![("response_type", "token")],
                "unsupported_response_type",
            ),
        ] {
            let mut query: Vec<(&str, &str)> = base.to_vec();
            query.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
            query.extend(extra.iter().copied());
            let p = authorize_page(&app, &query).await;
            assert_eq!(p.status, 302, "{extra:?}: {}", p.html);
            let location = p.headers[LOCATION].to_str().unwrap();
            assert!(location.starts_with(CALLBACK), "{location}");
            assert_eq!(
                param(location, "error").as_deref(),
                Some(error),
                "{extra:?}"
            );
            assert_eq!(param(location, "state").as_deref(), Some("s1"));
        }

        // response_mode=fragment puts the answer in the fragment.
        let mut query = base.to_vec();
        query.push(("response_mode", "fragment"));
        let location = sign_in(&app, &query, "dave").await;
        assert!(
            location.starts_with("https://app.example/callback#code="),
            "{location}"
        );
        assert_eq!(count_codes(&app).await, 1);
    }
);

db_test!(
    unknown_clients_and_unregistered_redirects_never_redirect,
    |app: TestApp| async move {
        app.create_user("erin").await;
        let c = register_ok(&app, json!([CALLBACK, "icecubesapp://"]), "read").await;
        for query in [
            vec![
                ("response_type", "code"),
                ("client_id", c.client_id.as_str()),
                ("redirect_uri", "https://evil.example/cb"),
            ],
            vec![
                ("response_type", "code"),
                ("client_id", c.client_id.as_str()),
                ("redirect_uri", "https://app.example.evil/callback"),
            ],
            vec![
                ("response_type", "code"),
                ("client_id", c.client_id.as_str()),
                ("redirect_uri", OOB),
            ],
            // Two URIs are registered, so one must be named.
            vec![
                ("response_type", "code"),
                ("client_id", c.client_id.as_str()),
            ],
            vec![
                ("response_type", "code"),
                ("client_id", "nope"),
                ("redirect_uri", CALLBACK),
            ],
            vec![("response_type", "code"), ("redirect_uri", CALLBACK)],
        ] {
            let p = authorize_page(&app, &query).await;
            assert_eq!(p.status, 400, "{query:?}");
            assert!(p.headers.get(LOCATION).is_none(), "{query:?}");
            assert!(p.headers[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert!(p.html.contains("An error has occurred"), "{}", p.html);
        }

        // A valid page whose redirect_uri is swapped before posting gets no code either.
        let p = authorize_page(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
        let res = submit(
            &app,
            &p,
            Some(&p.cookie()),
            &[
                ("redirect_uri", "https://evil.example/cb"),
                ("username", "erin"),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_eq!(res.status, 400);
        assert!(res.headers.get(LOCATION).is_none());
        assert_eq!(count_codes(&app).await, 0);

        // With one registered URI it may be left out; extra query parameters on a
        // registered URI are allowed, as in Doorkeeper.
        let single = register_ok(&app, json!(CALLBACK), "read").await;
        let location = sign_in(
            &app,
            &[("response_type", "code"), ("client_id", &single.client_id)],
            "erin",
        )
        .await;
        assert!(location.starts_with("https://app.example/callback?code="));
        let with_query = format!("{CALLBACK}?instance=fulmar.test");
        let location = sign_in(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &single.client_id),
                ("redirect_uri", &with_query),
            ],
            "erin",
        )
        .await;
        assert!(
            location.starts_with("https://app.example/callback?instance=fulmar.test&code="),
            "{location}"
        );
        let code = param(&location, "code").unwrap();
        // The token request names the URI the code was sent to.
        let (status, body) = exchange(&app, &single, &code, CALLBACK, None).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = exchange(&app, &single, &code, &with_query, None).await;
        assert_eq!(status, 200, "{body}");
    }
);

db_test!(
    wrong_passwords_get_the_form_again_and_no_code,
    |app: TestApp| async move {
        app.create_user("frank").await;
        let c = register_ok(&app, json!(CALLBACK), "read").await;
        let p = authorize_page(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
        let mut answers = Vec::new();
        for (login, password) in [
            ("frank", "wrong password!"),
            ("nobody", PASSWORD),
            ("nobody@example.org", "x"),
            ("frank", ""),
        ] {
            let res = submit(
                &app,
                &p,
                Some(&p.cookie()),
                &[
                    ("username", login),
                    ("password", password),
                    ("decision", "authorize"),
                ],
            )
            .await;
            assert_eq!(res.status, 422, "{login}");
            assert!(res.headers.get(LOCATION).is_none());
            assert!(res
                .html
                .contains("Wrong username, email address or password."));
            // The form comes back, ready for another try.
            assert_eq!(res.csrf(), p.csrf());
            answers.push(res.html.replace(login, "LOGIN"));
        }
        // An unknown user and a wrong password read exactly alike.
        assert_eq!(answers[0], answers[1]);
        assert_eq!(count_codes(&app).await, 0);
    }
);

db_test!(
    forms_without_the_csrf_token_decide_nothing,
    |app: TestApp| async move {
        app.create_user("gina").await;
        let c = register_ok(&app, json!(CALLBACK), "read").await;
        let p = authorize_page(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", CALLBACK),
            ],
        )
        .await;
        let login = [
            ("username", "gina"),
            ("password", PASSWORD),
            ("decision", "authorize"),
        ];
        let forged = format!("fulmar_oauth_csrf={}", fulmar::core::accounts::new_secret());
        for (cookie, field) in [
            // No cookie: a cross-site POST.
            (None, Some(p.csrf())),
            // No field.
            (Some(p.cookie()), Some(String::new())),
            // A field that is not the cookie's.
            (Some(p.cookie()), Some(fulmar::core::accounts::new_secret())),
            (Some(forged.clone()), Some(p.csrf())),
        ] {
            let mut input = login.to_vec();
            let field = field.unwrap();
            input.push(("authenticity_token", field.as_str()));
            let res = submit(&app, &p, cookie.as_deref(), &input).await;
            assert_eq!(res.status, 403, "{cookie:?}");
            assert!(res.headers.get(LOCATION).is_none());
            assert!(res.html.contains("This form has expired"));
        }
        // Deny is a decision too.
        let res = submit(&app, &p, None, &[("decision", "deny")]).await;
        assert_eq!(res.status, 403);
        assert_eq!(count_codes(&app).await, 0);
    }
);

db_test!(
    codes_are_single_use_and_bound_to_client_uri_and_verifier,
    |app: TestApp| async move {
        app.create_user("hank").await;
        let c = register_ok(&app, json!(CALLBACK), "read write").await;
        let other = register_ok(&app, json!(CALLBACK), "read write").await;
        let (verifier, challenge) = pkce();
        let location = sign_in(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", CALLBACK),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
            "hank",
        )
        .await;
        let code = param(&location, "code").unwrap();

        // Refusals that leave the code usable by its rightful client.
        let (status, body) = exchange(&app, &c, &code, CALLBACK, None).await;
        assert_oauth_error(status, &body, 400, "invalid_request");
        let (status, body) = exchange(&app, &c, &code, CALLBACK, Some("wrong-verifier")).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = exchange(
            &app,
            &c,
            &code,
            "https://app.example/other",
            Some(&verifier),
        )
        .await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = exchange(&app, &other, &code, CALLBACK, Some(&verifier)).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = exchange(&app, &c, "not-a-code", CALLBACK, Some(&verifier)).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("code", &code),
            ],
        )
        .await;
        assert_oauth_error(status, &body, 400, "invalid_request");

        let (status, tok) = exchange(&app, &c, &code, CALLBACK, Some(&verifier)).await;
        assert_eq!(status, 200, "{tok}");
        assert_eq!(tok["scope"], "read", "no scope asked: Mastodon's default");
        let access = tok["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app_credentials(&app, &access).await.0, 200);

        // A second use fails, and revokes the token the code gave (RFC 6749 4.1.2).
        let (status, body) = exchange(&app, &c, &code, CALLBACK, Some(&verifier)).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
        let (status, body) = app_credentials(&app, &access).await;
        assert_eq!(status, 401, "{body}");

        // A verifier for a code issued without a challenge is refused too.
        let location = sign_in(
            &app,
            &[
                ("response_type", "code"),
                ("client_id", &c.client_id),
                ("redirect_uri", CALLBACK),
            ],
            "hank",
        )
        .await;
        let plain = param(&location, "code").unwrap();
        let (status, body) = exchange(&app, &c, &plain, CALLBACK, Some(&verifier)).await;
        assert_oauth_error(status, &body, 400, "invalid_grant");
    }
);

db_test!(expired_codes_are_refused, |app: TestApp| async move {
    app.create_user("ivy").await;
    let c = register_ok(&app, json!(CALLBACK), "read").await;
    let location = sign_in(
        &app,
        &[
            ("response_type", "code"),
            ("client_id", &c.client_id),
            ("redirect_uri", CALLBACK),
        ],
        "ivy",
    )
    .await;
    let code = param(&location, "code").unwrap();
    let past = fulmar::core::time::now_ms() - 1;
    fulmar_store::with_pool!(app.db(), p => sqlx::query(
            "UPDATE oauth_authorization_codes SET expires_at = $1"
        )
        .bind(past)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))
    .unwrap();
    let (status, body) = exchange(&app, &c, &code, CALLBACK, None).await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
});

db_test!(
    client_credentials_tokens_act_for_the_app_alone,
    |app: TestApp| async move {
        let c = register_ok(&app, json!(OOB), "read write").await;
        let (status, tok) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("scope", "read"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{tok}");
        assert_eq!(tok["token_type"], "Bearer");
        let access = tok["access_token"].as_str().unwrap();
        let row = fulmar_store::tokens::active_by_hash(
            app.db(),
            &fulmar::core::accounts::token_digest(access),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(row.user_id, None);
        let (status, body) = app_credentials(&app, access).await;
        assert_eq!(status, 200);
        assert_eq!(body["name"], "Test App");

        // HTTP Basic client authentication, and a JSON body (masto.js).
        let (status, tok) = send(
            app.client
                .post(app.url("/oauth/token"))
                .basic_auth(&c.client_id, Some(&c.client_secret))
                .json(&json!({"grant_type": "client_credentials", "scope": "write"})),
        )
        .await;
        assert_eq!(status, 200, "{tok}");
        assert_eq!(tok["scope"], "write");

        // More than the app registered.
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
                ("scope", "read follow"),
            ],
        )
        .await;
        assert_oauth_error(status, &body, 400, "invalid_scope");
    }
);

db_test!(password_grant_for_scripts, |app: TestApp| async move {
    app.create_user("jack").await;
    let active = |app: &TestApp| {
        let url = app.url("/nodeinfo/2.1");
        let client = app.client.clone();
        async move {
            let doc: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            doc["usage"]["users"]["activeMonth"].clone()
        }
    };
    assert_eq!(active(&app).await, 0, "not signed in yet");
    let c = register_ok(&app, json!(OOB), "read write").await;
    let grant = |login: &'static str, password: &'static str, scope: &'static str| {
        let c = &c;
        let app = &app;
        async move {
            token(
                app,
                &[
                    ("grant_type", "password"),
                    ("client_id", &c.client_id),
                    ("client_secret", &c.client_secret),
                    ("username", login),
                    ("password", password),
                    ("scope", scope),
                ],
            )
            .await
        }
    };
    let (status, tok) = grant("jack", PASSWORD, "read write").await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["scope"], "read write");
    // A sign-in makes the user active in NodeInfo's counts.
    assert_eq!(active(&app).await, 1);
    let (status, tok) = grant("jack@example.org", PASSWORD, "").await;
    assert_eq!(status, 200, "{tok}");
    assert_eq!(tok["scope"], "read");

    let (status, body) = grant("jack", "wrong password", "read").await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
    let (status, body) = grant("nobody", PASSWORD, "read").await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
    let (status, body) = grant("jack", PASSWORD, "read follow").await;
    assert_oauth_error(status, &body, 400, "invalid_scope");
    let (status, body) = grant("", "", "read").await;
    assert_oauth_error(status, &body, 400, "invalid_request");
});

db_test!(
    token_endpoint_refuses_bad_clients_and_requests,
    |app: TestApp| async move {
        let c = register_ok(&app, json!(OOB), "read").await;
        for form in [
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", "wrong"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", "unknown"),
                ("client_secret", c.client_secret.as_str()),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("client_id", c.client_id.as_str()),
            ],
            vec![("grant_type", "client_credentials")],
        ] {
            let res = app
                .client
                .post(app.url("/oauth/token"))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{form:?}");
            assert!(res.headers().contains_key("www-authenticate"));
            let body: Value = res.json().await.unwrap();
            assert_oauth_error(401, &body, 401, "invalid_client");
        }
        let (status, body) = send(
            app.client
                .post(app.url("/oauth/token"))
                .basic_auth(&c.client_id, Some("wrong"))
                .form(&[("grant_type", "client_credentials")]),
        )
        .await;
        assert_oauth_error(status, &body, 401, "invalid_client");

        let (status, body) = token(
            &app,
            &[
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
            ],
        )
        .await;
        assert_oauth_error(status, &body, 400, "invalid_request");
        let (status, body) = token(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
            ],
        )
        .await;
        assert_oauth_error(status, &body, 400, "unsupported_grant_type");

        let res = app
            .client
            .post(app.url("/oauth/token"))
            .header("Content-Type", "application/json")
            .body("{\"grant_type\": ")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: Value = res.json().await.unwrap();
        assert_oauth_error(400, &body, 400, "invalid_request");
    }
);

db_test!(revoked_tokens_stop_working, |app: TestApp| async move {
    let c = register_ok(&app, json!(OOB), "read").await;
    let other = register_ok(&app, json!(OOB), "read").await;
    let issue = |c: &Client| {
        let form = vec![
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("client_id".to_owned(), c.client_id.clone()),
            ("client_secret".to_owned(), c.client_secret.clone()),
        ];
        let app = &app;
        async move {
            let (status, tok) = send(app.client.post(app.url("/oauth/token")).form(&form)).await;
            assert_eq!(status, 200);
            tok["access_token"].as_str().unwrap().to_owned()
        }
    };
    let access = issue(&c).await;
    let revoke = |token: String, c: &Client| {
        let form = vec![
            ("token".to_owned(), token),
            ("client_id".to_owned(), c.client_id.clone()),
            ("client_secret".to_owned(), c.client_secret.clone()),
        ];
        let app = &app;
        async move { send(app.client.post(app.url("/oauth/revoke")).form(&form)).await }
    };

    // Another app cannot revoke it.
    let (status, body) = revoke(access.clone(), &other).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(app_credentials(&app, &access).await.0, 200);

    assert_eq!(revoke(access.clone(), &c).await, (200, json!({})));
    let (status, body) = app_credentials(&app, &access).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "The access token is invalid");
    // Idempotent, and unknown tokens are no error (RFC 7009).
    assert_eq!(revoke(access.clone(), &c).await, (200, json!({})));
    assert_eq!(revoke("no-such-token".into(), &c).await, (200, json!({})));

    // JSON bodies work too.
    let access = issue(&c).await;
    let (status, body) = send(app.client.post(app.url("/oauth/revoke")).json(&json!({
        "token": access, "client_id": c.client_id, "client_secret": c.client_secret
    })))
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(app_credentials(&app, &access).await.0, 401);
});

db_test!(
    apps_register_from_query_form_and_json,
    |app: TestApp| async move {
        // An array of URIs, as JSON.
        let (status, body) = register(
            &app,
            json!({"client_name": "Multi", "redirect_uris": ["icecubesapp://", "com.tapbots.Ivory.10217:/request_token", OOB]}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        insta::assert_json_snapshot!("credential_application_multi", body, {
            ".id" => "[id]",
            ".client_id" => "[client_id]",
            ".client_secret" => "[client_secret]",
            ".vapid_key" => "[vapid_key]",
        });

        // A newline-separated string, as a form.
        let (status, body) = send(app.client.post(app.url("/api/v1/apps")).form(&[
            ("client_name", "Form"),
            (
                "redirect_uris",
                "https://a.example/cb\nhttps://a.example/cb2",
            ),
            ("scopes", "read write:statuses"),
        ]))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["redirect_uris"],
            json!(["https://a.example/cb", "https://a.example/cb2"])
        );
        assert_eq!(
            body["redirect_uri"],
            "https://a.example/cb\nhttps://a.example/cb2"
        );
        assert_eq!(body["scopes"], json!(["read", "write:statuses"]));
        assert_eq!(body["website"], Value::Null);

        // Rails-style arrays in a form, and everything in the query string.
        let (status, body) = send(app.client.post(app.url("/api/v1/apps")).form(&[
            ("client_name", "Brackets"),
            ("redirect_uris[]", "https://a.example/1"),
            ("redirect_uris[]", "https://a.example/2"),
        ]))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["redirect_uris"],
            json!(["https://a.example/1", "https://a.example/2"])
        );
        assert_eq!(body["scopes"], json!(["read"]));
        let (status, body) = send(app.client.post(app.url("/api/v1/apps")).query(&[
            ("client_name", "Query"),
            ("redirect_uris", OOB),
            ("scopes", "read write follow push"),
        ]))
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scopes"], json!(["read", "write", "follow", "push"]));

        // Secrets differ between apps.
        let a = register_ok(&app, json!(OOB), "read").await;
        let b = register_ok(&app, json!(OOB), "read").await;
        assert_ne!(a.client_id, b.client_id);
        assert_ne!(a.client_secret, b.client_secret);
    }
);

db_test!(
    apps_refuse_invalid_registrations,
    |app: TestApp| async move {
        for (body, error) in [
            (
                json!({"redirect_uris": OOB}),
                "Validation failed: Application name can't be blank",
            ),
            (
                json!({"client_name": "  ", "redirect_uris": OOB}),
                "Validation failed: Application name can't be blank",
            ),
            (
                json!({"client_name": "x".repeat(61), "redirect_uris": OOB}),
                "Validation failed: Application name is too long (maximum is 60 characters)",
            ),
            (
                json!({"client_name": "A"}),
                "Validation failed: Redirect URI can't be blank",
            ),
            (
                json!({"client_name": "A", "redirect_uris": "/callback"}),
                "Validation failed: Redirect URI must be an absolute URI.",
            ),
            (
                json!({"client_name": "A", "redirect_uris": "https://a.example/cb#frag"}),
                "Validation failed: Redirect URI cannot contain a fragment.",
            ),
            (
                json!({"client_name": "A", "redirect_uris": ["https://a.example/cb", "javascript://x"]}),
                "Validation failed: Redirect URI is forbidden by the server.",
            ),
            (
                json!({"client_name": "A", "redirect_uris": OOB, "scopes": "read admin:everything"}),
                "Validation failed: Scopes doesn't match configured on the server.",
            ),
            (
                json!({"client_name": "A", "redirect_uris": OOB, "website": "not a url"}),
                "Validation failed: Application website is invalid",
            ),
            (
                json!({"client_name": {"nested": 1}, "redirect_uris": OOB}),
                "",
            ),
        ] {
            let (status, got) = register(&app, body.clone()).await;
            assert_eq!(status, 422, "{body}: {got}");
            if !error.is_empty() {
                assert_eq!(got["error"], error, "{body}");
            }
        }
        let (status, body) = send(
            app.client
                .post(app.url("/api/v1/apps"))
                .header("Content-Type", "application/json")
                .body("{\"client_name\": \"A\","),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"].is_string());
        let n: i64 = fulmar_store::with_pool!(app.db(), p => sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM oauth_applications"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(n, 0);
    }
);

db_test!(
    app_verify_credentials_needs_an_app_token,
    |app: TestApp| async move {
        let res = app.get("/api/v1/apps/verify_credentials").await;
        assert_eq!(res.status(), 401);
        let (status, _) = app_credentials(&app, "not-a-token").await;
        assert_eq!(status, 401);
        // Tokens from `fulmar admin token` belong to no app.
        let (_, admin_token) = app.user_with_token("kate", "read").await;
        let (status, _) = app_credentials(&app, &admin_token).await;
        assert_eq!(status, 404);
        // Any scope will do (Mastodon 4.3 dropped the `read` requirement).
        let c = register_ok(&app, json!(OOB), "write:statuses").await;
        let (_, tok) = token(
            &app,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &c.client_id),
                ("client_secret", &c.client_secret),
            ],
        )
        .await;
        assert_eq!(tok["scope"], "write:statuses");
        let (status, body) = app_credentials(&app, tok["access_token"].as_str().unwrap()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["scopes"], json!(["write:statuses"]));
    }
);

db_test!(
    metadata_document_describes_the_server,
    |app: TestApp| async move {
        let res = app.get("/.well-known/oauth-authorization-server").await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["access-control-allow-origin"], "*");
        let body: Value = res.json().await.unwrap();
        insta::assert_json_snapshot!("oauth_metadata", body);
        assert_eq!(
            body["scopes_supported"].as_array().unwrap().len(),
            fulmar::core::scopes::KNOWN.len()
        );
    }
);
