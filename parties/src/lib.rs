//! The igs-mpc party: site data, transport, daemon and the user binary.
