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
//! [`compare`] (less-than-zero, comparisons, equality, select, min/max, abs, ReLU),
//! [`convert`] (Z_2^64 ↔ Z_2^128 share conversion), [`he`] (site-private matrix × shared vector over lattice HE),
//! [`funcs`] (sigmoid, exp, ln, reciprocal, inverse square root, square root as
//! piecewise polynomials), [`sort`] (secure shuffle and quicksort with payload columns),
//! [`prep`] (preprocessing sources), [`ctx`] (the protocol
//! context), [`comm`] (chunked transfer), [`kernel`] (local ring kernels), [`testing`]
//! (in-memory runs).
//!
//! Costs, online, per element and per peer (Z_2^64, N = 2, n = 10^5, measured by the tests;
//! rounds are for the whole vector):
//!
//! | operation | rounds | bytes |
//! |---|---|---|
//! | [`arith::mul`] | 1 | 16 |
//! | [`trunc::trunc`] | 1 | 8 |
//! | [`compare::ltz`] (ℓ = 62) | 7 | 18.75 |
//! | [`compare::eqz`] (ℓ = 62) | 7 | 15.6 |
//! | [`compare::lt`], [`compare::eq`] (ℓ = 63) | 7 | ≈ 19 / 16 |
//! | [`compare::min`], [`compare::max`], [`compare::abs`], [`compare::relu`] | 8 | ≈ 35 |
//! | [`funcs::sigmoid`] | 15 | 465 |
//! | [`funcs::exp`], [`funcs::ln`] | 16 | — |
//! | [`funcs::reciprocal`], [`funcs::inv_sqrt`], [`funcs::sqrt`] | 18 | 732 (reciprocal) |
//!
//! Comparison uses dealer masks with a binary prefix tree (edaBit style) rather than
//! function-secret-sharing comparison keys: it opens one masked ring element plus ≈ 11 bytes
//! of tree bits in 7 rounds, the dealer's work is a few PRG expansions per element, and the
//! same masks serve equality; DCF keys would cut the online phase to one round but cost
//! the dealer ≈ k·λ bits of key per element and need an AES-based PRG we do not carry.

pub mod arith;
pub mod comm;
pub mod compare;
pub mod convert;
pub mod ctx;
pub mod error;
pub mod funcs;
pub mod he;
pub mod kernel;
pub mod model;
pub mod prep;
pub mod sort;
pub mod testing;
pub mod trunc;

pub use ctx::Ctx;
pub use error::{ProtocolError, Result};
pub use model::SecurityModel;
