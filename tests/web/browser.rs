//! The dashboard in Chromium (Debian's `chromium` and `chromium-driver`, which
//! `scripts/system-deps browser` installs), driven through chromedriver with fantoccini.
//! Screenshots at a laptop and a phone width go to `target/browser-artifacts/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use super::{base_of, fill, standalone, Running, GMAIL_CASE, SECRET, YAHOO_CASE};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const LAPTOP: (u32, u32) = (1366, 900);
/// A phone's width; the heights are tall enough that one screenshot shows the whole page.
const LAPTOP_TALL: (u32, u32) = (1366, 2400);
const PHONE_TALL: (u32, u32) = (390, 3600);

fn artifacts() -> PathBuf {
    let dir = testkit::repository().join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    dir
}

/// chromedriver on a free loopback port, and a headless Chromium session that downloads into
/// `downloads`.
async fn browser(downloads: &Path) -> (Running, Client) {
    for path in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: run `scripts/system-deps browser` (chromium chromium-driver fonts-liberation)"
        );
    }
    // Both ring and aws-lc-rs are in the tree (fantoccini's hyper-rustls brings the latter):
    // rustls then needs to be told which one to use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Running::start(
        std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1"),
    );
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--hide-scrollbars",
                     format!("--window-size={},{}", LAPTOP.0, LAPTOP.1)],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        }),
    );
    // chromedriver takes a moment to listen: bounded retries.
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("chromedriver did not start: {last:?}");
}

async fn shot(client: &Client, name: &str, size: (u32, u32)) {
    client
        .set_window_size(size.0, size.1)
        .await
        .expect("resize");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).expect("save screenshot");
}

async fn source(client: &Client) -> String {
    client.source().await.expect("page source")
}

/// The page's source once it contains `text` (a click that submits a form may return before
/// the next page has loaded); bounded.
async fn wait_for(client: &Client, text: &str) -> String {
    let mut page = String::new();
    for _ in 0..100 {
        page = source(client).await;
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed {text:?}: {page}");
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(client: &Client, css: &str, text: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Waits (bounded) for a file in `dir` named `name`, and returns its text.
async fn downloaded(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(&path) {
            if !text.is_empty() {
                let _ = std::fs::remove_file(&path);
                return text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} was not downloaded into {}", dir.display());
}

/// Log in, filter the queue by Hub ID, open the case; returns the case page's source.
async fn log_in_filter_and_open(client: &Client, link: &str, prefix: &str) -> String {
    client.set_window_size(LAPTOP.0, LAPTOP.1).await.unwrap();
    client.goto(link).await.expect("open the login link");
    assert!(client.current_url().await.unwrap().path() == "/queue");
    let queue = source(client).await;
    assert!(queue.contains("2 cases"), "{queue}");
    shot(client, &format!("{prefix}-queue-laptop"), LAPTOP).await;

    type_into(client, "input[name=hub]", "4821937").await;
    client
        .find(Locator::Css("select[name=provider]"))
        .await
        .unwrap()
        .select_by_value("gmail")
        .await
        .unwrap();
    click(client, "form.filters button[type=submit]").await;
    let filtered = wait_for(client, "1 case ·").await;
    assert!(filtered.contains("1 case ·"), "{filtered}");
    assert!(
        filtered.contains("/case/11") && !filtered.contains("/case/22"),
        "{filtered}"
    );
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("hub=4821937"),
        "{url}"
    );
    shot(client, &format!("{prefix}-queue-filtered-laptop"), LAPTOP).await;

    click(client, "a[href='/case/11']").await;
    let case = wait_for(client, "Timeline").await;
    for part in [
        "Summary",
        "Evidence",
        "Connection tests",
        "Domain discovery",
        "Screenshot reads",
        "Timeline",
        "4821937",
        "imap_auth_error",
    ] {
        assert!(case.contains(part), "{part}: {case}");
    }
    assert!(!case.contains(SECRET), "{case}");
    case
}

/// The pages at both widths; the trends page shows its charts.
async fn screenshots(client: &Client, base: &str, prefix: &str) {
    client.goto(&format!("{base}/trends")).await.unwrap();
    let trends = source(client).await;
    assert!(
        trends.contains("<svg") && trends.contains("Cases per day"),
        "{trends}"
    );
    for (name, size) in [("laptop", LAPTOP_TALL), ("phone", PHONE_TALL)] {
        for (page, path) in [
            ("queue", "/queue"),
            ("case", "/case/11"),
            ("trends", "/trends"),
        ] {
            client.set_window_size(size.0, size.1).await.unwrap();
            client.goto(&format!("{base}{path}")).await.unwrap();
            shot(client, &format!("{prefix}-{page}-{name}"), size).await;
        }
    }
    client.set_window_size(LAPTOP.0, LAPTOP.1).await.unwrap();
}

/// The CSV link downloads the log CLI's export, filtered like the queue.
async fn download_csv(client: &Client, base: &str, downloads: &Path) -> String {
    client
        .goto(&format!("{base}/queue?hub=4821937"))
        .await
        .unwrap();
    click(client, "a[href^='/export.csv']").await;
    let csv = downloaded(downloads, "triage-log.csv").await;
    assert!(csv.starts_with("thread,status,created_at,"), "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(!csv.contains(SECRET), "{csv}");
    csv
}

/// A used link and a forged one are refused; after logout no page renders.
async fn refusals_and_logout(client: &Client, base: &str, link: &str, prefix: &str) {
    client.goto(link).await.unwrap();
    let used = source(client).await;
    assert!(used.contains("already used"), "{used}");
    shot(client, &format!("{prefix}-used-link"), LAPTOP).await;
    let forged = link.replacen(".17", ".27", 1).replacen(".18", ".28", 1);
    client.goto(&forged).await.unwrap();
    assert!(source(client).await.contains("signature is wrong"));

    client.goto(&format!("{base}/queue")).await.unwrap();
    click(client, "header form button[type=submit]").await;
    wait_for(client, "Logged out").await;
    for path in ["/queue", "/case/11", "/trends"] {
        client.goto(&format!("{base}{path}")).await.unwrap();
        let page = source(client).await;
        assert!(page.contains("Sign in with a login link"), "{path}: {page}");
        assert!(!page.contains("4821937"), "{path}: {page}");
    }
    shot(client, &format!("{prefix}-no-session"), LAPTOP).await;
}

#[tokio::test]
async fn the_dashboard_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    fill(
        dir.path(),
        "22",
        &format!("{YAHOO_CASE}/mod resolve fixed with the right port\n"),
    );
    fill(dir.path(), "11", GMAIL_CASE);
    let (_driver, client) = browser(downloads.path()).await;

    // The standalone dashboard over the console's store: read-only.
    {
        let (_dashboard, link) = standalone(dir.path(), None);
        let base = base_of(&link);
        let case = log_in_filter_and_open(&client, &link, "standalone").await;
        assert!(case.contains("Actions are refused here"), "{case}");
        download_csv(&client, &base, downloads.path()).await;
        screenshots(&client, &base, "standalone").await;
        refusals_and_logout(&client, &base, &link, "standalone").await;
    }

    // The console serves it with its engine: resolving works and the timeline shows it.
    let mut console = Running::start(
        super::bin()
            .args(["console", "--thread", "11"])
            .current_dir(dir.path()),
    );
    console.type_line("/mod dashboard");
    let link = console.dashboard_link();
    let base = base_of(&link);
    let before = log_in_filter_and_open(&client, &link, "console").await;
    assert!(!before.contains("Resolved by"), "{before}");
    type_into(&client, "input[name=reason]", "app password fixed it").await;
    click(&client, "button[value=resolve]").await;
    let after = wait_for(&client, "Resolved by console moderator").await;
    assert!(
        after.contains("Resolved by console moderator (moderator 2): app password fixed it"),
        "{after}"
    );
    assert!(after.contains("status s-resolved"), "{after}");
    shot(&client, "console-case-resolved-laptop", LAPTOP).await;
    let csv = download_csv(&client, &base, downloads.path()).await;
    assert!(
        csv.lines().nth(1).unwrap().starts_with("11,resolved,"),
        "{csv}"
    );
    screenshots(&client, &base, "console").await;
    refusals_and_logout(&client, &base, &link, "console").await;
    console.type_line("/quit");
    let _ = client.close().await;
}
