//! Property test: the pooled AUC protocol opens nothing that depends on one individual beyond
//! the AUC and its SE.
//!
//! Two datasets D and D′ of n = 16 rows differ in one individual (score and label). Each is
//! run K = 400 times (2 parties + dealer, fresh randomness per run); a wrapper channel
//! records every frame each party sends to the other, and the harness reconstructs every
//! opened value (ring frames: sum of the two parties' frames; bit frames: XOR). Checks:
//!
//! 1. The first opened value is n1 and the last is (A, W) ⇔ (AUC, SE) — the reconstruction is
//!    aligned, and nothing is opened after the outputs.
//! 2. Every other opened ring element is uniform: bits 0, 1, 40, 64, 100, 126, 127 are set in
//!    50% ± 2% of them (a raw score, label or count opened among them would pull high bits
//!    to 0 or 1).
//! 3. The sort's opened comparison outcomes: the first quicksort level opens \[row < pivot\]
//!    for the n − 1 non-pivot rows, so its popcount is the pivot's rank. It must be uniform on
//!    0..n−1 for D and for D′ (χ² goodness of fit) and equally distributed between them
//!    (two-sample χ²), and so must the number of quicksort levels. D is full of ties: a sort
//!    without the tie-break would give popcounts on only 4 values, one without the shuffle a
//!    constant; both fail. (Checked by mutation: with the tie-break removed from
//!    `protocols::sort::sort_rows` the ranks of D were [102, 0, 0, 0, 100, 0, 0, 0, 90, …],
//!    χ² = 1207, and this test failed.)
//!
//! Thresholds: χ² with 15 df exceeds 45 with probability < 1e−4; the runs are seeded, so the
//! test is deterministic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use circuits::evaluate::auc_delong;
use mpc_core::channel::NetError;
use mpc_core::channel::{Channel, Stats};
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z128};
use mpc_core::share::SharedVec;
use mpc_core::testing::{MemChannel, run};
use mpc_core::wire::{FrameKind, Msg};
use protocols::Ctx;
use protocols::arith;
use protocols::prep::{Dealer, serve_dealer};

/// Records the frames this party sends to the other computing party.
struct Recorder<'a> {
    inner: &'a mut MemChannel,
    sent: Vec<(FrameKind, Vec<u8>)>,
}

impl Channel for Recorder<'_> {
    fn me(&self) -> PartyId {
        self.inner.me()
    }
    fn n_compute(&self) -> usize {
        self.inner.n_compute()
    }
    fn send(&mut self, to: PartyId, msg: Msg) -> Result<(), NetError> {
        if to.index() < self.inner.n_compute() {
            self.sent.push((msg.kind(), msg.payload().to_vec()));
        }
        self.inner.send(to, msg)
    }
    fn recv(&mut self, from: PartyId) -> Result<Msg, NetError> {
        self.inner.recv(from)
    }
    fn stats(&self) -> Stats {
        self.inner.stats()
    }
}

const N: usize = 16;
const K: u64 = 400;

enum Opened {
    Ring(Vec<Z128>),
    Bits(Vec<u8>, usize),
}

struct RunView {
    opened: Vec<Opened>,
    auc: f64,
    n1: u64,
    levels: usize,
}

fn dataset(changed: bool) -> (Vec<i64>, Vec<u64>) {
    // Four tie groups of four rows; labels mixed in every group.
    let mut s: Vec<i64> = (0..N as i64).map(|i| i / 4).collect();
    let mut y: Vec<u64> = (0..N as u64)
        .map(|i| u64::from(i % 4 < 1 + i / 8))
        .collect();
    if changed {
        s[N - 1] = 0;
        y[N - 1] = 1 - y[N - 1];
    }
    (s, y)
}

fn one_run(s: &[i64], y: &[u64], seed: u64) -> RunView {
    let outs = run(2, 1, |ch: &mut MemChannel| {
        let me = ch.me();
        let mut prg = Prg::insecure_from_u64(seed).fork_indexed(b"leak-party", u64::from(me.0));
        if me.index() == 2 {
            serve_dealer(ch, &mut prg).unwrap();
            return None;
        }
        let mut rec = Recorder {
            inner: ch,
            sent: Vec::new(),
        };
        let out = {
            let dealer = Dealer::connect(&mut rec).unwrap();
            let mut ctx = Ctx::new(&mut rec, dealer, &mut prg).unwrap();
            let sv: Vec<Z128> = s.iter().map(|&v| Z128::from_i64(v << 20)).collect();
            let yv: Vec<Z128> = y.iter().map(|&v| Z128::from_u64(v)).collect();
            // Party 0 holds the first half (a site), party 1 the second.
            let h = N / 2;
            let own = |p: usize| ctx.me().index() == p;
            let (o0, o1) = (own(0), own(1));
            let s0 = arith::input(&mut ctx, PartyId(0), o0.then_some(&sv[..h]), h).unwrap();
            let y0 = arith::input(&mut ctx, PartyId(0), o0.then_some(&yv[..h]), h).unwrap();
            let s1 = arith::input(&mut ctx, PartyId(1), o1.then_some(&sv[h..]), N - h).unwrap();
            let y1 = arith::input(&mut ctx, PartyId(1), o1.then_some(&yv[h..]), N - h).unwrap();
            let a = auc_delong(
                &mut ctx,
                &SharedVec::concat(&[&s0, &s1]),
                &SharedVec::concat(&[&y0, &y1]),
                24,
            )
            .unwrap();
            ctx.finish().unwrap();
            a
        };
        Some((rec.sent, out))
    });
    let mut views: Vec<_> = outs.into_iter().filter_map(|o| o.value).collect();
    let (mut sent1, auc) = views.pop().unwrap();
    let (mut sent0, _) = views.pop().unwrap();
    // Party 0's first frame is the pairwise seed of the context set-up (party 1 sends none).
    assert_eq!(sent0[0].0, FrameKind::Bits);
    assert_eq!(sent0[0].1.len(), 32);
    sent0.remove(0);
    assert_eq!(
        sent0.len(),
        sent1.len(),
        "both parties send the same number of frames"
    );
    let opened = sent0
        .drain(..)
        .zip(sent1.drain(..))
        .map(|((k0, p0), (k1, p1))| {
            assert_eq!(k0, k1, "aligned frame kinds");
            assert_eq!(p0.len(), p1.len(), "aligned frame lengths");
            match k0 {
                FrameKind::Ring(_) => {
                    let a = Z128::read_le(&p0);
                    let b = Z128::read_le(&p1);
                    Opened::Ring(a.iter().zip(&b).map(|(&x, &y)| x + y).collect())
                }
                FrameKind::Bits => {
                    let len = p0.len();
                    Opened::Bits(p0.iter().zip(&p1).map(|(x, y)| x ^ y).collect(), len)
                }
                other => panic!("unexpected frame kind {other:?}"),
            }
        })
        .collect();
    RunView {
        opened,
        auc: auc.auc,
        n1: auc.n_cases,
        levels: auc.sort.levels,
    }
}

fn chi2_uniform(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().sum();
    let e = total as f64 / counts.len() as f64;
    counts.iter().map(|&c| (c as f64 - e).powi(2) / e).sum()
}

fn chi2_two_sample(a: &[u64], b: &[u64]) -> f64 {
    let (ta, tb) = (a.iter().sum::<u64>() as f64, b.iter().sum::<u64>() as f64);
    a.iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0)
        .map(|(&x, &y)| {
            let tot = (x + y) as f64;
            let (ea, eb) = (tot * ta / (ta + tb), tot * tb / (ta + tb));
            (x as f64 - ea).powi(2) / ea + (y as f64 - eb).powi(2) / eb
        })
        .sum()
}

struct Summary {
    pivot_ranks: Vec<u64>,
    levels: Vec<u64>,
    ones: [u64; 7],
    elements: u64,
}

const BITS: [u32; 7] = [0, 1, 40, 64, 100, 126, 127];

fn summarise(changed: bool, seed0: u64) -> (Summary, f64) {
    let (s, y) = dataset(changed);
    let mut sum = Summary {
        pivot_ranks: vec![0; N],
        levels: vec![0; 64],
        ones: [0; 7],
        elements: 0,
    };
    let mut auc = f64::NAN;
    for k in 0..K {
        let v = one_run(&s, &y, seed0 + k);
        auc = v.auc;
        // 1. First opening n1, last (A, W).
        match v.opened.first() {
            Some(Opened::Ring(x)) => assert_eq!(x, &vec![Z128::from_u64(v.n1)]),
            _ => panic!("first opening is not n1"),
        }
        let n0 = N as u64 - v.n1;
        match v.opened.last() {
            Some(Opened::Ring(x)) => {
                assert_eq!(x.len(), 2);
                let a = x[0].to_i128() as f64;
                assert!((a / (2.0 * n0 as f64 * v.n1 as f64) - v.auc).abs() < 1e-12);
            }
            _ => panic!("last opening is not (A, W)"),
        }
        // 2. Every other ring opening: uniform bits.
        for o in &v.opened[1..v.opened.len() - 1] {
            if let Opened::Ring(x) = o {
                for e in x {
                    sum.elements += 1;
                    for (c, &b) in sum.ones.iter_mut().zip(&BITS) {
                        *c += e.bit(b);
                    }
                }
            }
        }
        // 3. The first (n − 1)-bit opening is the first quicksort level.
        let first_level = v
            .opened
            .iter()
            .find_map(|o| match o {
                Opened::Bits(b, len) if *len == (N - 1).div_ceil(8) => Some(b),
                _ => None,
            })
            .expect("first level of the sort");
        let rank: u32 = first_level.iter().map(|b| b.count_ones()).sum();
        sum.pivot_ranks[rank as usize] += 1;
        sum.levels[v.levels.min(63)] += 1;
    }
    (sum, auc)
}

#[test]
fn auc_protocol_opens_only_uniform_values_besides_auc_and_se() {
    let (d, auc_d) = summarise(false, 1_000);
    let (d2, auc_d2) = summarise(true, 50_000);
    assert!(
        (auc_d - auc_d2).abs() > 1e-3,
        "the datasets differ in their AUC"
    );
    for (name, s) in [("D", &d), ("D'", &d2)] {
        for (&b, &c) in BITS.iter().zip(&s.ones) {
            let frac = c as f64 / s.elements as f64;
            assert!(
                (frac - 0.5).abs() < 0.02,
                "{name}: bit {b} set in {frac:.4} of {} opened ring elements",
                s.elements
            );
        }
        let c = chi2_uniform(&s.pivot_ranks);
        eprintln!(
            "{name}: pivot ranks {:?}, χ² {c:.1}; {} ring elements",
            s.pivot_ranks, s.elements
        );
        assert!(c < 45.0, "{name}: pivot rank not uniform (χ² {c:.1})");
    }
    let c = chi2_two_sample(&d.pivot_ranks, &d2.pivot_ranks);
    assert!(c < 45.0, "pivot ranks differ between D and D' (χ² {c:.1})");
    let lv = chi2_two_sample(&d.levels, &d2.levels);
    let df = d
        .levels
        .iter()
        .zip(&d2.levels)
        .filter(|(a, b)| **a + **b > 0)
        .count()
        .saturating_sub(1);
    eprintln!(
        "levels D {:?}\nlevels D' {:?}\nχ² {lv:.1} ({df} df)",
        &d.levels[..20],
        &d2.levels[..20]
    );
    // χ²(df) > df + 6·√(2·df) + 10 has probability < 1e−4 for the few df seen here.
    assert!(
        lv < df as f64 + 6.0 * (2.0 * df as f64).sqrt() + 10.0,
        "levels differ (χ² {lv:.1})"
    );
}
