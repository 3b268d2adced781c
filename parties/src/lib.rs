//! # parties
//!
//! The igs-mpc party: configuration, transport, sessions and the `igs-mpc` binary.
//!
//! What it does: reads the consortium file ([`config`]), holds the party's identity and talks
//! QUIC with mutual TLS 1.3 to peers pinned in that file ([`net`]), and runs sessions of
//! `protocols` jobs with clean aborts ([`session`]). It is the only crate that opens sockets,
//! reads the clock or spawns async runtimes.
//!
//! What it never does: print or log key material, shares or site data; accept a peer whose
//! certificate is not pinned for its position; trust a sender field inside a frame.
//!
//! ```text
//!  consortium.toml ─► config::Consortium ─┐
//!  NAME.key/.crt  ─► net::Identity ───────┼─► net::Node ─connect─► net::QuicChannel (Channel)
//!                                         │                              │
//!                                         └──────────► session::run ─► protocols::Ctx ─► job
//! ```

pub mod config;
pub mod net;
pub mod session;
