//! Errors of a benchmark run.

use core::fmt;

use mpc_core::fixed::FixedError;
use protocols::ProtocolError;

/// Why a workload could not produce a report.
#[derive(Debug)]
#[non_exhaustive]
pub enum BenchError {
    /// A computing party or the dealer failed.
    Protocol {
        /// Who failed ("P0", "dealer"…).
        who: String,
        /// The error it returned.
        error: ProtocolError,
    },
    /// An input did not encode in fixed point.
    Fixed(FixedError),
    /// The workload's protocol is not in `protocols` yet.
    Unavailable {
        /// The workload.
        workload: &'static str,
        /// The missing function.
        missing: &'static str,
    },
    /// Setting up or using the network transport failed.
    Net(String),
    /// The parameters do not make sense for the workload (size 0, one party…).
    BadParams(String),
    /// A state the code believes impossible.
    Unreachable(&'static str),
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol { who, error } => write!(f, "{who} failed: {error}"),
            Self::Fixed(e) => write!(f, "input encoding: {e}"),
            Self::Unavailable { workload, missing } => write!(
                f,
                "workload {workload} is not yet available: it needs {missing}, which protocols \
                 does not provide yet"
            ),
            Self::Net(s) => write!(f, "network: {s}"),
            Self::BadParams(s) => write!(f, "bad parameters: {s}"),
            Self::Unreachable(s) => write!(f, "internal error (unreachable state): {s}"),
        }
    }
}

impl std::error::Error for BenchError {}

impl From<FixedError> for BenchError {
    fn from(e: FixedError) -> Self {
        Self::Fixed(e)
    }
}
