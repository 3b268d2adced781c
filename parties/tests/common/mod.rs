//! Helpers shared by the integration tests that read the bundled data.
// Each test binary compiles this module and uses a different subset of it.
#![allow(dead_code, clippy::unwrap_used, reason = "shared test helpers")]

use std::path::{Path, PathBuf};

pub(crate) mod igs;

/// The bundled data set, `data/small`.
pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/small")
}

/// Reads a TSV with a header line into (header, rows).
pub(crate) fn read_tsv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The index of column `name` in `header` (panics if absent).
pub(crate) fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}
