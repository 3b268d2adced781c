//! Criterion benches and the workloads binary.
