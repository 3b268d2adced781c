//! The logic of the `igs-mpc` subcommands (the binary only parses arguments and calls these).

#[cfg(feature = "net")]
pub mod demo;
pub mod score;
