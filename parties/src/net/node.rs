//! [`Node`]: one party's QUIC endpoint and runtime; connects the parties of a session.
//!
//! Dialing is deterministic: party i dials every party j > i and accepts every j < i, so each
//! pair has exactly one connection. The dialer opens one bidirectional stream and writes a
//! 24-byte preamble (`IGS-MPC` 0x01, session id) so the stream exists before any frame; the
//! listener identifies the dialer by its pinned certificate, never by the preamble, and echoes
//! the preamble to confirm it accepted the dialer's certificate and the session.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mpc_core::party::PartyId;
use mpc_core::wire::SessionId;
use quinn::{Connection, ConnectionError, Endpoint, EndpointConfig, TokioRuntime};
use rustls::pki_types::CertificateDer;
use tokio::runtime::Runtime;
use tokio::time::timeout_at;

use super::channel::{PeerLink, QuicChannel};
use super::{Identity, NetOptions, NetSetupError, client_config, server_config};
use crate::config::{ConfigError, Consortium, Fingerprint};

const MAGIC: &[u8; 8] = b"IGS-MPC\x01";
const PREAMBLE_LEN: usize = 24;
/// Pause between dial attempts while a peer is not up yet.
const REDIAL_PAUSE: Duration = Duration::from_millis(200);

/// One party's network endpoint.
pub struct Node {
    rt: Arc<Runtime>,
    endpoint: Endpoint,
    identity: Arc<Identity>,
    me: PartyId,
    pins: Vec<Fingerprint>,
    names: Vec<String>,
    n_compute: usize,
    opts: NetOptions,
}

fn preamble(session: SessionId) -> [u8; PREAMBLE_LEN] {
    let mut p = [0u8; PREAMBLE_LEN];
    let (m, s) = p.split_at_mut(MAGIC.len());
    m.copy_from_slice(MAGIC);
    s.copy_from_slice(&session.0);
    p
}

impl Node {
    /// Binds the address the consortium lists for this identity's name.
    pub fn bind(
        consortium: &Consortium,
        identity: Identity,
        opts: NetOptions,
    ) -> Result<Self, NetSetupError> {
        let me = consortium.id_of(identity.name())?;
        let addr = consortium
            .entry(me)
            .map(|e| e.address)
            .ok_or(ConfigError::UnknownParty(identity.name().into()))?;
        let socket = UdpSocket::bind(addr).map_err(|e| NetSetupError::Io(e.to_string()))?;
        Self::with_socket(consortium, identity, opts, socket)
    }

    /// Uses an already bound socket (simulations bind port 0 first).
    pub fn with_socket(
        consortium: &Consortium,
        identity: Identity,
        opts: NetOptions,
        socket: UdpSocket,
    ) -> Result<Self, NetSetupError> {
        let me = consortium.id_of(identity.name())?;
        let pins: Vec<Fingerprint> = consortium.parties().iter().map(|p| p.cert_sha256).collect();
        if pins.get(me.index()) != Some(&identity.fingerprint()) {
            return Err(NetSetupError::Identity(format!(
                "this certificate is not the one the consortium pins for {}",
                identity.name()
            )));
        }
        // Lower-index parties dial us for sessions; coordinators dial us for control links.
        let dialers = pins
            .iter()
            .take(me.index())
            .copied()
            .chain(consortium.coordinators().iter().map(|c| c.cert_sha256))
            .collect();
        let server = server_config(&identity, dialers, &opts)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(format!("quic-{}", identity.name()))
            .enable_all()
            .build()
            .map_err(|e| NetSetupError::Io(e.to_string()))?;
        let endpoint = {
            let _guard = rt.enter();
            Endpoint::new(
                EndpointConfig::default(),
                Some(server),
                socket,
                Arc::new(TokioRuntime),
            )
            .map_err(|e| NetSetupError::Io(e.to_string()))?
        };
        Ok(Self {
            rt: Arc::new(rt),
            endpoint,
            identity: Arc::new(identity),
            me,
            pins,
            names: consortium
                .parties()
                .iter()
                .map(|p| p.name.clone())
                .collect(),
            n_compute: consortium.n_compute(),
            opts,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, NetSetupError> {
        self.endpoint
            .local_addr()
            .map_err(|e| NetSetupError::Io(e.to_string()))
    }

    /// This party's id in sessions.
    pub fn me(&self) -> PartyId {
        self.me
    }

    /// This party's identity (certificate; the key never leaves it except as the audit key).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The transport settings.
    pub fn options(&self) -> &NetOptions {
        &self.opts
    }

    /// Connects to every other party of `consortium` for `session` (addresses are taken from
    /// `consortium`; names and pins must be the ones this node was bound with).
    pub fn connect(
        &self,
        consortium: &Consortium,
        session: SessionId,
    ) -> Result<QuicChannel, NetSetupError> {
        let same = consortium.parties().len() == self.pins.len()
            && consortium
                .parties()
                .iter()
                .zip(self.pins.iter().zip(&self.names))
                .all(|(p, (pin, name))| p.cert_sha256 == *pin && p.name == *name);
        if !same {
            return Err(NetSetupError::Config(ConfigError::Roles(
                "the consortium differs from the one this node was bound with".into(),
            )));
        }
        let me = self.me.index();
        let total = self.pins.len();
        let deadline = Instant::now() + self.opts.connect_timeout;
        let mut dials = Vec::new();
        for j in me + 1..total {
            let party = PartyId(j as u16);
            let entry =
                consortium
                    .entry(party)
                    .ok_or(NetSetupError::Config(ConfigError::UnknownParty(
                        party.to_string(),
                    )))?;
            let cfg = client_config(&self.identity, entry.cert_sha256, &self.opts)?;
            let fut = dial(
                self.endpoint.clone(),
                cfg,
                entry.address,
                entry.name.clone(),
                party,
                session,
                deadline,
            );
            dials.push((j, self.rt.spawn(fut)));
        }
        let expected: Vec<Fingerprint> = self.pins.iter().take(me).copied().collect();
        let accepted = self.rt.block_on(accept_all(
            self.endpoint.clone(),
            expected,
            session,
            deadline,
        ));
        let mut links: Vec<Option<PeerLink>> = (0..total).map(|_| None).collect();
        let mut first_err = accepted.as_ref().err().cloned();
        if let Ok(acc) = accepted {
            for (j, l) in acc.into_iter().enumerate() {
                if let Some(slot) = links.get_mut(j) {
                    *slot = l;
                }
            }
        }
        for (j, handle) in dials {
            let party = PartyId(j as u16);
            if first_err.is_some() {
                handle.abort();
                continue;
            }
            match self.rt.block_on(handle) {
                Ok(Ok(link)) => {
                    if let Some(slot) = links.get_mut(j) {
                        *slot = Some(link);
                    }
                }
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(e) => {
                    first_err.get_or_insert(NetSetupError::Connect {
                        party,
                        reason: e.to_string(),
                    });
                }
            }
        }
        if let Some(e) = first_err {
            for l in links.iter().flatten() {
                l.conn.close(1u32.into(), b"connect failed");
            }
            return Err(e);
        }
        Ok(QuicChannel::new(
            self.me,
            self.n_compute,
            session,
            self.rt.clone(),
            links,
            self.opts.timeout,
            self.opts.payload_limit,
        ))
    }

    /// Waits for a coordinator of `consortium` to open a control link (daemons). Returns the
    /// link and the coordinator's name.
    pub fn accept_control(
        &self,
        consortium: &Consortium,
    ) -> Result<(super::control::ControlLink, String), NetSetupError> {
        super::control::accept(&self.rt, &self.endpoint, consortium)
    }

    /// Waits (at most a second) for closed connections to drain, then drops the endpoint.
    pub fn shutdown(self) {
        let ep = self.endpoint.clone();
        self.rt.block_on(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), ep.wait_idle()).await;
        });
    }
}

async fn dial(
    endpoint: Endpoint,
    cfg: quinn::ClientConfig,
    addr: SocketAddr,
    name: String,
    party: PartyId,
    session: SessionId,
    deadline: Instant,
) -> Result<PeerLink, NetSetupError> {
    let fail = |reason: String| NetSetupError::Connect { party, reason };
    let timeout = || NetSetupError::Timeout {
        missing: vec![party],
    };
    let conn = loop {
        let connecting = endpoint
            .connect_with(cfg.clone(), addr, &name)
            .map_err(|e| fail(e.to_string()))?;
        match timeout_at(deadline.into(), connecting).await {
            Err(_) => return Err(timeout()),
            Ok(Ok(c)) => break c,
            // Nobody answered (the peer is not up yet): try again until the deadline.
            Ok(Err(ConnectionError::TimedOut)) if Instant::now() < deadline => {
                tokio::time::sleep(REDIAL_PAUSE).await;
            }
            Ok(Err(e)) => return Err(fail(format!("handshake refused or failed: {e}"))),
        }
    };
    let (mut send, mut recv) = timeout_at(deadline.into(), conn.open_bi())
        .await
        .map_err(|_| timeout())?
        .map_err(|e| fail(e.to_string()))?;
    timeout_at(deadline.into(), send.write_all(&preamble(session)))
        .await
        .map_err(|_| timeout())?
        .map_err(|e| fail(e.to_string()))?;
    // In TLS 1.3 the client's handshake completes before the server has checked the client
    // certificate: the listener's echo of the preamble confirms it accepted us and the session.
    let mut echo = [0u8; PREAMBLE_LEN];
    timeout_at(deadline.into(), recv.read_exact(&mut echo))
        .await
        .map_err(|_| timeout())?
        .map_err(|e| fail(format!("the peer refused our certificate or session: {e}")))?;
    if echo != preamble(session) {
        return Err(fail("the peer confirmed another session".into()));
    }
    Ok(PeerLink { conn, send, recv })
}

pub(crate) fn peer_fingerprint(conn: &Connection) -> Option<Fingerprint> {
    let certs = conn
        .peer_identity()?
        .downcast::<Vec<CertificateDer<'static>>>()
        .ok()?;
    certs.first().map(|c| Fingerprint::of_der(c))
}

/// Accepts one connection from each expected dialer (index = position in `expected`).
/// Handshakes that fail (unpinned or invalid certificates) are dropped and do not end the wait.
async fn accept_all(
    endpoint: Endpoint,
    expected: Vec<Fingerprint>,
    session: SessionId,
    deadline: Instant,
) -> Result<Vec<Option<PeerLink>>, NetSetupError> {
    let mut got: Vec<Option<PeerLink>> = expected.iter().map(|_| None).collect();
    let missing = |got: &[Option<PeerLink>]| -> Vec<PartyId> {
        got.iter()
            .enumerate()
            .filter(|(_, l)| l.is_none())
            .map(|(j, _)| PartyId(j as u16))
            .collect()
    };
    while got.iter().any(Option::is_none) {
        let timeout = |got: &[Option<PeerLink>]| NetSetupError::Timeout {
            missing: missing(got),
        };
        let incoming = match timeout_at(deadline.into(), endpoint.accept()).await {
            Err(_) => return Err(timeout(&got)),
            Ok(None) => return Err(NetSetupError::Io("endpoint closed".into())),
            Ok(Some(i)) => i,
        };
        let conn = match timeout_at(deadline.into(), incoming).await {
            Err(_) => return Err(timeout(&got)),
            Ok(Err(_)) => continue, // refused during the handshake
            Ok(Ok(c)) => c,
        };
        let Some(j) = peer_fingerprint(&conn).and_then(|fp| expected.iter().position(|p| *p == fp))
        else {
            conn.close(1u32.into(), b"unexpected party");
            continue;
        };
        let party = PartyId(j as u16);
        if got.get(j).is_some_and(Option::is_some) {
            conn.close(1u32.into(), b"duplicate connection");
            continue;
        }
        let fail = |reason: String| NetSetupError::Connect { party, reason };
        let (mut send, mut recv) = timeout_at(deadline.into(), conn.accept_bi())
            .await
            .map_err(|_| timeout(&got))?
            .map_err(|e| fail(e.to_string()))?;
        let mut pre = [0u8; PREAMBLE_LEN];
        timeout_at(deadline.into(), recv.read_exact(&mut pre))
            .await
            .map_err(|_| timeout(&got))?
            .map_err(|e| fail(e.to_string()))?;
        if pre != preamble(session) {
            conn.close(1u32.into(), b"other session");
            return Err(fail("stream preamble of another session or version".into()));
        }
        timeout_at(deadline.into(), send.write_all(&pre))
            .await
            .map_err(|_| timeout(&got))?
            .map_err(|e| fail(e.to_string()))?;
        if let Some(slot) = got.get_mut(j) {
            *slot = Some(PeerLink { conn, send, recv });
        }
    }
    Ok(got)
}
