//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures");

/// A shared fixture under `../shared/fixtures`; in CI its absence fails the test, elsewhere the
/// test is skipped with a message.
pub fn fixture(rel: &str) -> Option<PathBuf> {
    let path = Path::new(FIXTURES).join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "fixture {} is missing", path.display());
    eprintln!("skipped: fixture {} is missing", path.display());
    None
}
