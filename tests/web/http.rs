//! The dashboard over plain HTTP: what a browser can't easily show (status codes, headers).

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use super::{base_of, fill, standalone, standalone_on, GMAIL_CASE, SECRET, YAHOO_CASE};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

/// Logs in through `link`: the session cookie's `name=value`, and the whole header.
async fn login(client: &reqwest::Client, link: &str) -> (String, String) {
    let response = client.get(link).send().await.expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/queue");
    let header = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    let pair = header.split(';').next().unwrap().to_string();
    (pair, header)
}

async fn get(client: &reqwest::Client, url: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut request = client.get(url);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let response = request.send().await.expect("GET");
    (response.status(), response.text().await.unwrap_or_default())
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sessions_links_csrf_filters_and_export() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), "11", GMAIL_CASE);
    fill(
        dir.path(),
        "22",
        &format!("{YAHOO_CASE}/mod resolve fixed with the right port\n"),
    );
    let (_dashboard, link) = standalone(dir.path(), None);
    let base = base_of(&link);
    assert!(link.starts_with("http://127.0.0.1:"), "{link}");
    let client = client();

    // No page renders without a session: 401, saying how to get in.
    for path in [
        "/queue",
        "/case/11",
        "/trends",
        "/export.csv",
        "/export.jsonl",
    ] {
        let (status, body) = get(&client, &format!("{base}{path}"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body.contains("/triage dashboard"), "{path}: {body}");
        assert!(!body.contains("4821937"), "{path}: {body}");
    }
    // A made-up session is no session.
    let (status, _) = get(
        &client,
        &format!("{base}/queue"),
        Some("imap_triage_session=00"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A forged link (another expiry) is refused, and does not use up the real one.
    let forged = link.replacen(".17", ".27", 1).replacen(".18", ".28", 1);
    assert_ne!(forged, link);
    let (status, body) = get(&client, &forged, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("signature is wrong"), "{body}");

    // The link works once; the cookie is HttpOnly, SameSite=Strict, 12 h, not Secure on http.
    let (cookie, header) = login(&client, &link).await;
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(header.contains(flag), "{header}");
    }
    assert!(!header.contains("Secure"), "{header}");
    let (status, body) = get(&client, &link, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("already used"), "{body}");

    // The queue, filtered by Hub ID, provider, error code and status.
    let (status, all) = get(&client, &format!("{base}/queue"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        all.contains("/case/11") && all.contains("/case/22"),
        "{all}"
    );
    assert!(all.contains("2 cases"), "{all}");
    for (query, shown, hidden) in [
        ("hub=4821937", "/case/11", "/case/22"),
        ("provider=yahoo", "/case/22", "/case/11"),
        ("error=imap_auth_error", "/case/11", "/case/22"),
        ("status=resolved", "/case/22", "/case/11"),
    ] {
        let (_, page) = get(&client, &format!("{base}/queue?{query}"), Some(&cookie)).await;
        assert!(
            page.contains(shown) && !page.contains(hidden),
            "{query}: {page}"
        );
    }
    let (status, page) = get(&client, &format!("{base}/queue?hub=12"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Hub ID is 4 to 10 digits"), "{page}");

    // Export: the log CLI's CSV and JSONL, with the same filters.
    let (status, csv) = get(
        &client,
        &format!("{base}/export.csv?hub=4821937"),
        Some(&cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], imap_triage::store::query::CSV_HEADER);
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with("11,waiting_on_member,"), "{csv}");
    let (_, jsonl) = get(
        &client,
        &format!("{base}/export.jsonl?provider=yahoo"),
        Some(&cookie),
    )
    .await;
    let row: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(row["thread"], 22);
    assert_eq!(row["status"], "resolved");

    // The case page and the trends page render; no page shows the member's password.
    let (status, case) = get(&client, &format!("{base}/case/11"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        case.contains("Timeline") && case.contains("Evidence"),
        "{case}"
    );
    let (status, trends) = get(&client, &format!("{base}/trends"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        trends.contains("<svg") && trends.contains("imap_auth_error"),
        "{trends}"
    );
    for page in [&all, &case, &trends, &csv, &jsonl] {
        assert!(!page.contains(SECRET), "{page}");
    }

    // State changes need the session's CSRF token; the standalone dashboard then refuses
    // actions with the reason.
    let action = format!("{base}/case/11/action");
    let post = |form: Vec<(&'static str, String)>| {
        client
            .post(&action)
            .header(COOKIE, &cookie)
            .form(&form)
            .send()
    };
    let refused = post(vec![("action", "reopen".into())]).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = post(vec![("action", "reopen".into()), ("csrf", "0".repeat(64))])
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let csrf = csrf_of(&case);
    let response = post(vec![
        ("action", "resolve".into()),
        ("reason", "fixed".into()),
        ("csrf", csrf.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("the running bot holds the store") || body.contains("no Discord connection"),
        "{body}"
    );
    // Nothing changed.
    let (_, after) = get(&client, &format!("{base}/case/11"), Some(&cookie)).await;
    assert!(!after.contains("Resolved by"), "{after}");

    // Logout needs the token too, and ends the session.
    let response = client
        .post(format!("{base}/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = client
        .post(format!("{base}/logout"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, _) = get(&client, &format!("{base}/queue"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The operator's routes are on the same server, without a session.
    let (status, metrics) = get(&client, &format!("{base}/metrics"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains("imap_triage_events_handled_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure_and_the_key_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), "11", GMAIL_CASE);
    let config = dir.path().join("settings.toml");
    std::fs::write(
        &config,
        "[web]\npublic_url = \"https://triage.example.org/\"\n",
    )
    .unwrap();
    // A free loopback port, so that the https link's token can be used on it directly.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (running, link) = standalone_on(dir.path(), Some(&config), &format!("127.0.0.1:{port}"));
    assert!(
        link.starts_with("https://triage.example.org/login?token="),
        "{link}"
    );
    let token = link.split("token=").nth(1).unwrap().to_string();
    let client = client();
    let (_, header) = login(
        &client,
        &format!("http://127.0.0.1:{port}/login?token={token}"),
    )
    .await;
    assert!(header.contains("; Secure"), "{header}");
    drop(running);

    // A second run without the https URL: no Secure flag. The generated key was kept in the
    // store: the first run's link verifies here, and is refused only as unknown to this
    // process (it was used, and issued before the restart), not as forged.
    let (_plain, plain_link) = standalone(dir.path(), None);
    let (_, header) = login(&client, &plain_link).await;
    assert!(!header.contains("Secure"), "{header}");
    let (status, body) = get(
        &client,
        &format!("{}/login?token={token}", base_of(&plain_link)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body.contains("issued before the dashboard restarted"),
        "{body}"
    );
}

#[tokio::test]
async fn while_the_store_is_held_the_dashboard_reads_a_copy_and_refuses_actions() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), "11", GMAIL_CASE);
    // A console session holds the store's lock, as the running bot does.
    let mut holder = super::Running::start(
        super::bin()
            .args(["console", "--thread", "33"])
            .current_dir(dir.path()),
    );
    holder.type_line("/mod dashboard");
    holder.dashboard_link();
    let (_dashboard, link) = standalone(dir.path(), None);
    let base = base_of(&link);
    let client = client();
    let (cookie, _) = login(&client, &link).await;
    let (status, case) = get(&client, &format!("{base}/case/11"), Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(case.contains("A read-only copy of the store"), "{case}");
    let response = client
        .post(format!("{base}/case/11/action"))
        .header(COOKIE, &cookie)
        .form(&[("csrf", csrf_of(&case).as_str()), ("action", "escalate")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body = response.text().await.unwrap();
    assert!(body.contains("the running bot holds the store"), "{body}");
}
