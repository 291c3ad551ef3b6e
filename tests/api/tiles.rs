use std::path::{Path, PathBuf};

use klero::tiles::{Source, verify_tiles};

use crate::both_backends;
use crate::helpers::*;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap().to_str().unwrap().to_owned()
}

/// The log served as tiles is the log exported as tiles, byte for byte; a verifier reading tiles
/// (from the directory or the server) reports exactly what the API verifier reports; a tampered
/// bundle, level-0 tile or level-1 tile is caught and named.
async fn tiles_served_exported_and_verified(b: Backend) {
    let app = spawn_app(b).await;
    let mut i = 0;
    while app.size().await < 300 {
        app.file(&format!("tiles {i}")).await;
        i += 1;
    }
    let size = app.size().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_owned();
    klero::tiles::export_tiles(&app.store, &out).await.unwrap();

    // Exported equals served, with the caching the spec asks for.
    let all = files(&out);
    assert_eq!(all.len(), 1 + 2 + 1 + 2, "{all:?}"); // checkpoint, 2 level-0, 1 level-1, 2 bundles
    for p in &all {
        let path = rel(&out, p);
        let r = app.get(&format!("/{path}"), None).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(&r.body[..], &std::fs::read(p).unwrap()[..], "{path}");
        let cache = r.header("cache-control").unwrap_or_default().to_owned();
        if path == "checkpoint" {
            assert_eq!(cache, "public, max-age=5");
        } else if path.contains(".p/") {
            assert_eq!(cache, "public, max-age=5", "{path}");
            assert_eq!(r.header("content-type"), Some("application/octet-stream"));
        } else {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
        }
    }
    assert_eq!(
        std::fs::read(out.join("tile/0/001.p/").join((size - 256).to_string()))
            .unwrap()
            .len(),
        32 * (size - 256) as usize
    );
    // A malformed tile path is a problem; a tile the log does not have yet is not found.
    assert_problem(&app.get("/tile/0/1", None).await, 400, "invalid-parameter");
    assert_problem(&app.get("/tile/0/005", None).await, 404, "not-found");
    assert_problem(&app.get("/tile/entries/002", None).await, 404, "not-found");

    // The same report from tiles as from the API.
    let api = app.verify().await.report;
    assert!(api.ok(), "{:?}", api.failure);
    for src in [Source::Dir(out.clone()), Source::Url(app.url.clone())] {
        let s = src.clone();
        let (report, key) = tokio::task::spawn_blocking(move || verify_tiles(&s, None))
            .await
            .unwrap()
            .unwrap();
        assert!(report.ok(), "{src:?}: {:?}", report.failure);
        assert_eq!(
            (
                report.verified,
                report.cases,
                report.draws,
                report.root,
                report.head
            ),
            (api.verified, api.cases, api.draws, api.root, api.head),
        );
        assert_eq!(
            key.as_deref(),
            app.store.log_key().map(|k| k.verifier_key())
        );
    }
    // The command line too, and a wrong pinned key is refused.
    let d = out.to_str().unwrap().to_owned();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["verify", "--tiles", &d])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("OK"), "{text}");

    // A directory without tiles is a plain sentence and a non-zero exit.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_klero"))
        .args(["verify", "--tiles", "/nonexistent/tiles"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot read /nonexistent/tiles/checkpoint"),
        "{err}"
    );

    // Tampering: each copy has one change, and each is caught.
    let copy_of_tiles = || {
        let copy = tempfile::tempdir().unwrap();
        for p in &all {
            let to = copy.path().join(rel(&out, p));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(p, &to).unwrap();
        }
        copy
    };
    let tamper = |path: &str, f: &dyn Fn(&mut Vec<u8>)| {
        let copy = copy_of_tiles();
        let target = copy.path().join(path);
        let mut bytes = std::fs::read(&target).unwrap();
        f(&mut bytes);
        std::fs::write(&target, bytes).unwrap();
        let (report, _) = verify_tiles(&Source::Dir(copy.path().to_owned()), None).unwrap();
        report.failure.map(|f| f.to_string()).unwrap_or_default()
    };
    let bump_digit = |b: &mut Vec<u8>| {
        // The "at" of the bundle's first entry, one digit changed (the length stays).
        let at = b.windows(5).position(|w| w == b"\"at\":").unwrap() + 6;
        b[at] = if b[at] == b'9' { b'8' } else { b[at] + 1 };
    };
    let f = tamper("tile/entries/000", &bump_digit);
    assert!(f.contains("entry 0 (SPEC §4.1)"), "{f}");
    let f = tamper("tile/0/000", &|b: &mut Vec<u8>| b[40] ^= 1);
    assert!(
        f.contains("(SPEC §5.4)") && f.starts_with("entry 1 (SPEC §5.4): its leaf hash"),
        "{f}"
    );
    let f = tamper("tile/1/000.p/1", &|b: &mut Vec<u8>| b[0] ^= 1);
    assert!(
        f.contains("(SPEC §5.4)") && f.contains("tile/1/000.p/1"),
        "{f}"
    );
    let f = tamper("tile/entries/000", &|b: &mut Vec<u8>| {
        b.truncate(b.len() - 1)
    });
    assert!(
        f.contains("(SPEC §5.4)") && f.contains("entry bundle"),
        "{f}"
    );
    let f = tamper("checkpoint", &|b: &mut Vec<u8>| {
        let s = String::from_utf8(b.clone()).unwrap();
        let mut lines: Vec<&str> = s.split('\n').collect();
        let smaller = (size - 1).to_string();
        lines[1] = &smaller;
        *b = lines.join("\n").into_bytes();
    });
    assert!(!f.is_empty(), "a checkpoint of another size is caught");

    // A checkpoint naming billions of entries the tiles do not hold: caught, and until its
    // signature is checked the replay's tables are not sized for it.
    let copy = copy_of_tiles();
    let note = std::fs::read_to_string(copy.path().join("checkpoint")).unwrap();
    let mut lines: Vec<&str> = note.split('\n').collect();
    lines[1] = "4000000000";
    std::fs::write(copy.path().join("checkpoint"), lines.join("\n")).unwrap();
    let mut rec = Recording {
        v: klero_core::Verifier::new(),
        reserved: 0,
    };
    let src = Source::Dir(copy.path().to_owned());
    klero::tiles::replay_tiles(&src, None, &mut rec, u64::MAX, &mut |_| {}).unwrap();
    assert!(
        rec.v.failure().is_some(),
        "a checkpoint of 4e9 entries is caught"
    );
    assert_eq!(rec.reserved, klero::tiles::UNSIGNED_RESERVE);
    let bad_key = "other+01234567+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let (r, _) = verify_tiles(&Source::Dir(out.clone()), Some(bad_key)).unwrap();
    assert!(r.failure.unwrap().to_string().contains("§5.1"));
    app.stop().await;
}
both_backends!(tiles_served_exported_and_verified);

/// The verifier, recording the most entries its tables were sized for.
struct Recording {
    v: klero_core::Verifier,
    reserved: u64,
}

impl klero::verify::Replay for Recording {
    fn push(&mut self, e: &klero_core::LogEntry) -> bool {
        klero::verify::Replay::push(&mut self.v, e)
    }
    fn push_with_leaf(&mut self, e: &klero_core::LogEntry, leaf: klero_core::Digest32) -> bool {
        klero::verify::Replay::push_with_leaf(&mut self.v, e, leaf)
    }
    fn fail(&mut self, section: &'static str, message: String) {
        klero::verify::Replay::fail(&mut self.v, section, message)
    }
    fn failed(&self) -> bool {
        klero::verify::Replay::failed(&self.v)
    }
    fn log(&self) -> &klero_core::Log {
        klero::verify::Replay::log(&self.v)
    }
    fn reserve(&mut self, entries: u64) {
        self.reserved = self.reserved.max(entries);
        klero::verify::Replay::reserve(&mut self.v, entries)
    }
}
