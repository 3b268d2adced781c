//! The logic of the `igs-mpc` subcommands (the binary only parses arguments and calls these).

pub mod demo;
pub mod score;
