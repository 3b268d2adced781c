//! A small joint computation for demos and transport tests: the pooled mean and covariance of
//! a numeric table split by rows across the sites.
//!
//! Each site aggregates locally (row count n_i, column sums S_i, cross products Q_i = Σ x xᵀ),
//! inputs them secret-shared (no communication), and the parties add the shares. They open the
//! pooled count N (an aggregate every site may see), compute N·Q − S Sᵀ on shares (one matrix
//! product and one truncation) and open S and N·Q − S Sᵀ. Then mean = S / N and
//! cov = (N·Q − S Sᵀ) / (N (N − 1)) in plaintext: exactly the information in the outputs.
//! Arithmetic in Z_2^128 with 40 fractional bits.

use mpc_core::fixed::FixedPoint;
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::{SharedMat, SharedVec};
use protocols::arith::{self, input, open};
use protocols::error::ProtocolError;
use protocols::trunc::trunc;
use protocols::{Ctx, Result};

use crate::audit_io::{NoAudit, RevealGate};
pub use crate::audit_io::{OUTPUT_MOMENTS, OUTPUT_N};
use crate::session::{Outcome, SessionRng};

/// Columns of the synthetic demo table (dosage, age, score).
pub const DEMO_COLUMNS: usize = 3;

/// A site's local table, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Rows (individuals).
    pub rows: usize,
    /// Columns (variables).
    pub cols: usize,
    /// `rows × cols` values.
    pub data: Vec<f64>,
}

/// Pooled statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct PooledStats {
    /// Total rows.
    pub n: u64,
    /// Column means.
    pub mean: Vec<f64>,
    /// Sample covariance, `cols × cols` row-major.
    pub cov: Vec<f64>,
}

/// A deterministic synthetic table for site `site` (demo data, not real individuals).
pub fn synthetic_table(site: usize, rows: usize) -> Table {
    let mut prg = Prg::insecure_from_u64(0x5eed_0000 + site as u64);
    let mut u = || (prg.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let mut data = Vec::with_capacity(rows * DEMO_COLUMNS);
    for _ in 0..rows {
        let dosage = (u() * 3.0).floor().min(2.0);
        let age = 40.0 + 5.0 * site as f64 + 30.0 * u();
        let noise = u() + u() + u() + u() - 2.0;
        data.extend([dosage, age, 0.5 * dosage + 0.01 * age + noise]);
    }
    Table {
        rows,
        cols: DEMO_COLUMNS,
        data,
    }
}

/// `[n, S (cols), Q (cols × cols)]` of one table.
pub fn local_aggregates(t: &Table) -> Vec<f64> {
    let d = t.cols;
    let mut out = vec![0.0; 1 + d + d * d];
    if let Some(n) = out.first_mut() {
        *n = t.rows as f64;
    }
    for row in t.data.chunks_exact(d) {
        for (j, &xj) in row.iter().enumerate() {
            if let Some(s) = out.get_mut(1 + j) {
                *s += xj;
            }
            for (k, &xk) in row.iter().enumerate() {
                if let Some(q) = out.get_mut(1 + d + j * d + k) {
                    *q += xj * xk;
                }
            }
        }
    }
    out
}

fn finish_stats(n: u64, s: &[f64], c: &[f64]) -> PooledStats {
    let nf = n as f64;
    PooledStats {
        n,
        mean: s.iter().map(|x| x / nf).collect(),
        cov: c.iter().map(|x| x / (nf * (nf - 1.0))).collect(),
    }
}

/// The plaintext reference over all tables.
pub fn plain_pooled_stats(tables: &[Table]) -> PooledStats {
    let d = tables.first().map_or(0, |t| t.cols);
    let mut agg = vec![0.0; 1 + d + d * d];
    for t in tables {
        for (a, b) in agg.iter_mut().zip(local_aggregates(t)) {
            *a += b;
        }
    }
    let n = agg.first().copied().unwrap_or(0.0);
    let s = agg.get(1..1 + d).unwrap_or_default();
    let q = agg.get(1 + d..).unwrap_or_default();
    let c: Vec<f64> = (0..d * d)
        .map(|jk| {
            let (j, k) = (jk / d, jk % d);
            let sj = s.get(j).copied().unwrap_or(0.0);
            let sk = s.get(k).copied().unwrap_or(0.0);
            n * q.get(jk).copied().unwrap_or(0.0) - sj * sk
        })
        .collect();
    finish_stats(n as u64, s, &c)
}

/// An opened value as the transcript records it: the decoded numbers in their shortest
/// round-trip decimal form, comma-separated (UTF-8, so reports show it as text).
pub fn reveal_text(values: &[f64]) -> Vec<u8> {
    values
        .iter()
        .map(|x| format!("{x}"))
        .collect::<Vec<_>>()
        .join(", ")
        .into_bytes()
}

/// The secure job: every computing party calls it; `mine` is this party's table. `cols` is
/// public. Repeats the computation `repeat` times (load for transport tests) and returns the
/// last result. Every opening of an output goes through `gate` (the plan's outputs
/// [`OUTPUT_N`] and [`OUTPUT_MOMENTS`]): checked before any share leaves the party, logged as
/// REVEAL after.
pub fn pooled_stats(
    ctx: &mut Ctx<'_, protocols::prep::Dealer>,
    mine: &Table,
    cols: usize,
    repeat: usize,
    gate: &dyn RevealGate,
) -> Result<PooledStats> {
    let fx = FixedPoint::default_for::<Z128>();
    let d = cols;
    let len = 1 + d + d * d;
    if mine.cols != d {
        return Err(ProtocolError::ApiMisuse("table width differs".into()));
    }
    let encoded = fx
        .encode_slice::<Z128>(&local_aggregates(mine))
        .map_err(|e| ProtocolError::ApiMisuse(format!("local aggregates: {e}")))?;
    let me = ctx.me();
    disclosure_checks(ctx, mine, gate)?;
    let mut last = None;
    for _ in 0..repeat.max(1) {
        let mut sum = SharedVec::<Z128>::zeros(len);
        for i in 0..ctx.n() {
            let owner = PartyId(i as u16);
            let values = (owner == me).then_some(&encoded[..]);
            sum = sum.add(&input(ctx, owner, values, len)?);
        }
        gate.before_open(OUTPUT_N)?;
        let n_total = fx.decode(
            open(ctx, &sum.slice(0, 1))?
                .first()
                .copied()
                .ok_or(ProtocolError::Unreachable("empty opening"))?,
        );
        gate.after_open(OUTPUT_N, &reveal_text(&[n_total]))?;
        let n = n_total.round().max(0.0) as u64;
        if n < 2 {
            return Err(ProtocolError::ApiMisuse(
                "fewer than two rows in total".into(),
            ));
        }
        let s = sum.slice(1, d);
        let q = sum.slice(1 + d, d * d);
        let shape = ProtocolError::Unreachable("shape");
        let col = SharedMat::from_vec(d, 1, s.clone()).ok_or(shape.clone())?;
        let row = SharedMat::from_vec(1, d, s.clone()).ok_or(shape)?;
        let ss = arith::matmul(ctx, &col, &row)?.into_vec();
        let ss = trunc(ctx, &ss, fx.frac_bits())?;
        let c = q.scale(<Z128 as Ring>::from_u64(n)).sub(&ss);
        gate.before_open(OUTPUT_MOMENTS)?;
        let out = fx.decode_slice(&open(ctx, &SharedVec::concat(&[&s, &c]))?);
        gate.after_open(OUTPUT_MOMENTS, &reveal_text(&out))?;
        let (s_out, c_out) = out.split_at(d.min(out.len()));
        last = Some(finish_stats(n, s_out, c_out));
    }
    last.ok_or(ProtocolError::Unreachable("no iteration"))
}

/// A site's local inputs to the disclosure checks, `[counts (1 + 2d) | largest (2d) | sums
/// (2d)]`: counts are integers (its rows, then per column the ones and zeros of a 0/1 column,
/// or its rows twice for any other column: no cell); largest and sums are fixed point, per
/// column max |x| and Σ |x|, then max x² and Σ x² (the contributions to the column sums and to
/// the second moments the outputs reveal).
pub fn disclosure_inputs(t: &Table) -> core::result::Result<Vec<Z128>, String> {
    let fx = FixedPoint::default_for::<Z128>();
    let d = t.cols;
    let n = t.rows as u64;
    let mut counts = vec![Z128::from_u64(n)];
    let mut largest = vec![0.0f64; 2 * d];
    let mut sums = vec![0.0f64; 2 * d];
    for j in 0..d {
        let col = t.data.iter().skip(j).step_by(d.max(1)).take(t.rows);
        let mut ones = 0u64;
        let mut binary = true;
        for &x in col {
            binary &= x == 0.0 || x == 1.0;
            ones += u64::from(x == 1.0);
            for (k, v) in [(j, x.abs()), (d + j, x * x)] {
                if let Some(l) = largest.get_mut(k) {
                    *l = l.max(v);
                }
                if let Some(s) = sums.get_mut(k) {
                    *s += v;
                }
            }
        }
        let (a, b) = if binary { (ones, n - ones) } else { (n, n) };
        counts.extend([Z128::from_u64(a), Z128::from_u64(b)]);
    }
    let enc = fx
        .encode_slice::<Z128>(&[largest, sums].concat())
        .map_err(|e| format!("disclosure inputs: {e}"))?;
    counts.extend(enc);
    Ok(counts)
}

/// The in-MPC disclosure checks of the pooled-statistics outputs, before any of them is
/// opened (`circuits::disclosure`): minimum cells (every site's rows and the ones and zeros of
/// its 0/1 columns are 0 or ≥ k) and dominance (no single value's |x| or x² above the plan's
/// per-mille bound of the pooled Σ |x| or Σ x²). Each opens one bit, logged as CHECK by the
/// gate; a failure is refused there and ends the job. No checks without a plan ([`NoAudit`]).
pub fn disclosure_checks(
    ctx: &mut Ctx<'_, protocols::prep::Dealer>,
    mine: &Table,
    gate: &dyn RevealGate,
) -> Result<()> {
    use circuits::disclosure::{RULE_CELLS, RULE_DOMINANCE, check_cells, check_dominance};
    let outputs = [OUTPUT_N, OUTPUT_MOMENTS];
    let Some(rules) = outputs
        .iter()
        .filter_map(|o| gate.rules(o))
        .reduce(crate::audit_io::DisclosureRules::strictest)
    else {
        return Ok(());
    };
    let d = mine.cols;
    let (nc, nm) = (1 + 2 * d, 2 * d);
    let len = nc + 2 * nm;
    let local = disclosure_inputs(mine).map_err(ProtocolError::ApiMisuse)?;
    let me = ctx.me();
    let mut counts = Vec::new();
    let mut largest = Vec::new();
    let mut totals = SharedVec::<Z128>::zeros(nm);
    for i in 0..ctx.n() {
        let owner = PartyId(i as u16);
        let x = input(ctx, owner, (owner == me).then_some(&local[..]), len)?;
        counts.push(x.slice(0, nc));
        largest.push(x.slice(nc, nm));
        totals = totals.add(&x.slice(nc + nm, nm));
    }
    let counts = SharedVec::concat(&counts.iter().collect::<Vec<_>>());
    let largest = SharedVec::concat(&largest.iter().collect::<Vec<_>>());
    // Counts < 2^62 rows. Fixed point with 40 fractional bits: a sum Σ x² below 2^75 (e.g.
    // 2^20 rows with |x| < 2^27) is below 2^115 encoded, times 1000 below 2^125.
    let cells = check_cells(ctx, &counts, rules.k, 62)?;
    let dominance = check_dominance(ctx, &largest, &totals, rules.dominance_permille, 125)?;
    gate.disclosure_check(&outputs, RULE_CELLS, cells)?;
    gate.disclosure_check(&outputs, RULE_DOMINANCE, dominance)
}

/// What one demo party process needs.
pub struct PartyArgs {
    /// Consortium file.
    pub consortium: std::path::PathBuf,
    /// This party's name.
    pub name: String,
    /// Private key file.
    pub key: std::path::PathBuf,
    /// Certificate file.
    pub cert: std::path::PathBuf,
    /// Session id (the same at every party).
    pub session: mpc_core::wire::SessionId,
    /// Rows of this site's synthetic table.
    pub rows: usize,
    /// Repetitions of the computation.
    pub repeat: usize,
    /// Transport settings.
    pub opts: crate::net::NetOptions,
    /// Protocol randomness: [`SessionRng::Os`] except in reproducibility tests
    /// (`--insecure-test-seed`).
    pub rng: SessionRng,
}

/// One party of the demo as its own process: loads the consortium and identity, binds the
/// listed address, runs the session. Returns the party's outcome (value and traffic at a site,
/// requests served and traffic at the dealer).
pub fn run_party(a: PartyArgs) -> core::result::Result<Outcome<PooledStats>, String> {
    let consortium = crate::config::Consortium::load(&a.consortium).map_err(|e| e.to_string())?;
    let identity =
        crate::net::Identity::load(&a.name, &a.key, &a.cert).map_err(|e| e.to_string())?;
    let node = crate::net::Node::bind(&consortium, identity, a.opts).map_err(|e| e.to_string())?;
    let me = node.me();
    let table = synthetic_table(me.index(), a.rows);
    if let SessionRng::InsecureSeed(_) = a.rng {
        tracing::warn!(
            party = %a.name,
            "INSECURE: protocol randomness from a fixed test seed (reproducibility tests only)"
        );
    }
    tracing::info!(party = %a.name, id = %me, rows = a.rows, repeat = a.repeat, "connecting");
    let repeat = a.repeat;
    let r = super::run(&node, &consortium, a.session, a.rng, |ctx| {
        pooled_stats(ctx, &table, DEMO_COLUMNS, repeat, &NoAudit)
    });
    node.shutdown();
    r.map_err(|e| e.to_string())
}

/// The machine-readable report of one demo party (one JSON object): the revealed values with
/// their exact bit patterns (`f64::to_bits`, hex) and the traffic counters, so separate
/// processes can be compared bit for bit with an in-memory run.
pub fn outcome_json(name: &str, o: &Outcome<PooledStats>) -> serde_json::Value {
    let bits =
        |v: &[f64]| -> Vec<String> { v.iter().map(|x| format!("{:016x}", x.to_bits())).collect() };
    let stats = |s: &mpc_core::channel::Stats| {
        serde_json::json!({
            "bytes_sent": s.bytes_sent,
            "bytes_received": s.bytes_received,
            "frames_sent": s.frames_sent,
            "rounds": s.rounds,
            "prep_rounds": s.prep_rounds,
        })
    };
    match o {
        Outcome::Party { value, stats: st } => serde_json::json!({
            "party": name,
            "n": value.n,
            "mean": value.mean,
            "cov": value.cov,
            "mean_bits": bits(&value.mean),
            "cov_bits": bits(&value.cov),
            "stats": stats(st),
        }),
        Outcome::Dealer { served, stats: st } => serde_json::json!({
            "party": name,
            "dealer": {
                "requests": served.requests,
                "correction_bytes": served.correction_bytes,
            },
            "stats": stats(st),
        }),
    }
}
