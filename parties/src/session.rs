//! Sessions: connect a party to every peer, run a job (computing party) or serve
//! preprocessing (dealer), and fail cleanly.
//!
//! ```text
//!  Connect ──► Setup (dealer seed, pairwise seeds) ──► Compute (the job) ──► Finish ──► close
//!     │               │                                   │                    │
//!     └───────────────┴──────── any error ────────────────┴────────────────────┘
//!                       abort notice to every peer (names the culprit), close with the
//!                       abort code, return SessionError { phase, culprit }
//! ```
//!
//! A failed session never sends again: after the abort notices the channel is consumed.

pub mod demo;

use core::fmt;
use std::net::UdpSocket;

use mpc_core::channel::{Channel, NetError, Stats};
use mpc_core::party::PartyId;
use mpc_core::prg::{Prg, Seed};
use mpc_core::wire::{Msg, SessionId};
use protocols::Ctx;
use protocols::error::ProtocolError;
use protocols::prep::{Dealer, DealerStats, serve_dealer};

use crate::config::{Consortium, PartyEntry, Role};
use crate::net::{Identity, NetOptions, NetSetupError, Node, QuicChannel, os_random_32};

/// Where a session failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Establishing the connections (handshakes, session preamble).
    Connect,
    /// Dealer seed and pairwise seed exchange.
    Setup,
    /// The job itself (or the dealer serving it).
    Compute,
    /// Ending preprocessing after the job.
    Finish,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Setup => "setup",
            Self::Compute => "compute",
            Self::Finish => "finish",
        })
    }
}

/// A failed session: the phase, the party at fault (if known) and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionError {
    /// Where it failed.
    pub phase: Phase,
    /// The party at fault as this party saw it (a peer that aborted names its own culprit in
    /// `message`).
    pub culprit: Option<PartyId>,
    /// `name (Pi)` of the culprit.
    pub culprit_name: Option<String>,
    /// What happened, with party names.
    pub message: String,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.culprit_name {
            Some(c) => write!(
                f,
                "session failed in phase {}: party at fault {c}: {}",
                self.phase, self.message
            ),
            None => write!(
                f,
                "session failed in phase {}: {}",
                self.phase, self.message
            ),
        }
    }
}

impl std::error::Error for SessionError {}

impl SessionError {
    fn new(consortium: &Consortium, phase: Phase, culprit: Option<PartyId>, msg: String) -> Self {
        Self {
            phase,
            culprit,
            culprit_name: culprit.map(|c| consortium.describe(c)),
            message: msg,
        }
    }

    fn protocol(consortium: &Consortium, phase: Phase, e: &ProtocolError) -> Self {
        let message = match e {
            ProtocolError::Net(NetError::Aborted { party, reason }) => {
                format!("{} aborted: {reason}", consortium.describe(*party))
            }
            other => other.to_string(),
        };
        Self::new(consortium, phase, e.culprit(), message)
    }

    fn setup(consortium: &Consortium, e: &NetSetupError) -> Self {
        Self::new(consortium, Phase::Connect, e.culprit(), e.to_string())
    }
}

/// Where a party's protocol randomness comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionRng {
    /// The operating system (every real session).
    Os,
    /// TEST ONLY: the same per-party streams as `protocols::testing::run_with_dealer(seed)`.
    InsecureSeed(u64),
}

/// What a successful session returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome<T> {
    /// A computing party's result.
    Party {
        /// The job's value.
        value: T,
        /// Its traffic.
        stats: Stats,
    },
    /// The dealer's summary.
    Dealer {
        /// Requests served.
        served: DealerStats,
        /// Its traffic.
        stats: Stats,
    },
}

impl<T> Outcome<T> {
    /// The job's value at a computing party.
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Party { value, .. } => Some(value),
            Self::Dealer { .. } => None,
        }
    }
}

fn prg_for(me: PartyId, rng: SessionRng) -> Result<Prg, NetSetupError> {
    Ok(match rng {
        SessionRng::Os => Prg::new(Seed::from_bytes(os_random_32()?)),
        SessionRng::InsecureSeed(s) => {
            Prg::insecure_from_u64(s).fork_indexed(b"test-party", u64::from(me.0))
        }
    })
}

/// Sends an abort notice to every peer (best effort).
fn notify_abort(chan: &mut QuicChannel, total: usize, reason: &str) {
    let me = chan.me();
    for j in 0..total {
        let p = PartyId(j as u16);
        if p != me {
            let _ = chan.send(p, Msg::abort(reason));
        }
    }
}

/// One `info` event with a finished session's traffic (counts only).
fn log_stats(name: &str, sid: &str, stats: &Stats) {
    tracing::info!(
        party = %name,
        session = %sid,
        bytes_sent = stats.total_bytes_sent(),
        bytes_received = stats.bytes_received.iter().sum::<u64>(),
        frames_sent = stats.frames_sent,
        rounds = stats.rounds,
        prep_rounds = stats.prep_rounds,
        "session finished"
    );
}

/// Runs one session at the party of `node`: connects to every peer of `consortium`, then runs
/// `job` (a computing party) or serves preprocessing (the helper). On any error every peer is
/// told why before the connections close.
pub fn run<T, F>(
    node: &Node,
    consortium: &Consortium,
    session: SessionId,
    rng: SessionRng,
    job: F,
) -> Result<Outcome<T>, SessionError>
where
    F: Fn(&mut Ctx<'_, Dealer>) -> protocols::Result<T>,
{
    run_with_transcript(node, consortium, session, rng, None, job)
}

/// [`run`] with the party's audit transcript attached to its channel right after connecting
/// (`crate::audit_io`): every frame is logged before the first protocol message. The caller
/// closes the transcript (END or ABORT) once this returns, when no frame can follow.
pub fn run_with_transcript<T, F>(
    node: &Node,
    consortium: &Consortium,
    session: SessionId,
    rng: SessionRng,
    transcript: Option<&crate::audit_io::SharedTranscript>,
    job: F,
) -> Result<Outcome<T>, SessionError>
where
    F: Fn(&mut Ctx<'_, Dealer>) -> protocols::Result<T>,
{
    let me = node.me();
    let n = consortium.n_compute();
    let total = n + 1;
    let mut prg = prg_for(me, rng).map_err(|e| SessionError::setup(consortium, &e))?;
    let name = consortium.describe(me);
    let sid = crate::config::to_hex(&session.0);
    tracing::debug!(party = %name, session = %sid, peers = total - 1, "connecting");
    let mut chan = node.connect(consortium, session).map_err(|e| {
        let err = SessionError::setup(consortium, &e);
        tracing::warn!(party = %name, session = %sid, phase = %err.phase, "{err}");
        err
    })?;
    tracing::info!(party = %name, session = %sid, "connected; phase setup");
    if let Some(t) = transcript {
        t.attach(&mut chan, consortium);
    }
    if me.index() == n {
        return match serve_dealer(&mut chan, &mut prg) {
            Ok(served) => {
                let stats = chan.stats();
                log_stats(&name, &sid, &stats);
                chan.close();
                Ok(Outcome::Dealer { served, stats })
            }
            Err(e) => {
                let err = SessionError::protocol(consortium, Phase::Compute, &e);
                tracing::warn!(party = %name, session = %sid, phase = %err.phase, "{err}");
                notify_abort(&mut chan, total, &err.to_string());
                chan.close_aborted();
                Err(err)
            }
        };
    }
    let result = (|| {
        let dealer = Dealer::connect(&mut chan).map_err(|e| (Phase::Setup, e, true))?;
        let mut ctx = Ctx::new(&mut chan, dealer, &mut prg).map_err(|e| (Phase::Setup, e, true))?;
        tracing::info!(party = %name, session = %sid, "phase compute");
        match job(&mut ctx) {
            Ok(v) => {
                let stats = ctx.finish().map_err(|e| (Phase::Finish, e, true))?;
                Ok((v, stats))
            }
            Err(e) => {
                let reason = SessionError::protocol(consortium, Phase::Compute, &e).to_string();
                ctx.abort(&reason);
                Err((Phase::Compute, e, false))
            }
        }
    })();
    match result {
        Ok((value, stats)) => {
            log_stats(&name, &sid, &stats);
            chan.close();
            Ok(Outcome::Party { value, stats })
        }
        Err((phase, e, notify)) => {
            let err = SessionError::protocol(consortium, phase, &e);
            tracing::warn!(party = %name, session = %sid, phase = %err.phase, "{err}");
            if notify {
                notify_abort(&mut chan, total, &err.to_string());
            }
            chan.close_aborted();
            Err(err)
        }
    }
}

/// Fresh identities and nodes for `n_sites` sites (`site-0..`) and a `helper`, bound to
/// ephemeral ports on 127.0.0.1, with the consortium that pins them.
pub fn loopback(
    n_sites: usize,
    opts: &NetOptions,
) -> Result<(Consortium, Vec<Node>), NetSetupError> {
    let names: Vec<String> = (0..n_sites).map(|i| format!("site-{i}")).collect();
    loopback_named(&names, opts)
}

/// [`loopback`] with the given site names (a name that is not a valid party name, or is
/// `helper`, becomes `site-<i>`).
pub fn loopback_named(
    sites: &[String],
    opts: &NetOptions,
) -> Result<(Consortium, Vec<Node>), NetSetupError> {
    let n_sites = sites.len();
    let mut ids = Vec::new();
    let mut sockets = Vec::new();
    let mut entries = Vec::new();
    for i in 0..=n_sites {
        let (name, role) = match sites.get(i) {
            Some(s) if crate::config::valid_name(s) && s != "helper" => (s.clone(), Role::Site),
            Some(_) => (format!("site-{i}"), Role::Site),
            None => ("helper".to_owned(), Role::Helper),
        };
        let id = Identity::generate(&name)?;
        let socket =
            UdpSocket::bind("127.0.0.1:0").map_err(|e| NetSetupError::Io(e.to_string()))?;
        let address = socket
            .local_addr()
            .map_err(|e| NetSetupError::Io(e.to_string()))?;
        entries.push(PartyEntry {
            name,
            role,
            address,
            cert_sha256: id.fingerprint(),
        });
        ids.push(id);
        sockets.push(socket);
    }
    let consortium = Consortium::new(entries)?;
    let nodes = ids
        .into_iter()
        .zip(sockets)
        .map(|(id, s)| Node::with_socket(&consortium, id, opts.clone(), s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((consortium, nodes))
}

/// Runs every party of a session inside this process over loopback QUIC (ephemeral ports,
/// fresh identities, the same [`run`] code path as separate processes). Sites are named
/// `site-0..`, the dealer `helper`. Returns each party's result in session order.
pub fn simulate<T, F>(
    n_sites: usize,
    opts: &NetOptions,
    rng: SessionRng,
    job: F,
) -> Result<Vec<Result<Outcome<T>, SessionError>>, NetSetupError>
where
    T: Send,
    F: Fn(&mut Ctx<'_, Dealer>) -> protocols::Result<T> + Sync,
{
    let (consortium, nodes) = loopback(n_sites, opts)?;
    let session = SessionId(
        os_random_32()?
            .get(..16)
            .and_then(|s| s.try_into().ok())
            .unwrap_or_default(),
    );
    let results = std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .map(|node| {
                let (consortium, job) = (&consortium, &job);
                std::thread::Builder::new()
                    .name(format!("party-{}", node.me().0))
                    .stack_size(16 << 20)
                    .spawn_scoped(s, move || run(node, consortium, session, rng, job))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                let failed = |message: &str| SessionError {
                    phase: Phase::Compute,
                    culprit: None,
                    culprit_name: None,
                    message: message.into(),
                };
                match h {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(failed("party thread panicked"))),
                    Err(_) => Err(failed("cannot start a party thread")),
                }
            })
            .collect()
    });
    for node in nodes {
        node.shutdown();
    }
    Ok(results)
}

/// Parses a session id given as 32 hex digits.
pub fn parse_session_id(hex: &str) -> Option<SessionId> {
    let fp = crate::config::Fingerprint::from_hex(&format!("{hex:0>64}"))?;
    if hex.len() != 32 {
        return None;
    }
    let tail: [u8; 16] = fp.0.get(16..)?.try_into().ok()?;
    Some(SessionId(tail))
}
