use std::process::Command;

use serde_json::json;

use crate::both_backends;
use crate::helpers::*;

/// Runs the binary; with `--database-url`, also names the test database's secrets directory.
fn klero(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_klero"));
    cmd.args(args).env_remove("KLERO_SECRETS_DIR");
    if let Some(i) = args.iter().position(|a| *a == "--database-url") {
        cmd.env("KLERO_SECRETS_DIR", secrets_dir(args[i + 1]));
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn export_verify_and_tokens_from_the_command_line(b: Backend) {
    let app = spawn_app(b).await;
    for i in 0..3 {
        app.file(&format!("cli {i}")).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.jsonl");
    let file_s = file.to_str().unwrap().to_owned();
    let db = app.db.clone();
    let (code, _, err) = tokio::task::spawn_blocking({
        let (db, f) = (db.clone(), file_s.clone());
        move || klero(&["export", "--database-url", &db, "--out", &f])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count() as u64, app.size().await);

    let (code, out, _) = klero(&["verify", &file_s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK"), "{out}");

    // Alter one entry's content: the verifier names it.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[5] = lines[5].replacen("\"at\":", "\"at\":1", 1);
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = klero(&["verify", &file_s]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: entry 5 (SPEC §4.1):"), "{out}");
    // An unreadable line is a failure naming the line.
    lines[5] = "not json".into();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let (code, out, _) = klero(&["verify", &file_s]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 6 is not a log entry"), "{out}");
    // A missing file is a plain sentence and a non-zero exit.
    let (code, _, err) = klero(&["verify", "/nonexistent/log.jsonl"]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot open"), "{err}");

    // The live server verifies through the binary too.
    let url = app.url.clone();
    let (code, out, _) = tokio::task::spawn_blocking(move || klero(&["verify", "--url", &url]))
        .await
        .unwrap();
    assert_eq!(code, 0, "{out}");

    // A credential revoked on the command line, through the server, fails at the next request.
    let issued = app
        .post(
            "/api/v1/tokens",
            &app.court_admin,
            json!({"role": "clerk", "holder": "CL-CLI", "court": COURT}),
        )
        .await;
    assert_eq!(issued.status, 201, "{}", issued.text());
    let token = issued.json()["token"].as_str().unwrap().to_owned();
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            &token,
            filing("cli token"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let (code, out, err) = tokio::task::spawn_blocking({
        let (url, token) = (app.url.clone(), token.clone());
        move || klero(&["token", "revoke", "--url", &url, &token])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out} {err}");
    let r = app
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            &token,
            filing("after revocation"),
        )
        .await;
    assert_problem(&r, 401, "unauthorized");
    // The bootstrap is refused once credentials exist, in a plain sentence.
    let (code, _, err) = klero(&[
        "token",
        "bootstrap",
        "--database-url",
        &db,
        "--holder",
        "SA-9999",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("first credential"), "{err}");
    app.stop().await;
}
both_backends!(export_verify_and_tokens_from_the_command_line);

/// `klero verify` itself rejects every log of the invalid corpus (tests/vectors/invalid), naming
/// the entry and the SPEC section, and accepts the conformance log.
#[test]
fn klero_verify_rejects_the_invalid_corpus_naming_entry_and_section() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let (code, out, _) = klero(&[
        "verify",
        dir.join("conformance-log.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("invalid/index.json")).unwrap())
            .unwrap();
    for l in index["logs"].as_array().unwrap() {
        let file = dir.join(l["file"].as_str().unwrap());
        let (code, out, _) = klero(&["verify", file.to_str().unwrap()]);
        assert_eq!(code, 1, "{}: {out}", file.display());
        let want = format!(
            "FAILED: entry {} (SPEC {})",
            klero_core::state::fmt_index(l["entry"].as_u64().unwrap()),
            l["section"].as_str().unwrap()
        );
        assert!(out.contains(&want), "{}: {out}", file.display());
    }
}

/// `klero serve` stops on SIGTERM (what systemd, Docker, Kubernetes and `kill` send) as on Ctrl-C:
/// it closes the store, says so and exits with success. Before, SIGTERM's default action ended
/// the process at once, with no word said (the status was "signal: 15").
#[cfg(unix)]
async fn klero_serve_stops_cleanly_on_sigterm(b: Backend) {
    let app = spawn_app(b).await;
    let clerk = app.clerk.clone();
    let (db, _dir) = app.stop().await;
    let Served {
        mut child,
        url,
        stderr,
    } = serve_binary(&db, &[]).await;
    // It serves (a filing goes through its writer) when it is told to stop.
    let client = klero::client::Client::new(&url);
    let r = client
        .post(
            &format!("/api/v1/courts/{COURT}/cases"),
            Some(&clerk),
            &filing("filed before the stop"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", r.text());

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("klero serve did not stop within 30 s of SIGTERM");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let rest: Vec<String> = stderr.iter().collect();
    assert!(status.success(), "{status}: {rest:?}");
    assert!(rest.iter().any(|l| l == "klero stopped"), "{rest:?}");
}
#[cfg(unix)]
both_backends!(klero_serve_stops_cleanly_on_sigterm);

/// `klero` carries `src/malloc_tune.c`, whose constructor calls glibc's `mallopt` before `main`
/// (see the allocator's note in src/main.rs). `build.rs` hands its object to the linker itself and
/// nothing calls it, so were it left out nothing else would fail: the binary must import the
/// symbol (its name is then in the dynamic string table, between two NULs).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn klero_fixes_glibc_s_mmap_threshold_before_main() {
    let bin = std::fs::read(env!("CARGO_BIN_EXE_klero")).unwrap();
    assert!(
        memchr::memmem::find(&bin, b"\0mallopt\0").is_some(),
        "the klero binary does not import mallopt: src/malloc_tune.c was not linked"
    );
}
