//! Timed in-memory runs: N computing parties and the dealer, each on its own thread, connected
//! by [`mpc_core::testing`] channels (real wire encoding, byte and round counters).
//!
//! **What the time covers.** Every thread is spawned first and waits on a barrier; the clock
//! starts when the barrier opens and stops when the last thread (party or dealer) is done.
//! The interval therefore covers the whole protocol: the dealer's seed distribution, the
//! pairwise-seed setup, input sharing, every preprocessing request and the dealer's work to
//! answer it, the online phase and the closing `End` to the dealer. Only thread spawn and the
//! caller's plaintext preparation (encoding inputs) are outside it; rayon's worker pool is
//! started before the clock too.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use mpc_core::channel::{Channel, Stats};
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::testing::{MemChannel, run};
use protocols::Ctx;
use protocols::prep::{Dealer, DealerStats, serve_dealer};

use crate::error::BenchError;

/// One computing party's result and traffic.
pub struct PartyResult<T> {
    /// The party.
    pub party: PartyId,
    /// What the protocol closure returned.
    pub value: T,
    /// Its traffic counters.
    pub stats: Stats,
}

/// A timed run.
pub struct Timed<T> {
    /// Computing parties, in order.
    pub parties: Vec<PartyResult<T>>,
    /// What the dealer served.
    pub dealer: DealerStats,
    /// The dealer's traffic counters.
    pub dealer_stats: Stats,
    /// Rounds each party had counted when the workload closure started (the session setup:
    /// receiving the dealer's seed and exchanging pairwise seeds).
    pub setup_rounds: Vec<u64>,
    /// Wall time from the barrier to the last thread's end.
    pub wall: Duration,
}

impl<T> Timed<T> {
    /// Number of computing parties.
    pub fn n(&self) -> usize {
        self.parties.len()
    }

    /// Online bytes sent by each computing party to the other computing parties (headers
    /// included; traffic to the dealer excluded).
    pub fn online_bytes(&self) -> Vec<u64> {
        let n = self.n();
        self.parties
            .iter()
            .map(|p| p.stats.online_bytes_sent(n))
            .collect()
    }

    /// The largest online byte count over computing parties.
    pub fn bytes_per_party(&self) -> u64 {
        self.online_bytes().into_iter().max().unwrap_or(0)
    }

    /// Bytes the dealer sent (seeds and corrections, headers included).
    pub fn dealer_bytes(&self) -> u64 {
        self.dealer_stats.total_bytes_sent()
    }

    /// Bytes the computing parties sent to the dealer (requests).
    pub fn request_bytes(&self) -> u64 {
        let n = self.n();
        self.parties
            .iter()
            .map(|p| p.stats.bytes_sent.get(n).copied().unwrap_or(0))
            .sum()
    }

    /// Online rounds of each party.
    pub fn rounds_each(&self) -> Vec<u64> {
        self.parties.iter().map(|p| p.stats.rounds).collect()
    }

    /// The largest online round count over computing parties.
    pub fn rounds(&self) -> u64 {
        self.rounds_each().into_iter().max().unwrap_or(0)
    }

    /// The largest count of request/response trips to the dealer.
    pub fn prep_rounds(&self) -> u64 {
        self.parties
            .iter()
            .map(|p| p.stats.prep_rounds)
            .max()
            .unwrap_or(0)
    }

    /// Wall time in seconds.
    pub fn wall_s(&self) -> f64 {
        self.wall.as_secs_f64()
    }
}

/// Runs `run` `reps` times (at least once) and returns the fastest run together with every
/// run's wall time in seconds, in order. A shared machine is noisy: the best of a few runs is
/// the machine's capability, the list shows the spread.
pub fn best_of_runs<T>(
    reps: usize,
    mut run: impl FnMut() -> Result<Timed<T>, BenchError>,
) -> Result<(Timed<T>, Vec<f64>), BenchError> {
    let mut best = run()?;
    let mut walls = vec![best.wall_s()];
    for _ in 1..reps {
        let t = run()?;
        walls.push(t.wall_s());
        if t.wall < best.wall {
            best = t;
        }
    }
    Ok((best, walls))
}

enum Out<T> {
    Party(Result<(T, u64), protocols::ProtocolError>),
    Dealer(Result<DealerStats, protocols::ProtocolError>),
}

/// How long a benchmark party waits for a peer's message before giving up.
pub const BENCH_RECV_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1800);

/// Runs `f` at `n` computing parties with a [`Dealer`] thread and times it (see the module
/// docs for what the time covers). `seed` fixes every party's PRG (benchmarks only: real
/// sessions seed from the operating system).
pub fn run_timed<T, F>(n: usize, seed: u64, f: F) -> Result<Timed<T>, BenchError>
where
    T: Send,
    F: Fn(&mut Ctx<'_, Dealer>) -> protocols::Result<T> + Sync,
{
    if n < 2 {
        return Err(BenchError::BadParams(format!(
            "{n} computing parties (need at least 2)"
        )));
    }
    // Thread spawn stays outside the clock: that includes rayon's global pool, which the
    // kernels would otherwise start inside the first timed run.
    let one = [mpc_core::ring::Z64(1)];
    std::hint::black_box(protocols::kernel::matmul(&one, &one, 1, 1, 1));
    let barrier = Barrier::new(n + 1);
    let outs = run(n, 1, |ch: &mut MemChannel| {
        // A party may compute for minutes between two messages (S1's HE products at the
        // `large` size keep the dealer idle for > 120 s): the benchmark's timeout, not a test's.
        ch.set_timeout(BENCH_RECV_TIMEOUT);
        let me = ch.me();
        let mut prg = Prg::insecure_from_u64(seed).fork_indexed(b"bench-party", u64::from(me.0));
        barrier.wait();
        let start = Instant::now();
        let out = if me.index() == n {
            Out::Dealer(serve_dealer(ch, &mut prg))
        } else {
            Out::Party(party(ch, &mut prg, &f))
        };
        (out, start, Instant::now())
    });
    let start = outs.iter().map(|o| o.value.1).min();
    let end = outs.iter().map(|o| o.value.2).max();
    let (Some(start), Some(end)) = (start, end) else {
        return Err(BenchError::Unreachable("no threads ran"));
    };
    let mut parties = Vec::with_capacity(n);
    let mut setup_rounds = Vec::with_capacity(n);
    let mut dealer = None;
    for o in outs {
        match o.value.0 {
            Out::Party(Ok((value, setup))) => {
                setup_rounds.push(setup);
                parties.push(PartyResult {
                    party: o.party,
                    value,
                    stats: o.stats,
                });
            }
            Out::Party(Err(error)) => {
                return Err(BenchError::Protocol {
                    who: o.party.to_string(),
                    error,
                });
            }
            Out::Dealer(Ok(s)) => dealer = Some((s, o.stats)),
            Out::Dealer(Err(error)) => {
                return Err(BenchError::Protocol {
                    who: "dealer".into(),
                    error,
                });
            }
        }
    }
    let (dealer, dealer_stats) = dealer.ok_or(BenchError::Unreachable("no dealer output"))?;
    Ok(Timed {
        parties,
        dealer,
        dealer_stats,
        setup_rounds,
        wall: end.saturating_duration_since(start),
    })
}

/// One computing party: connect to the dealer, set up the session, run `f`, finish. On an
/// error the party tells its peers and the dealer, so they stop at once instead of timing out.
fn party<T, F>(
    ch: &mut MemChannel,
    prg: &mut Prg,
    f: &F,
) -> Result<(T, u64), protocols::ProtocolError>
where
    F: Fn(&mut Ctx<'_, Dealer>) -> protocols::Result<T>,
{
    let dealer = Dealer::connect(ch)?;
    let mut ctx = Ctx::new(ch, dealer, prg)?;
    let setup = ctx.stats().rounds;
    match f(&mut ctx) {
        Ok(v) => {
            ctx.finish()?;
            Ok((v, setup))
        }
        Err(e) => {
            ctx.abort(&e.to_string());
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpc_core::ring::Z64;
    use protocols::arith;

    #[test]
    fn counts_an_opening() {
        for n in [2, 3] {
            let t = run_timed(n, 1, |ctx| {
                let x = mpc_core::share::SharedVec::from_share(vec![Z64(1); 1000]);
                arith::open(ctx, &x)
            })
            .unwrap();
            assert_eq!(t.n(), n);
            for p in &t.parties {
                assert_eq!(p.value, vec![Z64(n as u64); 1000]);
            }
            // One opening: 1000 elements to each of n−1 peers, plus headers and the setup seeds.
            let b = t.bytes_per_party();
            assert!(b >= 8000 * (n as u64 - 1) && b < 8000 * (n as u64 - 1) + 1000);
            assert!(t.rounds() <= 2);
            // No request; the closing `End` to the dealer is one send phase.
            assert_eq!(t.prep_rounds(), 1);
            assert!(t.dealer_bytes() > 0);
        }
    }

    #[test]
    fn reports_a_failing_party() {
        let r = run_timed(2, 1, |ctx| {
            if ctx.me() == PartyId(1) {
                Err(protocols::ProtocolError::ApiMisuse("test".into()))
            } else {
                arith::open(ctx, &mpc_core::share::SharedVec::from_share(vec![Z64(1)]))
            }
        });
        assert!(r.is_err());
    }
}
