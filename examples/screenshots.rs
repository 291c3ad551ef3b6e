//! Takes PNG screenshots of pages in headless Chromium, at a desktop width (1280 px) and a phone
//! width (390 px), through the same WebDriver path as the browser tests (tests/browser).
//!
//! ```text
//! cargo run --example screenshots -- [--out DIR] [--cookie NAME=VALUE] [--click CSS] [NAME=]URL...
//! ```
//!
//! Each URL gives `DIR/NAME-1280.png` and `DIR/NAME-390.png` (DIR defaults to
//! `docs/screenshots`; NAME defaults to the URL's path, made file-safe). `--cookie` sets a cookie
//! on each URL's origin before loading it (a staff session cookie, to photograph a logged-in
//! page); it may be given more than once. `--click` clicks the element a CSS selector names, on
//! each page that has one, 1.5 s before the shot (`--click '#draw-check-button'` shows the
//! in-browser check's result). Needs Debian's `chromium` and `chromium-driver`.
//! Example, against `cargo run -- serve --demo`:
//!
//! ```text
//! cargo run --example screenshots -- observer-case=http://127.0.0.1:8080/cases/DEMO-DISTRICT-2026-000001
//! ```

#[allow(dead_code)]
#[path = "../tests/browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::process::ExitCode;

const WIDTHS: [u32; 2] = [1280, 390];

fn slug(url: &str) -> String {
    let path = url.split("://").nth(1).unwrap_or(url);
    let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let s: String = path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() { "home".to_owned() } else { s }
}

fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let host = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{host}/")
}

fn run(args: Vec<String>) -> Result<(), String> {
    let mut out = PathBuf::from("docs/screenshots");
    let mut cookies = vec![];
    let mut click: Option<String> = None;
    let mut pages = vec![];
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = PathBuf::from(it.next().ok_or("--out needs a directory")?),
            "--cookie" => {
                let c = it.next().ok_or("--cookie needs NAME=VALUE")?;
                let (n, v) = c.split_once('=').ok_or("--cookie needs NAME=VALUE")?;
                cookies.push((n.to_owned(), v.to_owned()));
            }
            "--click" => click = Some(it.next().ok_or("--click needs a CSS selector")?),
            "-h" | "--help" => {
                println!(
                    "usage: screenshots [--out DIR] [--cookie NAME=VALUE] [--click CSS] [NAME=]URL..."
                );
                return Ok(());
            }
            _ => {
                let (name, url) = match a.split_once('=') {
                    Some((n, u)) if !n.contains("://") && u.contains("://") => {
                        (n.to_owned(), u.to_owned())
                    }
                    _ => (slug(&a), a.clone()),
                };
                pages.push((name, url));
            }
        }
    }
    if pages.is_empty() {
        return Err("give at least one URL (see --help)".into());
    }
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let driver = webdriver::Driver::start()?;
    for width in WIDTHS {
        let s = driver.session(width, 900)?;
        for (name, url) in &pages {
            if !cookies.is_empty() {
                s.goto(&origin(url))?;
                for (n, v) in &cookies {
                    s.add_cookie(n, v)?;
                }
            }
            s.goto(url)?;
            if let Some(css) = &click
                && let Ok(el) = s.find(css)
            {
                s.click(&el)?;
                std::thread::sleep(std::time::Duration::from_millis(1500));
            }
            let png = s.screenshot_full(width)?;
            let file = out.join(format!("{name}-{width}.png"));
            std::fs::write(&file, png)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            println!("{}", file.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("screenshots: {e}");
            ExitCode::FAILURE
        }
    }
}
