use std::net::SocketAddr;

use axum::http::Method;
use klero::client::{Client, Response};
use klero_store::{Options, Store};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The two backends every test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an `async fn(Backend)` test once per backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    };
}

/// A running server on a fresh database with the demo court (no cases) and a second court.
pub struct TestApp {
    pub url: String,
    pub db: String,
    pub client: Client,
    pub store: Store,
    pub handle: JoinHandle<()>,
    pub clerk: String,
    /// Judge J-02 of the demo court.
    pub judge: String,
    pub court_admin: String,
    pub system_admin: String,
    /// A clerk, a judge (O-01) and a court administrator of `other-court`.
    pub other_clerk: String,
    pub other_judge: String,
    pub other_admin: String,
    /// Where judges' enrollment codes are delivered.
    pub outbox: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
}

pub const COURT: &str = "demo-district";
pub const OTHER: &str = "other-court";

/// Small beacon chains: building the default million-value chain at every open is slow in debug.
pub fn options() -> Options {
    Options {
        chain_length: 4096,
        ..Options::default()
    }
}

pub async fn open(db: &str) -> Store {
    Store::open_with(db, options_for(db))
        .await
        .expect("store opens")
}

/// [`options`] with the test database's secret store.
pub fn options_for(db: &str) -> Options {
    Options {
        secrets: klero_store::testing::secrets_for(db),
        ..options()
    }
}

/// The secrets directory of a test database, as `klero --secrets-dir` takes it.
pub fn secrets_dir(db: &str) -> String {
    klero_store::testing::secrets_dir_for(db)
        .or_else(|| klero_store::default_secrets_dir(db))
        .expect("a test database has a secrets directory")
        .display()
        .to_string()
}

/// Serves `store` on a free port; judges' enrollment codes are delivered to `outbox`.
pub async fn start(store: Store, outbox: &std::path::Path) -> (String, JoinHandle<()>) {
    let config = klero_portal::Config {
        enrollment_outbox: outbox.to_owned(),
    };
    let (addr, handle): (SocketAddr, _) =
        klero_portal::serve(store, "127.0.0.1:0".parse().unwrap(), config)
            .await
            .expect("binds");
    (format!("http://{addr}"), handle)
}

/// The enrollment code delivered for `judge` (what the judge receives out of band).
pub fn delivered_code(outbox: &std::path::Path, judge: &str) -> String {
    std::fs::read_to_string(outbox.join(format!("{judge}.code")))
        .unwrap_or_else(|e| panic!("no enrollment code was delivered for {judge}: {e}"))
        .trim()
        .to_owned()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, options_for).await
}

/// [`spawn_app`] with the store opened under `options(database url)`.
pub async fn spawn_app_with(backend: Backend, options: fn(&str) -> Options) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => klero_store::testing::fresh_sqlite(dir.path()).await,
        Backend::Postgres => klero_store::testing::fresh_postgres().await,
    };
    let store = Store::open_with(&db, options(&db))
        .await
        .expect("store opens");
    let t = klero::demo::seed(&store, 0)
        .await
        .expect("demo court seeds");
    let outbox = dir.path().join("outbox");
    let (url, handle) = start(store.clone(), &outbox).await;
    let client = Client::new(&url);
    // A second court with one division, three judges and its own tokens.
    let post = |path: &str, token: &str, body: Value| {
        let (c, p, t) = (client.clone(), path.to_owned(), token.to_owned());
        async move {
            let r = c.post(&p, Some(&t), &body).await.unwrap();
            assert!(r.status < 300, "{p}: {} {}", r.status, r.text());
            r.json()
        }
    };
    post(
        "/api/v1/courts",
        &t.system_admin,
        json!({"court": OTHER, "name": "Other Court"}),
    )
    .await;
    let other_admin = post(
        "/api/v1/tokens",
        &t.system_admin,
        json!({"role": "court_admin", "holder": "CA-OTHER", "court": OTHER}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        &format!("/api/v1/courts/{OTHER}/divisions"),
        &other_admin,
        json!({"division": "civil", "name": "Civil"}),
    )
    .await;
    for j in ["O-01", "O-02", "O-03"] {
        post(
            &format!("/api/v1/courts/{OTHER}/judges"),
            &other_admin,
            json!({"judge": j, "division": "civil", "specializations": ["civil"], "share_permille": 1000}),
        )
        .await;
    }
    let other_clerk = post(
        "/api/v1/tokens",
        &other_admin,
        json!({"role": "clerk", "holder": "CL-OTHER", "court": OTHER}),
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        "/api/v1/enrollments",
        &other_admin,
        json!({"judge": "O-01"}),
    )
    .await;
    let code = delivered_code(&outbox, "O-01");
    let other_judge = client
        .post(
            "/api/v1/enrollments/complete",
            None,
            &json!({ "code": code }),
        )
        .await
        .unwrap()
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    TestApp {
        url,
        db,
        client,
        store,
        handle,
        clerk: t.clerk,
        judge: t.judge,
        court_admin: t.court_admin,
        system_admin: t.system_admin,
        other_clerk,
        other_judge,
        other_admin,
        outbox,
        _dir: dir,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.client.get(path, token).await.unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Response {
        self.client.post(path, Some(token), &body).await.unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        self.client
            .send(method, path, token, body.as_ref(), &[])
            .await
            .unwrap()
    }

    /// The log's size as the public checkpoint gives it.
    pub async fn size(&self) -> u64 {
        self.get("/api/v1/log/checkpoint", None).await.json()["size"]
            .as_u64()
            .unwrap()
    }

    /// Files a civil case in the demo court and returns the answer.
    pub async fn file(&self, claim: &str) -> Value {
        let r = self
            .post(
                &format!("/api/v1/courts/{COURT}/cases"),
                &self.clerk,
                filing(claim),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    }

    /// A token for a judge of the demo court: the court administrator opens an enrollment and the
    /// judge completes it with the code.
    pub async fn judge_token(&self, judge: &str) -> String {
        let r = self
            .post(
                "/api/v1/enrollments",
                &self.court_admin,
                json!({ "judge": judge }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert!(
            r.json().get("code").is_none(),
            "the code is never sent over the API"
        );
        let code = delivered_code(&self.outbox, judge);
        let r = self
            .client
            .post(
                "/api/v1/enrollments/complete",
                None,
                &json!({ "code": code }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().unwrap().to_owned()
    }

    /// A judge's normalized load as their docket shows it (thousandths), read with `token`.
    pub async fn docket_load(&self, judge: &str, token: &str) -> i64 {
        let r = self
            .get(&format!("/api/v1/judges/{judge}/docket"), Some(token))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["load"].as_i64().unwrap()
    }

    /// Verifies the whole log through the API exactly as `klero verify --url` does.
    pub async fn verify(&self) -> klero::verify::UrlReport {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || klero::verify::verify_url(&url))
            .await
            .unwrap()
            .expect("the server answers")
    }

    pub async fn assert_verifies(&self) {
        let r = self.verify().await;
        assert!(
            r.report.ok(),
            "the log does not verify: {:?}",
            r.report.failure
        );
        assert_eq!(r.report.verified, self.size().await);
    }

    pub async fn stop(self) -> (String, tempfile::TempDir) {
        self.handle.abort();
        let _ = self.handle.await;
        self.store.close().await;
        (self.db, self._dir)
    }
}

/// The UTC day `offset` days from today, as `YYYY-MM-DD`.
pub fn day(offset: i32) -> String {
    let today = klero_core::Day::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    klero_core::Day(today.0 + offset).to_string()
}

/// A valid civil filing body.
pub fn filing(claim: &str) -> Value {
    json!({
        "division": "civil",
        "case_type": "civil",
        "parties": ["PL-90010112345", format!("CO-{}", claim.len())],
        "claim": claim,
    })
}

/// Asserts a problem document with this status and slug.
pub fn assert_problem(r: &Response, status: u16, slug: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/problem+json"),
        "{}",
        r.text()
    );
    let p = r.json();
    assert_eq!(p["type"], format!("/api/v1/problems/{slug}"), "{p}");
    assert_eq!(p["status"], status);
    assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

/// A `klero serve` process a test started on a stopped app's database.
pub struct Served {
    pub child: std::process::Child,
    /// Its base address, from the line that says it serves.
    pub url: String,
    /// Every line of its standard error, read to the end on a thread (a pipe left unread would
    /// fill and stall the server, a closed one would stop it); the channel ends when it exits.
    pub stderr: std::sync::mpsc::Receiver<String>,
}

/// Starts `klero serve` on `db` (a free port, the database's secrets directory, warnings only)
/// with the `extra` arguments, and waits until it says where it serves.
pub async fn serve_binary(db: &str, extra: &[&str]) -> Served {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", db])
        .args(extra)
        .env("KLERO_SECRETS_DIR", secrets_dir(db))
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut url_tx = Some(url_tx);
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap_or_default();
            if line.starts_with("klero serving")
                && let Some(rest) = line.split("on http://").nth(1)
                && let Some(url_tx) = url_tx.take()
            {
                let _ = url_tx.send(format!(
                    "http://{}",
                    rest.split_whitespace().next().unwrap()
                ));
            }
            let _ = tx.send(line);
        }
    });
    let url = url_rx.await.expect("the server starts");
    Served {
        child,
        url,
        stderr: rx,
    }
}
