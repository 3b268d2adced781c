//! Secure computation protocols over additive shares: input, open, Beaver products, truncation, comparison and nonlinear functions, with dealer preprocessing.
