//! A headless Chromium driven over WebDriver (chromedriver), for the console's browser tests:
//! plain JSON over HTTP with reqwest, which the tests already link, instead of a WebDriver crate.
//! [`Browser::start`] answers `None` (after [`super::skip`]) when chromium or chromedriver is
//! missing. The browser never reaches the internet: it is started with background networking off
//! and only ever pointed at the daemon on 127.0.0.1.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: tokio::process::Child,
    base: String,
    session: String,
    client: reqwest::Client,
}

fn found(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|folder| PathBuf::from(folder).join(program))
        .find(|path| path.is_file())
}

impl Browser {
    pub async fn start() -> Option<Browser> {
        let (Some(driver), Some(_)) = (found("chromedriver"), found("chromium")) else {
            super::skip("chromium or chromedriver is not installed (apt-get install chromium chromium-driver)");
            return None;
        };
        // Debian's /usr/bin/chromium is a shell wrapper; chromedriver wants the binary itself
        let binary = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .into_iter()
            .find(|path| std::path::Path::new(path).is_file())
            .unwrap();
        let port = super::free_port();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let start = std::time::Instant::now();
        loop {
            let ready = client.get(format!("{base}/status")).send().await;
            if let Ok(response) = ready {
                let status: Value = response.json().await.unwrap_or_default();
                if status["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-background-networking",
                         "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1000",
                         "--no-first-run", "--disable-extensions"]
            }
        }}});
        let answer: Value = client
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_string();
        Some(Browser {
            driver,
            base,
            session,
            client,
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        if answer["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", answer["value"]);
        }
        answer["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    pub async fn element(&self, selector: &str) -> String {
        let value = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        value[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}: {value}"))
            .to_string()
    }

    pub async fn clear(&self, selector: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
    }

    pub async fn type_into(&self, selector: &str, text: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    pub async fn click(&self, selector: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.run("return document.body.innerText;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `script` returns something truthy (generous deadline: the machine is shared).
    pub async fn wait_until(&self, script: &str, what: &str) -> Value {
        let start = std::time::Instant::now();
        loop {
            let value = self.run(script, json!([])).await;
            if !(value.is_null()
                || value == json!(false)
                || value == json!("")
                || value == json!(0))
            {
                return value;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{what} did not happen; the page says:\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves the page as `target/console-screenshots/NAME.png`, for a human to look at.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let encoded = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().unwrap())
            .unwrap();
        let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
        std::fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.client.delete(url).send().await;
        let _ = self.driver.kill().await;
    }
}
