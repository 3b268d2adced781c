//! # protocols
//!
//! Secure computation over N-party additive shares in Z_2^64 or Z_2^128, with correlated
//! randomness from a dealer. Every operation is vectorised: one round moves a whole vector or
//! matrix.
//!
//! **Security model** ([`model::SEMI_HONEST_DEALER`]): semi-honest adversary corrupting any
//! N−1 of the N computing parties (dishonest majority), plus a dealer that holds no input,
//! receives no opened value or output, and does not collude with any computing party. Under
//! that model every opened value is uniformly masked, so a coalition learns nothing beyond its
//! inputs and the outputs. Malicious security (MACs) is future work; [`prep::Prep`] is the
//! seam for it.
//!
//! What it never does: open sockets, read files or the clock, spawn threads other than rayon
//! workers for local arithmetic, or print secret values. All I/O goes through
//! [`mpc_core::Channel`].
//!
//! ```text
//!  inputs ──input()──► SharedVec ──mul/dot/matmul (Beaver)──► trunc ──► compare/funcs ──► open/reveal_to
//!                         ▲              ▲                      ▲            ▲
//!                         └──── Prep (Dealer: seeds + corrections) ──────────┘
//! ```
//!
//! Modules: [`arith`] (input, open, Beaver products), [`trunc`] (fixed-point truncation),
//! [`prep`] (preprocessing sources), [`ctx`] (the protocol context), [`comm`] (chunked
//! transfer), [`kernel`] (local ring kernels), [`testing`] (in-memory runs).

pub mod arith;
pub mod comm;
pub mod compare;
pub mod ctx;
pub mod error;
pub mod kernel;
pub mod model;
pub mod prep;
pub mod testing;
pub mod trunc;

pub use ctx::Ctx;
pub use error::{ProtocolError, Result};
pub use model::SecurityModel;
