//! Runs a protocol with N computing parties and a dealer as threads in memory (tests and
//! benches; never binaries). Seeds are fixed by the caller, so runs are reproducible.
#![allow(
    clippy::panic,
    reason = "test harness: a failed party is a test failure"
)]

use mpc_core::channel::Stats;
use mpc_core::party::PartyId;
use mpc_core::prg::{Prg, Seed};
use mpc_core::testing::{MemChannel, run};

use crate::ctx::Ctx;
use crate::error::Result;
use crate::prep::{Dealer, DealerStats, InsecureIdealPrep, serve_dealer};

/// One computing party's result and traffic.
pub struct PartyRun<T> {
    /// The party.
    pub party: PartyId,
    /// What the protocol returned.
    pub value: T,
    /// Its traffic (setup, online and dealer requests).
    pub stats: Stats,
}

/// A whole run.
pub struct Run<T> {
    /// Computing parties, in order.
    pub parties: Vec<PartyRun<T>>,
    /// The dealer's traffic (None with the ideal source).
    pub dealer: Option<(DealerStats, Stats)>,
}

enum Out<T> {
    Party(Result<T>),
    Dealer(Result<DealerStats>),
}

/// Runs `f` at `n` computing parties with a [`Dealer`]. Panics (tests only) if any party or
/// the dealer fails.
pub fn run_with_dealer<T, F>(n: usize, seed: u64, f: F) -> Run<T>
where
    T: Send,
    F: Fn(&mut Ctx<'_, Dealer>) -> Result<T> + Sync,
{
    let outs = run(n, 1, |ch: &mut MemChannel| {
        let me = mpc_core::channel::Channel::me(ch);
        let mut prg = Prg::insecure_from_u64(seed).fork_indexed(b"test-party", u64::from(me.0));
        if me.index() == n {
            return Out::Dealer(serve_dealer(ch, &mut prg));
        }
        let r = (|| {
            let dealer = Dealer::connect(ch)?;
            let mut ctx = Ctx::new(ch, dealer, &mut prg)?;
            let v = f(&mut ctx)?;
            ctx.finish()?;
            Ok(v)
        })();
        Out::Party(r)
    });
    let mut parties = Vec::new();
    let mut dealer = None;
    for o in outs {
        match o.value {
            Out::Party(r) => match r {
                Ok(value) => parties.push(PartyRun {
                    party: o.party,
                    value,
                    stats: o.stats,
                }),
                Err(e) => panic!("{} failed: {e}", o.party),
            },
            Out::Dealer(r) => match r {
                Ok(s) => dealer = Some((s, o.stats)),
                Err(e) => panic!("dealer failed: {e}"),
            },
        }
    }
    Run { parties, dealer }
}

/// Runs `f` at `n` computing parties with the test-only ideal source (no dealer thread).
pub fn run_ideal<T, F>(n: usize, seed: u64, f: F) -> Run<T>
where
    T: Send,
    F: Fn(&mut Ctx<'_, InsecureIdealPrep>) -> Result<T> + Sync,
{
    let common = Seed::from_bytes([seed as u8; 32]);
    let outs = run(n, 0, |ch: &mut MemChannel| {
        let me = mpc_core::channel::Channel::me(ch);
        let mut prg = Prg::insecure_from_u64(seed).fork_indexed(b"test-party", u64::from(me.0));
        let prep = InsecureIdealPrep::new(me, n, common.clone());
        let r: Result<T> = (|| {
            let mut ctx = Ctx::new(ch, prep, &mut prg)?;
            let v = f(&mut ctx)?;
            ctx.finish()?;
            Ok(v)
        })();
        r
    });
    let parties = outs
        .into_iter()
        .map(|o| match o.value {
            Ok(value) => PartyRun {
                party: o.party,
                value,
                stats: o.stats,
            },
            Err(e) => panic!("{} failed: {e}", o.party),
        })
        .collect();
    Run {
        parties,
        dealer: None,
    }
}

/// Sums the parties' share vectors (reconstruction in tests).
pub fn reconstruct<R: mpc_core::ring::Ring>(shares: &[Vec<R>]) -> Vec<R> {
    let n = shares.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| {
            shares
                .iter()
                .fold(R::ZERO, |s, v| s + v.get(i).copied().unwrap_or_default())
        })
        .collect()
}
