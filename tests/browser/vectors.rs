//! klero-verify.js, run in Chromium, reproduces every vector of tests/vectors/ (and rejects the
//! invalid logs within its scope at the listed entry and section), the normalized keys of keys.json
//! included (with the vendored confusables table); a tampered vector fails (a seed, a chosen judge,
//! a normalized key, a drand signature, a witness's cosignature, a tile).

use std::time::Duration;

use serde_json::{Value, json};

use crate::site::{self, Tamper};
use crate::webdriver::{Driver, Session};

/// Every vector file, relative to tests/vectors/.
fn vector_files() -> Vec<String> {
    let dir = site::vectors_dir();
    let mut names = vec![];
    for sub in ["", "invalid/"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                let n = e.file_name().into_string().unwrap();
                if n.ends_with(".json") || n.ends_with(".jsonl") {
                    names.push(format!("{sub}{n}"));
                }
            }
        }
    }
    names.sort();
    names
}

fn run(s: &Session<'_>, names: &[String], tamper: Value) -> Vec<Value> {
    let v = s
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.kleroVectors(arguments[0], arguments[1]).then(done, (e) => done({error: String(e)}));",
            json!([names, tamper]),
        )
        .unwrap();
    assert!(v.get("error").is_none(), "the harness threw: {v}");
    v.as_array().expect("a report").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_verifier_reproduces_every_vector() {
    let url = site::start(None, Tamper::None).await;
    tokio::task::spawn_blocking(move || {
        let driver = Driver::start().unwrap();
        let s = driver.session(1280, 800).unwrap();
        s.script_timeout(Duration::from_secs(60)).unwrap();
        s.goto(&format!("{url}/harness.html")).unwrap();
        s.wait_for("return window.kleroReady === true;", Duration::from_secs(10))
            .unwrap();
        let names = vector_files();
        let report = run(&s, &names, Value::Null);
        let mut total = 0;
        for r in &report {
            let (file, count) = (r["file"].as_str().unwrap(), r["count"].as_u64().unwrap());
            println!("klero-verify.js: {file}: {count} checks");
            assert!(count > 0, "{file}: no vector checked");
            assert_eq!(r["failures"], json!([]), "{file} failed in the browser");
            total += count;
        }
        // Every top-level vector file is checked by something.
        for n in names.iter().filter(|n| !n.starts_with("invalid/")) {
            let covered = report.iter().any(|r| r["file"] == json!(n))
                || n.ends_with(".expected.json");
            assert!(covered, "{n} is not checked by the JavaScript verifier");
        }
        assert!(report.iter().any(|r| r["file"] == "invalid/index.json"));
        println!("klero-verify.js: {total} checks over {} files, all passed", names.len());

        // A tampered vector must fail: one seed changed, one chosen judge in the sample log.
        let seeds = std::fs::read_to_string(site::vectors_dir().join("seeds.json")).unwrap();
        let seed = seeds.split("\"seed\": \"").nth(1).unwrap()[..64].to_owned();
        let mut other = seed.clone();
        other.replace_range(0..1, if seed.starts_with('0') { "1" } else { "0" });
        let report = run(
            &s,
            &names,
            json!({"file": "seeds.json", "from": seed, "to": other}),
        );
        let seeds = report.iter().find(|r| r["file"] == "seeds.json").unwrap();
        assert_eq!(seeds["failures"].as_array().unwrap().len(), 1, "{seeds}");

        let report = run(
            &s,
            &names,
            json!({"file": "sample-log.jsonl", "from": "\"chosen\":[\"J-05\"", "to": "\"chosen\":[\"J-06\""}),
        );
        let log = report.iter().find(|r| r["file"] == "sample-log.jsonl").unwrap();
        let failures = log["failures"].to_string();
        assert!(failures.contains("altered"), "{log}");

        // A normalized key changed (a digit 1 for the letter l the skeleton makes of it): it fails,
        // naming the input's code points.
        let report = run(
            &s,
            &names,
            json!({"file": "keys.json", "from": "\"normalized\": \"strassel2\"", "to": "\"normalized\": \"strasse12\""}),
        );
        let keys = report.iter().find(|r| r["file"] == "keys.json").unwrap();
        let failures = keys["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{keys}");
        assert!(
            failures[0].to_string().contains("U+0053 U+0074 U+0072 U+0061 U+00DF U+0065")
                && failures[0].to_string().contains("normalized key"),
            "{keys}"
        );

        // A drand round's signature changed (the real quicknet round 123): its BLS check fails.
        let report = run(
            &s,
            &names,
            json!({"file": "drand.json", "from": "\"signature\": \"b75c69d0", "to": "\"signature\": \"b75c69d1"}),
        );
        let drand = report.iter().find(|r| r["file"] == "drand.json").unwrap();
        assert!(
            drand["failures"].to_string().contains("round 123: signature"),
            "{drand}"
        );

        // A witness's cosignature changed: it no longer verifies. (The first signature in the
        // file is witness a's; its first hex digit is flipped.)
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/cosignature.json"),
        )
        .unwrap();
        let at = text.find("\"signature\": \"").unwrap() + "\"signature\": \"".len();
        let first = &text[at..at + 8];
        let flipped = format!(
            "{}{}",
            if first.starts_with('0') { '1' } else { '0' },
            &first[1..]
        );
        let report = run(
            &s,
            &names,
            json!({"file": "cosignature.json", "from": format!("\"signature\": \"{first}"), "to": format!("\"signature\": \"{flipped}")}),
        );
        let cosig = report.iter().find(|r| r["file"] == "cosignature.json").unwrap();
        assert!(
            cosig["failures"].to_string().contains("witness-a.example: cosignature verifies"),
            "{cosig}"
        );

        // A partial level-1 tile's SHA-256 changed (size 70,000, §5.4): only that tile fails.
        let report = run(
            &s,
            &names,
            json!({"file": "tiles.json", "from": "\"sha256\": \"9d480060", "to": "\"sha256\": \"9d480061"}),
        );
        let tiles = report.iter().find(|r| r["file"] == "tiles.json").unwrap();
        let failures = tiles["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{tiles}");
        assert!(
            failures[0]
                .to_string()
                .contains("size 70000: tile/1/001.p/17 SHA-256"),
            "{tiles}"
        );
    })
    .await
    .unwrap();
}
