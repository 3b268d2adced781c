//! The control link between a coordinator and a party daemon: one QUIC connection with mutual
//! TLS 1.3 (the coordinator's certificate is pinned in the consortium file with role
//! `coordinator`; the daemon's is pinned under its party name), one bidirectional stream, and
//! `mpc_core::wire` control frames (postcard, header with the job's session id and
//! per-direction sequence numbers, checked by a [`FrameReader`]).
//!
//! The coordinator opens the stream and sends first; the daemon learns the session id from the
//! first frame's header and holds every later frame to it.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mpc_core::wire::{Frame, HEADER_LEN, Msg, SessionId, WireError, decode_header};
use quinn::{Connection, Endpoint, EndpointConfig, RecvStream, SendStream, TokioRuntime, VarInt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;
use tokio::time::timeout_at;

use super::channel::{CLOSE_ABORT, CLOSE_DONE};
use super::frames::{FrameReader, Received};
use super::{Identity, NetOptions, NetSetupError, client_config};
use crate::config::{Consortium, Fingerprint, PartyEntry};

/// Largest control message (plans and results are small).
pub const CONTROL_LIMIT: usize = 1 << 20;

/// Errors on a control link.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlError {
    /// The peer closed the connection or it was lost (including the idle timeout).
    Lost(String),
    /// Nothing arrived before the deadline.
    Timeout,
    /// The peer sent a bad frame or message.
    Wire(WireError),
    /// The peer aborted, with its (sanitised) reason.
    Aborted(String),
}

impl core::fmt::Display for ControlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Lost(e) => write!(f, "connection lost: {e}"),
            Self::Timeout => f.write_str("no answer before the deadline"),
            Self::Wire(e) => write!(f, "bad control frame: {e}"),
            Self::Aborted(r) => write!(f, "aborted: {r}"),
        }
    }
}

impl std::error::Error for ControlError {}

/// One end of a control link.
pub struct ControlLink {
    rt: Arc<Runtime>,
    conn: Connection,
    send: SendStream,
    recv: RecvStream,
    session: SessionId,
    reader: FrameReader,
    send_seq: u64,
    /// First header already read by the daemon (it carried the session id).
    first: Option<[u8; HEADER_LEN]>,
}

impl ControlLink {
    /// The job's session id.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The peer's certificate (DER) as its TLS handshake presented it (already checked
    /// against the pinned fingerprint), for the audit trail's `certs/`.
    pub fn peer_cert_der(&self) -> Option<Vec<u8>> {
        let certs = self
            .conn
            .peer_identity()?
            .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
            .ok()?;
        certs.first().map(|c| c.to_vec())
    }

    /// Sends one control message.
    pub fn send<T: Serialize>(&mut self, value: &T, timeout: Duration) -> Result<(), ControlError> {
        let msg = Msg::control(value).map_err(ControlError::Wire)?;
        let bytes = Frame::new(self.session, self.send_seq, msg).encode();
        let send = &mut self.send;
        let r = self
            .rt
            .block_on(async { tokio::time::timeout(timeout, send.write_all(&bytes)).await });
        match r {
            Ok(Ok(())) => {
                self.send_seq += 1;
                Ok(())
            }
            Ok(Err(e)) => Err(ControlError::Lost(e.to_string())),
            Err(_) => Err(ControlError::Timeout),
        }
    }

    /// Receives one control message of type `T`, waiting at most until `deadline` (`None`:
    /// until the connection ends; the QUIC idle timeout still detects a dead peer).
    pub fn recv<T: DeserializeOwned>(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<T, ControlError> {
        let first = self.first.take();
        let (reader, recv) = (&mut self.reader, &mut self.recv);
        let fut = async {
            let head = match first {
                Some(h) => h,
                None => {
                    let mut h = [0u8; HEADER_LEN];
                    recv.read_exact(&mut h)
                        .await
                        .map_err(|e| ControlError::Lost(e.to_string()))?;
                    h
                }
            };
            let header = reader.header(&head).map_err(ControlError::Wire)?;
            let mut payload = vec![0u8; header.payload_len as usize];
            recv.read_exact(&mut payload)
                .await
                .map_err(|e| ControlError::Lost(e.to_string()))?;
            match reader
                .payload(header, payload)
                .map_err(ControlError::Wire)?
            {
                Received::Msg(m) => m.into_control::<T>().map_err(ControlError::Wire),
                Received::Abort(r) => Err(ControlError::Aborted(r)),
            }
        };
        self.rt.block_on(async {
            match deadline {
                Some(d) => timeout_at(d.into(), fut)
                    .await
                    .unwrap_or(Err(ControlError::Timeout)),
                None => fut.await,
            }
        })
    }

    /// Finishes the stream and closes the connection (`ok`: normal end, else abort code),
    /// after giving the last message a moment to be delivered.
    pub fn close(mut self, ok: bool) {
        let _ = self.send.finish();
        let stopped = self.send.stopped();
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(2), stopped).await });
        let code = if ok { CLOSE_DONE } else { CLOSE_ABORT };
        self.conn.close(VarInt::from_u32(code), b"control done");
    }
}

/// A coordinator's client endpoint: dials party daemons.
pub struct Coordinator {
    rt: Arc<Runtime>,
    endpoint: Endpoint,
    identity: Identity,
    opts: NetOptions,
}

impl Coordinator {
    /// A client endpoint for `identity`, which must be a coordinator of `consortium`.
    pub fn new(
        consortium: &Consortium,
        identity: Identity,
        opts: NetOptions,
    ) -> Result<Self, NetSetupError> {
        let pinned = consortium
            .coordinators()
            .iter()
            .any(|c| c.name == identity.name() && c.cert_sha256 == identity.fingerprint());
        if !pinned {
            return Err(NetSetupError::Identity(format!(
                "{} is not pinned as a coordinator in the consortium file",
                identity.name()
            )));
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("quic-coordinator")
            .enable_all()
            .build()
            .map_err(|e| NetSetupError::Io(e.to_string()))?;
        let v6 = consortium
            .parties()
            .first()
            .is_some_and(|p| p.address.is_ipv6());
        let bind: SocketAddr = if v6 { "[::]:0" } else { "0.0.0.0:0" }
            .parse()
            .map_err(|_| NetSetupError::Io("bind address".into()))?;
        let socket = UdpSocket::bind(bind).map_err(|e| NetSetupError::Io(e.to_string()))?;
        let endpoint = {
            let _guard = rt.enter();
            Endpoint::new(
                EndpointConfig::default(),
                None,
                socket,
                Arc::new(TokioRuntime),
            )
            .map_err(|e| NetSetupError::Io(e.to_string()))?
        };
        Ok(Self {
            rt: Arc::new(rt),
            endpoint,
            identity,
            opts,
        })
    }

    /// Dials one party's daemon for `session` (its certificate must be the pinned one).
    pub fn dial(
        &self,
        party: &PartyEntry,
        session: SessionId,
    ) -> Result<ControlLink, NetSetupError> {
        let cfg = client_config(&self.identity, party.cert_sha256, &self.opts)?;
        let deadline = Instant::now() + self.opts.connect_timeout;
        let fail = |reason: String| NetSetupError::Io(format!("{}: {reason}", party.name));
        let endpoint = self.endpoint.clone();
        let (conn, send, recv) = self.rt.block_on(async {
            let connecting = endpoint
                .connect_with(cfg, party.address, &party.name)
                .map_err(|e| fail(e.to_string()))?;
            let conn = timeout_at(deadline.into(), connecting)
                .await
                .map_err(|_| fail("no answer (is the daemon running?)".into()))?
                .map_err(|e| fail(format!("handshake refused or failed: {e}")))?;
            let (send, recv) = timeout_at(deadline.into(), conn.open_bi())
                .await
                .map_err(|_| fail("no stream".into()))?
                .map_err(|e| fail(e.to_string()))?;
            Ok::<_, NetSetupError>((conn, send, recv))
        })?;
        Ok(ControlLink {
            rt: self.rt.clone(),
            conn,
            send,
            recv,
            session,
            reader: FrameReader::new(session, CONTROL_LIMIT),
            send_seq: 0,
            first: None,
        })
    }

    /// Waits (at most a second) for closed connections to drain.
    pub fn shutdown(self) {
        let ep = self.endpoint.clone();
        self.rt.block_on(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), ep.wait_idle()).await;
        });
    }
}

/// Daemon side: waits for a coordinator pinned in `consortium` to open a control stream on
/// `endpoint`. Connections from anyone else (late session dials of an earlier job) are closed.
/// Returns the link and the coordinator's name.
pub(crate) fn accept(
    rt: &Arc<Runtime>,
    endpoint: &Endpoint,
    consortium: &Consortium,
) -> Result<(ControlLink, String), NetSetupError> {
    let coordinators: Vec<(Fingerprint, String)> = consortium
        .coordinators()
        .iter()
        .map(|c| (c.cert_sha256, c.name.clone()))
        .collect();
    let endpoint = endpoint.clone();
    let r = rt.block_on(async move {
        loop {
            let Some(incoming) = endpoint.accept().await else {
                return Err(NetSetupError::Io("endpoint closed".into()));
            };
            let Ok(conn) = incoming.await else { continue };
            let pin = super::node::peer_fingerprint(&conn);
            let Some(name) = coordinators
                .iter()
                .find(|(p, _)| Some(*p) == pin)
                .map(|(_, n)| n.clone())
            else {
                conn.close(VarInt::from_u32(CLOSE_ABORT), b"not a coordinator");
                continue;
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            let Ok(Ok((send, mut recv))) = timeout_at(deadline.into(), conn.accept_bi()).await
            else {
                conn.close(VarInt::from_u32(CLOSE_ABORT), b"no stream");
                continue;
            };
            let mut head = [0u8; HEADER_LEN];
            if !matches!(
                timeout_at(deadline.into(), recv.read_exact(&mut head)).await,
                Ok(Ok(()))
            ) {
                conn.close(VarInt::from_u32(CLOSE_ABORT), b"no frame");
                continue;
            }
            let Ok(header) = decode_header(&head, CONTROL_LIMIT) else {
                conn.close(VarInt::from_u32(CLOSE_ABORT), b"bad frame");
                continue;
            };
            return Ok((conn, send, recv, head, header.session, name));
        }
    });
    let (conn, send, recv, head, session, name) = r?;
    Ok((
        ControlLink {
            rt: rt.clone(),
            conn,
            send,
            recv,
            session,
            reader: FrameReader::new(session, CONTROL_LIMIT),
            send_seq: 0,
            first: Some(head),
        },
        name,
    ))
}
