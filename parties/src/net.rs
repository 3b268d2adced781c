//! The network transport: QUIC (quinn) with mutual TLS 1.3 (rustls, ring provider) between
//! parties pinned in the consortium file.
//!
//! ```text
//!  Identity (ed25519 key + self-signed cert) ──► rustls configs with pinned verifiers (verify)
//!        │                                                │
//!  Node (one UDP endpoint, one tokio runtime) ──connect(session)──► QuicChannel: mpc_core::Channel
//!        lower index dials higher; one connection          │  send: blocking write of header+payload
//!        and one bidirectional stream per peer pair        │  recv: per-peer reader task checks the
//!                                                          ▼  header (limit, session, seq) first
//!                                                  protocols::Ctx (synchronous protocol code)
//! ```
//!
//! What is authenticated: the peer's identity (its pinned certificate, both directions) and every
//! byte on the stream (TLS 1.3 AEAD). The sender of a frame is the connection it arrived on,
//! never a frame field. What is refused: unknown, expired, not-yet-valid or misplaced
//! certificates (handshake), frames over the payload limit (from the header, before any
//! allocation), frames of another session, replayed, reordered or dropped frames.

pub mod bench;
pub mod channel;
pub mod control;
pub mod frames;
pub mod identity;
pub mod node;
mod verify;

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use mpc_core::party::PartyId;
use mpc_core::wire::DEFAULT_PAYLOAD_LIMIT;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::crypto::CryptoProvider;

use crate::config::{ConfigError, Fingerprint};
pub use channel::QuicChannel;
pub use identity::Identity;
pub use node::Node;

/// ALPN protocol id of this transport.
pub const ALPN: &[u8] = b"igs-mpc/1";
/// Default time without progress from a peer before it is declared at fault.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time to establish all of a session's connections.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Transport settings.
#[derive(Clone, Debug)]
pub struct NetOptions {
    /// Progress timeout: a peer that sends nothing expected (and accepts nothing) for this
    /// long is at fault. Also the QUIC idle timeout.
    pub timeout: Duration,
    /// Deadline for connecting to every peer of a session.
    pub connect_timeout: Duration,
    /// Largest accepted frame payload.
    pub payload_limit: usize,
}

impl Default for NetOptions {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
        }
    }
}

/// Errors of setting up the transport or a session's connections.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetSetupError {
    /// Generating, writing or loading an identity failed.
    Identity(String),
    /// The consortium does not fit (unknown name, pins differ from the node's).
    Config(ConfigError),
    /// Building a TLS or QUIC configuration failed.
    Tls(String),
    /// A local socket or runtime error.
    Io(String),
    /// Connecting to a peer failed (refused certificate, wrong session, closed).
    Connect {
        /// The peer.
        party: PartyId,
        /// What happened (no secrets).
        reason: String,
    },
    /// Some peers did not connect before the deadline.
    Timeout {
        /// The peers still missing.
        missing: Vec<PartyId>,
    },
}

impl NetSetupError {
    /// The party at fault, if any.
    pub fn culprit(&self) -> Option<PartyId> {
        match self {
            Self::Connect { party, .. } => Some(*party),
            Self::Timeout { missing } => missing.first().copied(),
            _ => None,
        }
    }
}

impl fmt::Display for NetSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Identity(e) => write!(f, "identity: {e}"),
            Self::Config(e) => write!(f, "{e}"),
            Self::Tls(e) => write!(f, "TLS configuration: {e}"),
            Self::Io(e) => write!(f, "local I/O: {e}"),
            Self::Connect { party, reason } => write!(f, "connection with {party}: {reason}"),
            Self::Timeout { missing } => {
                let m: Vec<String> = missing.iter().map(ToString::to_string).collect();
                write!(f, "not connected before the deadline: {}", m.join(", "))
            }
        }
    }
}

impl std::error::Error for NetSetupError {}

impl From<ConfigError> for NetSetupError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}

/// The crypto provider: ring, set explicitly (no process-wide default is installed).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// 32 bytes from the operating system's CSPRNG (through the TLS provider).
pub fn os_random_32() -> Result<[u8; 32], NetSetupError> {
    let mut b = [0u8; 32];
    provider()
        .secure_random
        .fill(&mut b)
        .map_err(|_| NetSetupError::Io("operating-system randomness unavailable".into()))?;
    Ok(b)
}

fn transport_config(opts: &NetOptions) -> Result<Arc<quinn::TransportConfig>, NetSetupError> {
    let mut t = quinn::TransportConfig::default();
    let idle = quinn::IdleTimeout::try_from(opts.timeout)
        .map_err(|e| NetSetupError::Tls(e.to_string()))?;
    t.max_idle_timeout(Some(idle));
    t.keep_alive_interval(Some((opts.timeout / 4).max(Duration::from_millis(50))));
    t.max_concurrent_uni_streams(0u8.into());
    t.max_concurrent_bidi_streams(4u8.into());
    // Windows sized for bulk share vectors on fast links.
    t.stream_receive_window((16u32 << 20).into());
    t.receive_window((32u32 << 20).into());
    t.send_window(32 << 20);
    Ok(Arc::new(t))
}

/// Client (dialer) configuration pinning exactly `peer`.
pub(crate) fn client_config(
    identity: &Identity,
    peer: Fingerprint,
    opts: &NetOptions,
) -> Result<quinn::ClientConfig, NetSetupError> {
    let p = provider();
    let tls = |e: rustls::Error| NetSetupError::Tls(e.to_string());
    let mut cfg = rustls::ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verify::PinnedServerVerifier::new(p, peer)))
        .with_client_auth_cert(vec![identity.cert().clone()], identity.key_for_tls())
        .map_err(tls)?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(cfg).map_err(|e| NetSetupError::Tls(e.to_string()))?;
    let mut c = quinn::ClientConfig::new(Arc::new(quic));
    c.transport_config(transport_config(opts)?);
    Ok(c)
}

/// Server (listener) configuration accepting exactly the `dialers`.
pub(crate) fn server_config(
    identity: &Identity,
    dialers: Vec<Fingerprint>,
    opts: &NetOptions,
) -> Result<quinn::ServerConfig, NetSetupError> {
    let p = provider();
    let tls = |e: rustls::Error| NetSetupError::Tls(e.to_string());
    let mut cfg = rustls::ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_client_cert_verifier(Arc::new(verify::PinnedClientVerifier::new(p, dialers)))
        .with_single_cert(vec![identity.cert().clone()], identity.key_for_tls())
        .map_err(tls)?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicServerConfig::try_from(cfg).map_err(|e| NetSetupError::Tls(e.to_string()))?;
    let mut s = quinn::ServerConfig::with_crypto(Arc::new(quic));
    s.transport_config(transport_config(opts)?);
    Ok(s)
}
