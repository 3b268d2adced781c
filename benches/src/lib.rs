//! # benches
//!
//! Performance measurement of igs-mpc: the `workloads` binary (one JSON line per named
//! workload) and the criterion benches in `benches/core.rs`. Every protocol measurement
//! reports wall time *and* communication (bytes and rounds per party, dealer traffic) next to a
//! plaintext baseline of the same shape measured in the same run (STYLE §13).
//!
//! What it does: runs N computing parties and the dealer as threads over the in-memory channels
//! of [`mpc_core::testing`], times the whole protocol including preprocessing (from the moment
//! every thread is ready to the moment the last one finishes), checks the opened result against
//! a plaintext reference computed in the same run, and reports. What it never does: open
//! sockets, or run in a binary that handles real data. It is a dev-only crate: nothing depends
//! on it (STYLE, "Layering").
//!
//! ```text
//!  workload ──inputs──► harness::run_timed ──► [P0 … P(N−1), dealer threads] ──► Timed
//!     │                                                                         │
//!     └── plaintext baseline + reference ──────────────► Report (one JSON line) ◄┘
//! ```
//!
//! Modules: [`harness`] (timed in-memory runs), [`report`] (the JSON line), [`workloads`]
//! (the registry of named workloads), [`data`] (deterministic inputs).

pub mod data;
pub mod error;
pub mod harness;
pub mod report;
pub mod workloads;

pub use error::BenchError;
pub use report::Report;
pub use workloads::{Params, WORKLOADS, Workload};
