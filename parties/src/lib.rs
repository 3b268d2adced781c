//! # parties
//!
//! The igs-mpc party: site data, configuration, transport, sessions and the `igs-mpc` binary.
//!
//! What it does: reads a site's plaintext data ([`data`]: PLINK 1 filesets, phenotype and
//! covariate tables, PGS Catalog and plink2-style scoring files), harmonises a score against
//! the site's variants and computes plink2-exact local scores; reads the consortium file
//! ([`config`]), holds the party's identity and talks QUIC with mutual TLS 1.3 to peers pinned
//! in that file ([`net`]), and runs sessions of `protocols` jobs with clean aborts
//! ([`session`]). [`daemon`] is the long-lived party (`igs-mpc party`): it takes plans
//! ([`plan`]) from a coordinator pinned in the consortium file, runs only approved ones and
//! writes results atomically; `igs-mpc run-plan` is the coordinator. [`audit_plan`] and
//! `audit_io` wire the `audit` crate in: canonical plans, signed approvals, a transcript on
//! every channel, the reveal gate, the co-signed run record and the `OUT/transcripts/` files
//! `igs-mpc audit verify` checks. [`cli`] holds the logic of the `igs-mpc` subcommands; the binary only parses
//! arguments. It is the only crate that opens sockets, reads files, reads the clock or spawns
//! async runtimes.
//!
//! Feature `net` (default): [`net`], [`session`], `cli::demo` and the binary. Without it the crate
//! is the site-data layer alone (what the fuzz targets in `fuzz/` build).
//!
//! What it never does: print or log key material, shares, genotype or phenotype values; panic
//! on malformed site files (every parser returns a typed error naming file, line and column);
//! accept a peer whose certificate is not pinned for its position; trust a sender field inside
//! a frame.
//!
//! ```text
//!   .bed/.bim/.fam ─► data::plink ─┐
//!   VCF/BCF ────────► data::vcf ───┤
//!   scoring file ───► data::pgs ───┼─► data::harmonize ─► data::genotypes ─► data::score ─► .sscore
//!   pheno/covar TSV ► data::pheno ─┘
//!
//!  consortium.toml ─► config::Consortium ─┐
//!  NAME.key/.crt  ─► net::Identity ───────┼─► net::Node ─connect─► net::QuicChannel (Channel)
//!                                         │                              │
//!                                         └──────────► session::run ─► protocols::Ctx ─► job
//!                                                                  ▲
//!  coordinator ─plan (control link, mTLS)─► daemon: approved? ─────┘─► result (temp + rename)
//! ```

#[cfg(feature = "net")]
pub mod audit_io;
pub mod audit_plan;
pub mod cli;
pub mod cohort;
pub mod config;
#[cfg(feature = "net")]
pub mod daemon;
pub mod data;
pub mod fsio;
pub mod job;
#[cfg(feature = "net")]
pub mod logging;
#[cfg(feature = "net")]
pub mod net;
#[cfg(feature = "net")]
pub mod pipeline;
pub mod plan;
pub mod report;
#[cfg(feature = "net")]
pub mod session;
