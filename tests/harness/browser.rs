//! A real headless Chromium for the console's tests, driven over WebDriver
//! (Debian's `chromium` and `chromium-driver`; `cargo xtask test` installs
//! them when missing). Without them a test is skipped with a note, except
//! with `CI=true`, where a missing browser fails it: CI must run them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::workspace;

/// How long the page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// The window of a laptop.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1000;

/// Where the browser and its driver are installed by Debian's packages.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session and the chromedriver serving it.
pub struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a laptop's window
    /// and English as the browser's language; `None` (with a note) when
    /// they are not installed and this is not CI.
    pub async fn start() -> Option<Self> {
        if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{CHROMIUM} or {CHROMEDRIVER} is missing, and CI runs the console's browser tests: install chromium and chromium-driver (cargo xtask test does)"
            );
            eprintln!("skipped: no {CHROMIUM} or {CHROMEDRIVER}; `cargo xtask test` installs them");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={WIDTH},{HEIGHT}"), "--lang=en-US", "--hide-scrollbars"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + PATIENCE;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                // The driver takes a moment to listen.
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session with Chromium: {e}"),
            }
        };
        Some(Self { client, driver })
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("the page opens");
    }

    /// Sets the window's size: a laptop's or a phone's.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("the window resizes");
    }

    /// Waits until `css` matches an element, naming `css` if it never does.
    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("the page never showed {css}: {e}"))
    }

    /// Whether `css` matches an element now.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .expect("the page answers")
            .is_empty()
    }

    /// Clicks the element `css` matches once it is there.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Types `text` into the element `css` matches.
    pub async fn type_into(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// The visible text of the element `css` matches.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("text")
    }

    /// Waits until the element `css` matches holds `wanted` in its text.
    pub async fn wait_for_text(&self, css: &str, wanted: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if text.contains(wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never read {wanted:?}; it reads {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses keys in the element that has the focus, as a keyboard would.
    pub async fn press(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("an element has the focus")
            .send_keys(keys)
            .await
            .expect("keys are pressed");
    }

    /// Runs `script` in the page and hands back what it returns.
    pub async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, Vec::new())
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The controls of the page no label names: every input, select,
    /// textarea and button must have an accessible name (a `<label for>`,
    /// `aria-label`, `aria-labelledby` or, for a button, its text).
    pub async fn unlabelled_controls(&self) -> Vec<String> {
        let found = self
            .js(r#"
                return [...document.querySelectorAll("input, select, textarea, button")]
                  .filter((el) => el.type !== "hidden" && !el.closest("[hidden]"))
                  .filter((el) => {
                    const named = (el.labels && [...el.labels].some((l) => l.textContent.trim()))
                      || (el.getAttribute("aria-label") || "").trim()
                      || (el.getAttribute("aria-labelledby") || "").split(" ").some((id) => document.getElementById(id)?.textContent.trim())
                      || (el.tagName === "BUTTON" && el.textContent.trim());
                    return !named;
                  })
                  .map((el) => el.outerHTML.slice(0, 160));
            "#)
            .await;
        serde_json::from_value(found).expect("a list of controls")
    }

    /// Fails the test if any control of the page is unlabelled.
    pub async fn assert_every_control_labelled(&self, page: &str) {
        let unlabelled = self.unlabelled_controls().await;
        assert!(
            unlabelled.is_empty(),
            "controls without a label on the {page} page: {unlabelled:#?}"
        );
    }

    /// Clicks `css`, then waits until the page shows `then`.
    pub async fn click_until(&self, css: &str, then: &str) {
        self.click(css).await;
        self.wait_for(then).await;
    }

    /// Checks that every control of the page is labelled and saves the
    /// whole page as `docs/console/<page>.png`.
    pub async fn record_page(&self, page: &str) {
        self.assert_every_control_labelled(page).await;
        self.screenshot_page(page).await;
    }

    /// Saves the whole page, top to bottom (up to 2,400 px), to
    /// `docs/console/<name>.png`, and gives the window back its size.
    pub async fn screenshot_page(&self, name: &str) -> PathBuf {
        let height = self
            .js("window.scrollTo(0, 0); \
                 return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight;")
            .await
            .as_u64()
            .expect("a height");
        self.resize(WIDTH, (height as u32).clamp(HEIGHT, 2400))
            .await;
        let path = self.screenshot(name).await;
        self.resize(WIDTH, HEIGHT).await;
        path
    }

    /// Saves what the window shows to `docs/console/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = workspace().join("docs/console");
        std::fs::create_dir_all(&dir).expect("docs/console");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("the screenshot is written");
        path
    }

    /// Ends the session and the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
