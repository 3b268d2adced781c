//! Signed plans, hash-chained transcripts and their offline verification.
