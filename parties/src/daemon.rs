//! The party daemon (`igs-mpc party --config site.toml`) and the coordinator that drives it
//! (`igs-mpc run-plan`).
//!
//! ```text
//!  coordinator                         party daemon (every site and the helper)
//!  ───────────                         ────────────────────────────────────────
//!  dial (mTLS, pinned) ──────────────► Handshake       accept_control: a pinned coordinator
//!  Propose{plan} ────────────────────► PlanReceived    plan decoded (canonical), logged
//!   ◄── Accepted{hash, signed approval} | Refused ──── Approved        parties = consortium,
//!  (all accepted) Go{approvals} ─────►                 every site's    hash approved (a site:
//!  (any refused) Cancel ─────────────► Aborted         approval checked its signed approval)
//!                                      Running         session::run among the parties, the
//!                                                      transcript on the channel
//!   ◄── Done{result, transcript} | Failed{…, transcript}  Finished | Aborted
//!  Sign{every transcript} ───────────►                 builds and checks the run record
//!            ◄── Signed{signature} ───
//!  Record{co-signed record} ─────────►                 verifies it, writes the audit files
//!  write result and OUT/transcripts/RUN/               site writes its copies (temp + rename)
//! ```
//!
//! No protocol message is sent before every site's signed approval of the plan's hash is
//! present and verified at every party (`Go` carries them all; `crate::audit_io`).
//!
//! Each transition consumes the state and returns the next ([`JobState::step`]); a failed
//! session never sends again (the abort is the last message). Results are written to a
//! temporary file and renamed on success, so an aborted job leaves no result file.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mpc_core::wire::SessionId;
use protocols::error::ProtocolError;
use serde::{Deserialize, Serialize};

use crate::config::site::SiteConfig;
use crate::config::{Consortium, Role, to_hex};
use crate::net::control::{ControlError, ControlLink, Coordinator};
use crate::net::frames::sanitize;
use crate::net::{Identity, NetOptions, NetSetupError, Node};
use crate::plan::{Job, Plan, PlanHash};
use crate::session::demo::{PooledStats, Table, pooled_stats};
use crate::session::{Outcome, SessionRng};

pub use crate::audit_io::daemon_io::{party_sign_round, transcripts_dir};

/// Coordinator → party.
#[derive(Serialize, Deserialize, Debug)]
pub enum ToParty {
    /// A job: the plan's canonical bytes. The session id is the frame header's.
    Propose {
        /// `Plan::to_canonical_bytes`.
        plan: Vec<u8>,
    },
    /// Every party accepted: start the session.
    Go {
        /// Every site's signed approval (`audit::Approval` bytes).
        approvals: Vec<Vec<u8>>,
    },
    /// Some party refused: drop the job.
    Cancel {
        /// Why (names the refusing parties).
        reason: String,
    },
    /// Every session party's transcript, in party order: build the run record and sign it.
    Sign {
        /// Transcript files.
        transcripts: Vec<Vec<u8>>,
    },
    /// The run record signed by every party.
    Record {
        /// `audit::RunRecord` bytes.
        record: Vec<u8>,
    },
}

/// Party → coordinator.
#[derive(Serialize, Deserialize, Debug)]
pub enum ToCoordinator {
    /// The plan is approved here and the party is ready.
    Accepted {
        /// The plan hash the party computed.
        plan_sha256: [u8; 32],
        /// A site's signed approval (`audit::Approval` bytes); none at the helper.
        approval: Option<Vec<u8>>,
    },
    /// The party refuses the job.
    Refused {
        /// Why (no data).
        reason: String,
    },
    /// The session finished; sites send the revealed result, the helper `None`.
    Done {
        /// The revealed result.
        result: Option<JobResult>,
        /// The party's transcript file (closed with END).
        transcript: Vec<u8>,
    },
    /// The session failed.
    Failed {
        /// The phase.
        phase: String,
        /// The party at fault as this party saw it.
        culprit: Option<String>,
        /// The message.
        message: String,
        /// The party's transcript file (closed with ABORT), if it has one.
        transcript: Vec<u8>,
    },
    /// The party's signature of the run record it built.
    Signed {
        /// 64 bytes of Ed25519 signature.
        signature: Vec<u8>,
    },
}

/// The revealed result of a pooled-statistics job.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct JobResult {
    /// Pooled number of complete rows.
    pub n: u64,
    /// Column means.
    pub mean: Vec<f64>,
    /// Covariance, row-major.
    pub cov: Vec<f64>,
}

impl From<PooledStats> for JobResult {
    fn from(s: PooledStats) -> Self {
        Self {
            n: s.n,
            mean: s.mean,
            cov: s.cov,
        }
    }
}

pub use crate::fsio::write_atomic;

/// The result document (JSON) written by the coordinator and by each site.
pub fn result_document(
    plan: &Plan,
    hash: &PlanHash,
    session: SessionId,
    r: &JobResult,
) -> Result<String, String> {
    let d = plan.columns().len();
    let mean: serde_json::Map<String, serde_json::Value> = plan
        .columns()
        .iter()
        .zip(&r.mean)
        .map(|(c, m)| (c.clone(), serde_json::json!(m)))
        .collect();
    let cov: Vec<Vec<f64>> = r.cov.chunks(d.max(1)).map(<[f64]>::to_vec).collect();
    let doc = serde_json::json!({
        "job": plan.job().to_string(),
        "plan_sha256": hash.to_string(),
        "session": to_hex(&session.0),
        "dataset": plan.dataset(),
        "columns": plan.columns(),
        "n": r.n,
        "mean": mean,
        "cov": cov,
    });
    serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())
}

/// Result file name of a job.
pub fn result_file_name(plan: &Plan, session: SessionId) -> String {
    format!("{}-{}.json", plan.job(), to_hex(&session.0))
}

/// A running party daemon.
pub struct Daemon {
    cfg: SiteConfig,
    consortium: Consortium,
    node: Node,
    key: audit::IdentityKey,
}

/// A job at the daemon: an enum of states, each transition consuming the previous one.
pub enum JobState {
    /// A pinned coordinator opened a control link.
    Handshake(Handshake),
    /// The plan arrived and was decoded.
    PlanReceived(PlanReceived),
    /// The plan is approved and the local data loaded; waiting for `Go`.
    Approved(Approved),
    /// Every party accepted: the session runs.
    Running(Running),
    /// Done (terminal).
    Finished(Finished),
    /// Refused, cancelled or failed (terminal).
    Aborted(Aborted),
}

/// See [`JobState::Handshake`].
pub struct Handshake {
    link: ControlLink,
    coordinator: String,
}

/// See [`JobState::PlanReceived`].
pub struct PlanReceived {
    link: ControlLink,
    plan: Plan,
    audit: audit::CanonicalPlan,
    hash: PlanHash,
}

/// See [`JobState::Approved`].
pub struct Approved {
    link: ControlLink,
    plan: Plan,
    audit: audit::CanonicalPlan,
    hash: PlanHash,
    table: Option<Table>,
}

/// See [`JobState::Running`].
pub struct Running {
    link: ControlLink,
    plan: Plan,
    audit: audit::CanonicalPlan,
    hash: PlanHash,
    table: Option<Table>,
    approvals: Vec<audit::Approval>,
}

/// A finished job.
#[derive(Debug)]
pub struct Finished {
    /// The session id.
    pub session: SessionId,
    /// The site's result file (none at the helper).
    pub output: Option<PathBuf>,
}

/// An aborted job.
#[derive(Debug)]
pub struct Aborted {
    /// The session id, if known.
    pub session: SessionId,
    /// The state it failed in.
    pub state: &'static str,
    /// Why.
    pub reason: String,
}

impl JobState {
    /// The next state.
    pub fn step(self, d: &Daemon) -> JobState {
        match self {
            Self::Handshake(s) => s.receive_plan(d),
            Self::PlanReceived(s) => s.approve(d),
            Self::Approved(s) => s.await_go(d),
            Self::Running(s) => s.run(d),
            done @ (Self::Finished(_) | Self::Aborted(_)) => done,
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Self::Finished(_) | Self::Aborted(_))
    }
}

fn abort(link: ControlLink, state: &'static str, reason: String) -> JobState {
    let session = link.session();
    link.close(false);
    JobState::Aborted(Aborted {
        session,
        state,
        reason,
    })
}

impl Handshake {
    fn receive_plan(mut self, d: &Daemon) -> JobState {
        let deadline = Instant::now() + d.node.options().connect_timeout;
        let plan = match self.link.recv::<ToParty>(Some(deadline)) {
            Ok(ToParty::Propose { plan }) => Plan::from_canonical_bytes(&plan),
            Ok(_) => return abort(self.link, "handshake", "expected a plan".into()),
            Err(e) => return abort(self.link, "handshake", e.to_string()),
        };
        let plan = match plan {
            Ok(p) => p,
            Err(e) => return refuse(self.link, d, "plan-received", e.to_string()),
        };
        let audit = match plan.audit_plan() {
            Ok(a) => a,
            Err(e) => return refuse(self.link, d, "plan-received", e.to_string()),
        };
        let hash = PlanHash(audit.hash());
        if self.link.session().0 != plan.run_id() {
            let reason = "the session id is not the plan's run id".to_owned();
            return refuse(self.link, d, "plan-received", reason);
        }
        tracing::info!(
            party = %d.cfg.name,
            session = %to_hex(&self.link.session().0),
            plan = %hash,
            coordinator = %self.coordinator,
            "plan received: {}",
            plan.describe()
        );
        JobState::PlanReceived(PlanReceived {
            link: self.link,
            plan,
            audit,
            hash,
        })
    }
}

fn refuse(mut link: ControlLink, d: &Daemon, state: &'static str, reason: String) -> JobState {
    tracing::warn!(
        party = %d.cfg.name,
        session = %to_hex(&link.session().0),
        state,
        "REFUSED: {reason}"
    );
    let _ = link.send(
        &ToCoordinator::Refused {
            reason: reason.clone(),
        },
        d.node.options().timeout,
    );
    abort(link, state, reason)
}

impl PlanReceived {
    fn approve(self, d: &Daemon) -> JobState {
        let name = &d.cfg.name;
        if let Err(e) = self.plan.check_parties(&d.consortium) {
            return refuse(self.link, d, "plan-received", e.to_string());
        }
        // A site needs its own signed approval of this hash; the helper its local consent.
        let approval = match crate::audit_io::daemon_io::own_approval(
            &d.cfg,
            d.role(),
            &self.audit,
            &self.hash,
        ) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(party = %name, "approvals: {e}");
                return refuse(self.link, d, "plan-received", e);
            }
        };
        let table = match d.role() {
            Role::Site => match d.load_table(&self.plan) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::error!(party = %name, dataset = %self.plan.dataset(), "{e}");
                    let reason = format!(
                        "dataset `{}` cannot be used at {name} (see the site log)",
                        self.plan.dataset()
                    );
                    return refuse(self.link, d, "plan-received", reason);
                }
            },
            _ => None,
        };
        let mut link = self.link;
        let ok = ToCoordinator::Accepted {
            plan_sha256: self.hash.0,
            approval,
        };
        if let Err(e) = link.send(&ok, d.node.options().timeout) {
            return abort(link, "approved", e.to_string());
        }
        tracing::info!(
            party = %d.cfg.name,
            session = %to_hex(&link.session().0),
            plan = %self.hash,
            "plan approved here; accepted"
        );
        JobState::Approved(Approved {
            link,
            plan: self.plan,
            audit: self.audit,
            hash: self.hash,
            table,
        })
    }
}

impl Approved {
    fn await_go(mut self, d: &Daemon) -> JobState {
        let deadline = Instant::now() + d.node.options().connect_timeout;
        match self.link.recv::<ToParty>(Some(deadline)) {
            Ok(ToParty::Go { approvals }) => {
                match crate::audit_io::daemon_io::check_go(&self.audit, &approvals) {
                    Ok(approvals) => JobState::Running(Running {
                        link: self.link,
                        plan: self.plan,
                        audit: self.audit,
                        hash: self.hash,
                        table: self.table,
                        approvals,
                    }),
                    Err(e) => {
                        let msg = ToCoordinator::Failed {
                            phase: "approvals".into(),
                            culprit: None,
                            message: format!("{}: {e}", d.cfg.name),
                            transcript: Vec::new(),
                        };
                        let _ = self.link.send(&msg, d.node.options().timeout);
                        abort(self.link, "approved", e)
                    }
                }
            }
            Ok(ToParty::Cancel { reason }) => {
                let reason = format!("cancelled by the coordinator: {}", sanitize(&reason));
                tracing::warn!(party = %d.cfg.name, "{reason}");
                abort(self.link, "approved", reason)
            }
            Ok(_) => abort(self.link, "approved", "unexpected message".into()),
            Err(e) => abort(self.link, "approved", e.to_string()),
        }
    }
}

impl Running {
    fn run(mut self, d: &Daemon) -> JobState {
        let session = self.link.session();
        let sid = to_hex(&session.0);
        tracing::info!(party = %d.cfg.name, session = %sid, plan = %self.hash, "job running");
        let started = Instant::now();
        let cols = self.plan.columns().len();
        let repeat = self.plan.repeat() as usize;
        let table = self.table.take();
        let ctx = crate::audit_io::PartyContext {
            node: &d.node,
            consortium: &d.consortium,
            session,
            rng: SessionRng::Os,
            plan: &self.audit,
            approvals: &self.approvals,
            key: &d.key,
            // In this party's own trail directory only (never sent to anyone).
            salts_file: Some(
                transcripts_dir(&d.cfg.output_dir, &self.audit)
                    .join(crate::audit_io::salts_file_name(&self.audit, d.node.me())),
            ),
        };
        let reveals = [crate::audit_io::OUTPUT_N, crate::audit_io::OUTPUT_MOMENTS];
        let (r, transcript) = match self.plan.job() {
            Job::PooledStats => crate::audit_io::audited_party(&ctx, &reveals, &|ctx, gate| {
                let t = table
                    .as_ref()
                    .ok_or(ProtocolError::Unreachable("no table at a site"))?;
                pooled_stats(ctx, t, cols, repeat, gate)
            }),
        };
        let trail = transcripts_dir(&d.cfg.output_dir, &self.audit);
        if let Err(e) = crate::audit_io::daemon_io::write_own(
            &trail,
            &self.audit,
            &self.approvals,
            d.node.me(),
            &transcript,
        ) {
            tracing::error!(party = %d.cfg.name, session = %sid, "cannot write the transcript: {e}");
        }
        let timeout = d.node.options().timeout;
        let sign = |link: &mut ControlLink, transcript: &[u8]| match party_sign_round(
            link,
            d,
            &self.audit,
            &self.approvals,
            transcript,
            &trail,
        ) {
            Ok(()) => tracing::info!(
                party = %d.cfg.name,
                session = %sid,
                audit = %trail.display(),
                "run record co-signed"
            ),
            Err(e) => tracing::error!(party = %d.cfg.name, session = %sid, "run record: {e}"),
        };
        match r {
            Err(e) => {
                tracing::error!(
                    party = %d.cfg.name,
                    session = %sid,
                    phase = %e.phase,
                    culprit = e.culprit_name.as_deref().unwrap_or("unknown"),
                    "ABORTED: {e}"
                );
                let msg = ToCoordinator::Failed {
                    phase: e.phase.to_string(),
                    culprit: e.culprit_name.clone(),
                    message: e.to_string(),
                    transcript: transcript.clone(),
                };
                if self.link.send(&msg, timeout).is_ok() {
                    sign(&mut self.link, &transcript);
                }
                abort(self.link, "running", e.to_string())
            }
            Ok(Outcome::Dealer { served, stats }) => {
                tracing::info!(
                    party = %d.cfg.name,
                    session = %sid,
                    seconds = started.elapsed().as_secs_f64(),
                    requests = served.requests,
                    correction_bytes = served.correction_bytes,
                    bytes_sent = stats.total_bytes_sent(),
                    bytes_received = stats.bytes_received.iter().sum::<u64>(),
                    "finished"
                );
                let done = ToCoordinator::Done {
                    result: None,
                    transcript: transcript.clone(),
                };
                if self.link.send(&done, timeout).is_ok() {
                    sign(&mut self.link, &transcript);
                }
                self.link.close(true);
                JobState::Finished(Finished {
                    session,
                    output: None,
                })
            }
            Ok(Outcome::Party { value, stats }) => {
                let result = JobResult::from(value);
                let path = d.cfg.output_dir.join(result_file_name(&self.plan, session));
                let written =
                    result_document(&self.plan, &self.hash, session, &result).and_then(|doc| {
                        std::fs::create_dir_all(&d.cfg.output_dir)
                            .and_then(|()| write_atomic(&path, doc.as_bytes()))
                            .map_err(|e| format!("{}: {e}", path.display()))
                    });
                if let Err(e) = written {
                    tracing::error!(party = %d.cfg.name, session = %sid, "cannot write the result: {e}");
                    let msg = ToCoordinator::Failed {
                        phase: "output".into(),
                        culprit: Some(d.cfg.name.clone()),
                        message: format!("{} cannot write its result file", d.cfg.name),
                        transcript: transcript.clone(),
                    };
                    if self.link.send(&msg, timeout).is_ok() {
                        sign(&mut self.link, &transcript);
                    }
                    return abort(self.link, "running", e);
                }
                tracing::info!(
                    party = %d.cfg.name,
                    session = %sid,
                    seconds = started.elapsed().as_secs_f64(),
                    rounds = stats.rounds,
                    bytes_sent = stats.total_bytes_sent(),
                    bytes_received = stats.bytes_received.iter().sum::<u64>(),
                    result = %path.display(),
                    "finished"
                );
                let done = ToCoordinator::Done {
                    result: Some(result),
                    transcript: transcript.clone(),
                };
                if self.link.send(&done, timeout).is_ok() {
                    sign(&mut self.link, &transcript);
                }
                self.link.close(true);
                JobState::Finished(Finished {
                    session,
                    output: Some(path),
                })
            }
        }
    }
}

impl Daemon {
    /// This party's identity key (approvals, tree heads, the run record).
    pub fn key(&self) -> &audit::IdentityKey {
        &self.key
    }

    /// This party's certificate (DER).
    pub fn identity_cert(&self) -> &[u8] {
        self.node.identity().cert()
    }

    /// This party's id.
    pub fn me(&self) -> mpc_core::party::PartyId {
        self.node.me()
    }

    /// Transport settings.
    pub fn options(&self) -> &NetOptions {
        self.node.options()
    }

    /// Loads the site config, consortium and identity and binds the listen address.
    pub fn start(cfg: SiteConfig) -> Result<Self, String> {
        let consortium = Consortium::load(&cfg.consortium).map_err(|e| e.to_string())?;
        let me = consortium.id_of(&cfg.name).map_err(|e| e.to_string())?;
        let listen = match cfg.listen {
            Some(a) => a,
            None => consortium
                .entry(me)
                .map(|e| e.address)
                .ok_or("no address for this party")?,
        };
        let socket = std::net::UdpSocket::bind(listen)
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        Self::start_with_socket(cfg, socket)
    }

    /// [`Daemon::start`] on an already bound socket (`igs-mpc simulate` binds ephemeral
    /// loopback ports before it writes the consortium file).
    pub fn start_with_socket(cfg: SiteConfig, socket: std::net::UdpSocket) -> Result<Self, String> {
        let consortium = Consortium::load(&cfg.consortium).map_err(|e| e.to_string())?;
        let identity = Identity::load(&cfg.name, &cfg.key, &cfg.cert).map_err(|e| e.to_string())?;
        let key = identity.audit_key().map_err(|e| e.to_string())?;
        let me = consortium.id_of(&cfg.name).map_err(|e| e.to_string())?;
        let listen = socket.local_addr().map_err(|e| e.to_string())?;
        let opts = NetOptions {
            timeout: cfg.timeout,
            ..NetOptions::default()
        };
        let node =
            Node::with_socket(&consortium, identity, opts, socket).map_err(|e| e.to_string())?;
        let d = Self {
            cfg,
            consortium,
            node,
            key,
        };
        tracing::info!(
            party = %d.cfg.name,
            id = %me,
            role = ?d.role(),
            %listen,
            datasets = d.cfg.datasets.len(),
            timeout_ms = d.cfg.timeout.as_millis() as u64,
            "listening"
        );
        Ok(d)
    }

    pub(crate) fn role(&self) -> Role {
        self.consortium
            .entry(self.node.me())
            .map_or(Role::Helper, |e| e.role)
    }

    fn load_table(&self, plan: &Plan) -> Result<Table, String> {
        let ds = self
            .cfg
            .datasets
            .get(plan.dataset())
            .ok_or_else(|| format!("`{}` is not in the catalogue", plan.dataset()))?;
        let path = ds
            .pheno
            .as_ref()
            .ok_or_else(|| format!("`{}` has no phenotype table", plan.dataset()))?;
        let cols: Vec<&str> = plan.columns().iter().map(String::as_str).collect();
        crate::cli::demo::site_table(path, &cols)
    }

    /// Serves one job from its control link to its end.
    pub fn serve_one(&self) -> Result<JobState, NetSetupError> {
        let (link, coordinator) = self.node.accept_control(&self.consortium)?;
        tracing::info!(
            party = %self.cfg.name,
            %coordinator,
            session = %to_hex(&link.session().0),
            "control link"
        );
        let mut state = JobState::Handshake(Handshake { link, coordinator });
        while !state.is_terminal() {
            state = state.step(self);
        }
        Ok(state)
    }

    /// Closes the endpoint (after the last job).
    pub fn shutdown(self) {
        self.node.shutdown();
    }

    /// Serves jobs until the process is stopped.
    pub fn serve_forever(&self) -> Result<(), String> {
        loop {
            match self.serve_one() {
                Ok(JobState::Finished(f)) => {
                    tracing::info!(party = %self.cfg.name, session = %to_hex(&f.session.0), "done");
                }
                Ok(JobState::Aborted(a)) => tracing::warn!(
                    party = %self.cfg.name,
                    session = %to_hex(&a.session.0),
                    state = a.state,
                    "aborted: {}",
                    a.reason
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(party = %self.cfg.name, "control: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

/// What `igs-mpc run-plan` needs.
#[derive(Clone, Debug)]
pub struct RunPlanArgs {
    /// The plan file.
    pub plan: PathBuf,
    /// The consortium file.
    pub consortium: PathBuf,
    /// The coordinator's name in the consortium.
    pub name: String,
    /// Private key file.
    pub key: PathBuf,
    /// Certificate file.
    pub cert: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Progress timeout.
    pub timeout: Duration,
}

/// The coordinator: proposes the plan to every party daemon, starts the session when all
/// accepted, collects the result and writes it atomically. Returns the result file.
pub fn run_plan(a: &RunPlanArgs) -> Result<PathBuf, String> {
    let consortium = Consortium::load(&a.consortium).map_err(|e| e.to_string())?;
    let plan = Plan::load(&a.plan).map_err(|e| e.to_string())?;
    plan.check_parties(&consortium).map_err(|e| e.to_string())?;
    let audit = plan.audit_plan().map_err(|e| e.to_string())?;
    let hash = PlanHash(audit.hash());
    let identity = Identity::load(&a.name, &a.key, &a.cert).map_err(|e| e.to_string())?;
    let key = identity.audit_key().map_err(|e| e.to_string())?;
    let me = audit
        .party_id(&a.name)
        .ok_or_else(|| format!("coordinator {} is not a party of the plan", a.name))?;
    let opts = NetOptions {
        timeout: a.timeout,
        ..NetOptions::default()
    };
    let bytes = plan.to_canonical_bytes().map_err(|e| e.to_string())?;
    // The run id is the session id: a plan is approved for one run.
    let session = SessionId(plan.run_id());
    let sid = to_hex(&session.0);
    tracing::info!(coordinator = %a.name, plan = %hash, session = %sid, "proposing: {}", plan.describe());
    let cert = identity.cert().to_vec();
    let coord = Coordinator::new(&consortium, identity, opts.clone()).map_err(|e| e.to_string())?;
    let trail = transcripts_dir(&a.out, &audit);
    let job = CoordinatorJob {
        audit: &audit,
        key: &key,
        me,
        trail: &trail,
        cert,
    };
    let r = drive(
        &coord,
        &consortium,
        &plan,
        &hash,
        session,
        &bytes,
        &opts,
        &job,
    );
    coord.shutdown();
    let result = r.inspect_err(|e| {
        tracing::error!(coordinator = %a.name, plan = %hash, session = %sid, "{e}");
    })?;
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let path = a.out.join(result_file_name(&plan, session));
    let doc = result_document(&plan, &hash, session, &result)?;
    write_atomic(&path, doc.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::info!(coordinator = %a.name, plan = %hash, session = %sid, result = %path.display(), "result written");
    Ok(path)
}

/// The coordinator's part in the audit trail.
struct CoordinatorJob<'a> {
    audit: &'a audit::CanonicalPlan,
    key: &'a audit::IdentityKey,
    me: mpc_core::party::PartyId,
    trail: &'a std::path::Path,
    /// The coordinator's own certificate (DER), for `certs/`.
    cert: Vec<u8>,
}

/// The coordinator's name in the plan.
fn a_name(job: &CoordinatorJob<'_>) -> String {
    job.audit
        .party(job.me)
        .map_or_else(|| "coordinator".to_owned(), |p| p.name.clone())
}

#[allow(clippy::too_many_arguments, reason = "the whole run")]
fn drive(
    coord: &Coordinator,
    consortium: &Consortium,
    plan: &Plan,
    hash: &PlanHash,
    session: SessionId,
    bytes: &[u8],
    opts: &NetOptions,
    job: &CoordinatorJob<'_>,
) -> Result<JobResult, String> {
    let mut links = Vec::new();
    // Every certificate as the handshakes presented it (pinned), for the trail's `certs/`.
    let mut certs = vec![(a_name(job), job.cert.clone())];
    for p in consortium.parties() {
        let mut link = coord
            .dial(p, session)
            .map_err(|e| format!("cannot reach {}: {e}", p.name))?;
        if let Some(der) = link.peer_cert_der() {
            certs.push((p.name.clone(), der));
        }
        link.send(
            &ToParty::Propose {
                plan: bytes.to_vec(),
            },
            opts.timeout,
        )
        .map_err(|e| format!("{}: {e}", p.name))?;
        links.push((p.name.clone(), p.role, link));
    }
    let deadline = Instant::now() + opts.connect_timeout;
    let mut refusals = Vec::new();
    let mut approvals = Vec::new();
    for (name, role, link) in &mut links {
        match link.recv::<ToCoordinator>(Some(deadline)) {
            Ok(ToCoordinator::Accepted {
                plan_sha256,
                approval,
            }) if plan_sha256 == hash.0 => {
                match (role, approval) {
                    (Role::Site, Some(a)) => approvals.push(a),
                    (Role::Site, None) => {
                        refusals.push(format!("{name}: accepted without a signed approval"));
                        continue;
                    }
                    _ => {}
                }
                tracing::info!(party = %name, "accepted");
            }
            Ok(ToCoordinator::Accepted { .. }) => {
                refusals.push(format!("{name}: accepted another plan hash"));
            }
            Ok(ToCoordinator::Refused { reason }) => {
                refusals.push(format!("{name} refused: {}", sanitize(&reason)));
            }
            Ok(other) => refusals.push(format!("{name}: unexpected answer {other:?}")),
            Err(e) => refusals.push(format!("{name}: {e}")),
        }
    }
    if !refusals.is_empty() {
        let reason = refusals.join("; ");
        for (_, _, mut link) in links {
            let _ = link.send(
                &ToParty::Cancel {
                    reason: reason.clone(),
                },
                opts.timeout,
            );
            link.close(false);
        }
        return Err(format!("job not started: {reason}"));
    }
    // Every party checks every approval before the session; so does the coordinator.
    if let Err(e) = crate::audit_io::daemon_io::check_go(job.audit, &approvals) {
        for (_, _, mut link) in links {
            let _ = link.send(&ToParty::Cancel { reason: e.clone() }, opts.timeout);
            link.close(false);
        }
        return Err(format!("job not started: {e}"));
    }
    for (name, _, link) in &mut links {
        link.send(
            &ToParty::Go {
                approvals: approvals.clone(),
            },
            opts.timeout,
        )
        .map_err(|e| format!("{name}: {e}"))?;
    }
    // Collect every party's report concurrently: once one reports a failure, the others have
    // 2T (the longest a surviving party takes to blame a silent peer) plus a margin to report.
    let (tx, rx) = std::sync::mpsc::channel();
    let total = links.len();
    for (i, (name, role, mut link)) in links.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = link.recv::<ToCoordinator>(None);
            let _ = tx.send((i, name, role, r, link));
        });
    }
    drop(tx);
    let mut failures = Vec::new();
    let mut results: Vec<(usize, String, JobResult)> = Vec::new();
    let mut transcripts: Vec<Option<Vec<u8>>> = vec![None; total];
    let mut open_links = Vec::new();
    let mut reported = 0;
    let mut deadline: Option<Instant> = None;
    while reported < total {
        let next = match deadline {
            None => rx.recv().map_err(|_| ()),
            Some(d) => rx
                .recv_timeout(d.saturating_duration_since(Instant::now()))
                .map_err(|_| ()),
        };
        let Ok((i, name, role, r, link)) = next else {
            failures.push("some parties did not report before the deadline".to_owned());
            break;
        };
        reported += 1;
        let alive = matches!(
            r,
            Ok(ToCoordinator::Done { .. } | ToCoordinator::Failed { .. })
        );
        if alive {
            open_links.push((i, name.clone(), link));
        } else {
            link.close(false);
        }
        match r {
            Ok(ToCoordinator::Done {
                result: Some(r),
                transcript,
            }) if role == Role::Site => {
                if let Some(t) = transcripts.get_mut(i) {
                    *t = Some(transcript);
                }
                results.push((i, name, r));
                continue;
            }
            Ok(ToCoordinator::Done {
                result: None,
                transcript,
            }) if role == Role::Helper => {
                if let Some(t) = transcripts.get_mut(i) {
                    *t = Some(transcript);
                }
                continue;
            }
            Ok(ToCoordinator::Failed {
                message,
                transcript,
                ..
            }) => {
                if let Some(t) = transcripts.get_mut(i) {
                    *t = Some(transcript);
                }
                failures.push(format!("{name} reports: {}", sanitize(&message)));
            }
            Ok(other) => failures.push(format!("{name}: unexpected answer {other:?}")),
            Err(ControlError::Lost(e)) => {
                failures.push(format!("lost contact with {name} during the run ({e})"));
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        deadline.get_or_insert_with(|| Instant::now() + 2 * opts.timeout + Duration::from_secs(2));
    }
    // The run record, co-signed over the control links (also after a failed session: its
    // transcripts end with ABORT and are what the auditor needs).
    open_links.sort_by_key(|(i, _, _)| *i);
    let mut links: Vec<(String, ControlLink)> =
        open_links.into_iter().map(|(_, n, l)| (n, l)).collect();
    let transcripts: Option<Vec<Vec<u8>>> = transcripts.into_iter().collect();
    match transcripts {
        Some(t) if links.len() == total => {
            match crate::audit_io::daemon_io::coordinator_sign_round(
                &mut links, job.audit, &approvals, &t, job.key, job.me, job.trail, opts, &certs,
            ) {
                Ok(()) => eprintln!(
                    "run-plan: run record co-signed by every party; audit files in {}",
                    job.trail.display()
                ),
                Err(e) => failures.push(format!("run record: {e}")),
            }
        }
        _ => eprintln!("run-plan: not every party sent its transcript; no run record"),
    }
    for (_, link) in links {
        link.close(failures.is_empty());
    }
    results.sort_by_key(|(i, _, _)| *i);
    let results: Vec<(String, JobResult)> = results.into_iter().map(|(_, n, r)| (n, r)).collect();
    if !failures.is_empty() {
        return Err(format!(
            "session {} failed: {}",
            to_hex(&session.0),
            failures.join("; ")
        ));
    }
    let mut it = results.into_iter();
    let (_, first) = it.next().ok_or("no site reported a result")?;
    for (name, r) in it {
        if r != first {
            return Err(format!("{name} reports a different result"));
        }
    }
    if first.mean.len() != plan.columns().len() {
        return Err("the result does not match the plan's columns".into());
    }
    Ok(first)
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;
    use mpc_core::wire::Msg;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // Byte snapshots of the coordinator protocol: a change here is a wire-format change.
    #[test]
    fn message_snapshots() {
        let to_party = [
            (
                ToParty::Propose {
                    plan: vec![1, 2, 3],
                },
                "0003010203",
            ),
            (
                ToParty::Go {
                    approvals: vec![vec![9]],
                },
                "01010109",
            ),
            (
                ToParty::Cancel {
                    reason: "no".into(),
                },
                "02026e6f",
            ),
            (
                ToParty::Sign {
                    transcripts: vec![vec![1, 2]],
                },
                "0301020102",
            ),
            (ToParty::Record { record: vec![5] }, "040105"),
        ];
        for (m, want) in to_party {
            let b = Msg::control(&m).unwrap();
            assert_eq!(hex(b.payload()), want, "{m:?}");
        }
        let to_coord = [
            (
                ToCoordinator::Accepted {
                    plan_sha256: [7; 32],
                    approval: Some(vec![1]),
                },
                "000707070707070707070707070707070707070707070707070707070707070707010101",
            ),
            (ToCoordinator::Refused { reason: "x".into() }, "010178"),
            (
                ToCoordinator::Done {
                    result: Some(JobResult {
                        n: 2,
                        mean: vec![0.5],
                        cov: vec![1.0],
                    }),
                    transcript: vec![3],
                },
                "02010201000000000000e03f01000000000000f03f0103",
            ),
            (
                ToCoordinator::Done {
                    result: None,
                    transcript: Vec::new(),
                },
                "020000",
            ),
            (
                ToCoordinator::Signed {
                    signature: vec![0xaa],
                },
                "0401aa",
            ),
        ];
        for (m, want) in to_coord {
            let b = Msg::control(&m).unwrap();
            assert_eq!(hex(b.payload()), want, "{m:?}");
        }
    }
}
