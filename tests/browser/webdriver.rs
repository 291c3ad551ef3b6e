//! A small W3C WebDriver client over plain HTTP (ureq) that drives Debian's headless Chromium
//! through `chromedriver`. Shared by the browser tests (`tests/browser/main.rs`) and the
//! screenshot tool (`examples/screenshots.rs`).
//!
//! The binaries are `chromium` and `chromedriver` from Debian's `chromium` and `chromium-driver`
//! packages (`.ci/run` installs them); `KLERO_CHROMIUM` and `KLERO_CHROMEDRIVER` override the
//! paths. A missing browser is an error, never a skip.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Finds an executable: the environment variable if set, else the first of `candidates` that
/// exists (absolute paths) or is on PATH.
fn find(var: &str, candidates: &[&str]) -> Result<PathBuf, String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(PathBuf::from(p));
    }
    for c in candidates {
        let p = PathBuf::from(c);
        if p.is_absolute() {
            if p.exists() {
                return Ok(p);
            }
            continue;
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let full = dir.join(c);
                if full.exists() {
                    return Ok(full);
                }
            }
        }
    }
    Err(format!(
        "{} not found (tried {}; set {var}): install Debian's chromium and chromium-driver \
         (apt-get install -y chromium chromium-driver; .ci/run does this)",
        candidates[0],
        candidates.join(", ")
    ))
}

/// A running chromedriver on a free loopback port; killed on drop.
pub struct Driver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    agent: ureq::Agent,
}

impl Driver {
    /// Starts chromedriver and waits until it answers `/status` as ready.
    pub fn start() -> Result<Driver, String> {
        let exe = find(
            "KLERO_CHROMEDRIVER",
            &["chromedriver", "/usr/bin/chromedriver"],
        )?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&exe)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            agent,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(v) = driver.call("GET", "/status", None)
                && v["ready"] == json!(true)
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not become ready within 20 s",
                    exe.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// One WebDriver command; returns the answer's `value`, or the WebDriver error as text.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.url);
        let r = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(body.unwrap_or_else(|| json!({})).to_string()),
        };
        let mut r = r.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))?;
        if status >= 400 {
            return Err(format!(
                "{method} {path}: {status} {}: {}",
                v["value"]["error"], v["value"]["message"]
            ));
        }
        Ok(v["value"].clone())
    }

    /// A new headless Chromium session with a fresh profile, its window `width` × `height`.
    pub fn session(&self, width: u32, height: u32) -> Result<Session<'_>, String> {
        let binary = find(
            "KLERO_CHROMIUM",
            &["/usr/lib/chromium/chromium", "chromium", "chromium-browser"],
        )?;
        let profile = tempfile::tempdir().map_err(|e| format!("no temp dir: {e}"))?;
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args},
        }}});
        let v = self.call("POST", "/session", Some(caps))?;
        let id = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session id in {v}"))?
            .to_owned();
        Ok(Session {
            driver: self,
            id,
            _profile: profile,
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session; closed on drop.
pub struct Session<'a> {
    driver: &'a Driver,
    id: String,
    _profile: tempfile::TempDir,
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
    }

    /// Opens `url` and waits for its load event.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd("POST", "/url", Some(json!({"url": url})))
            .map(|_| ())
    }

    /// Sets a cookie for the current page's origin (open a page of that origin first).
    pub fn add_cookie(&self, name: &str, value: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            "/cookie",
            Some(json!({"cookie": {"name": name, "value": value, "path": "/"}})),
        )
        .map(|_| ())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs an asynchronous script: its last argument is the callback that returns the value.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Sets how long an asynchronous script may run.
    pub fn script_timeout(&self, d: Duration) -> Result<(), String> {
        self.cmd(
            "POST",
            "/timeouts",
            Some(json!({"script": d.as_millis() as u64})),
        )
        .map(|_| ())
    }

    /// The element matching a CSS selector (an error if none).
    pub fn find(&self, css: &str) -> Result<String, String> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no element id for {css} in {v}"))
    }

    /// Clicks an element as a user would (it must be visible and enabled).
    pub fn click(&self, element: &str) -> Result<(), String> {
        self.cmd("POST", &format!("/element/{element}/click"), None)
            .map(|_| ())
    }

    /// Types `text` into an element.
    pub fn type_into(&self, element: &str, text: &str) -> Result<(), String> {
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .map(|_| ())
    }

    /// Polls `script` (a function body returning a value) until it returns something other
    /// than null or false, or `timeout` passes.
    pub fn wait_for(&self, script: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.execute(script, json!([]))?;
            if !(v.is_null() || v == json!(false)) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for: {script}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A PNG screenshot of the whole page at the window's width (the window is stretched to the
    /// document's height first).
    pub fn screenshot_full(&self, width: u32) -> Result<Vec<u8>, String> {
        let h = self
            .execute(
                "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);",
                json!([]),
            )?
            .as_u64()
            .unwrap_or(800)
            .clamp(200, 8000);
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": h})),
        )?;
        let v = self.cmd("GET", "/screenshot", None)?;
        let b64 = v.as_str().ok_or("no screenshot data")?;
        base64_decode(b64)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .call("DELETE", &format!("/session/{}", self.id), None);
    }
}

/// Standard base64 (with padding) to bytes.
fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\n' | b'\r' => continue,
            _ => return Err(format!("not base64: byte {c}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}
