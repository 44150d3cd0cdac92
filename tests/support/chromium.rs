//! Debian's `chromium`, headless, for the browser test: the rendered DOM of a page
//! (`--dump-dom`) and a screenshot. Offline by construction: every flag that would make it reach
//! for Google's services is off, and each run gets a fresh profile.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser, or `None` when it is not installed (`apt-get install chromium`; scripts/test.sh
/// installs it). `CHROMIUM` overrides the path.
pub fn find() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    path.exists().then_some(path)
}

/// Runs chromium headless on `url` with `extra` flags (bounded to a minute); returns stdout.
fn run(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new("timeout")
        .arg("60")
        .arg(browser)
        .args([
            "--headless",
            // Root (CI containers) cannot use the sandbox; a test page needs none.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM of `url` after rendering.
pub fn dump_dom(browser: &Path, url: &str) -> String {
    run(browser, url, &["--dump-dom".to_string()])
}

/// A `width`x`height` screenshot of `url` written to `png`.
pub fn screenshot(browser: &Path, url: &str, png: &Path, (width, height): (u32, u32)) {
    run(
        browser,
        url,
        &[
            format!("--screenshot={}", png.display()),
            format!("--window-size={width},{height}"),
        ],
    );
    let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
    assert!(size > 1000, "{} is {size} bytes", png.display());
}
