//! The HE mat-vec path against the plaintext ring product (exact), N = 2 and 3, random and
//! edge-size matrices; a malformed ciphertext message is an error naming the sender.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]
#![cfg(feature = "he")]

use mpc_core::channel::Channel;
use mpc_core::party::PartyId;
use mpc_core::prg::{Prg, Seed};
use mpc_core::ring::{Ring, Z64, Z128};
use mpc_core::share::SharedVec;
use mpc_core::testing::{MemChannel, run};
use protocols::ctx::Ctx;
use protocols::he::params::{DEFAULT_PARAMS, HeParams, K2_N2048_TU30, K3_N2048_TU4, Layout};
use protocols::he::{MatvecPath, he_matvec, he_matvec_with, private_matvec_via};
use protocols::prep::InsecureIdealPrep;
use protocols::testing::{reconstruct, run_ideal};
use protocols::{ProtocolError, comm, kernel};

fn rand_vec(seed: u64, n: usize) -> Vec<Z64> {
    let mut p = Prg::insecure_from_u64(seed);
    let mut v = vec![Z64::ZERO; n];
    Z64::fill_random(&mut p, &mut v);
    v
}

/// Dosages 0..2.
fn dosages(seed: u64, n: usize) -> Vec<Z64> {
    let mut p = Prg::insecure_from_u64(seed);
    (0..n).map(|_| Z64(p.next_u64() % 3)).collect()
}

/// Runs the HE mat-vec of `x` (rows×cols at party 0) with a random shared vector and checks
/// the reconstruction against the plaintext ring product, exactly.
fn check(n_parties: usize, params: HeParams, x: &[Z64], rows: usize, cols: usize, seed: u64) {
    let w = rand_vec(seed, cols);
    let want = kernel::matmul(x, &w, rows, cols, 1);
    let run = run_ideal(n_parties, seed, |ctx| {
        let owner = PartyId(0);
        let wv = protocols::arith::input(
            ctx,
            PartyId(1),
            (ctx.me() == PartyId(1)).then_some(&w[..]),
            cols,
        )?;
        let mine = (ctx.me() == owner).then_some(x);
        let y = he_matvec_with(ctx, &params, owner, mine, rows, cols, &wv)?;
        Ok(y.expose_share().to_vec())
    });
    let shares: Vec<Vec<Z64>> = run.parties.into_iter().map(|p| p.value).collect();
    assert_eq!(
        reconstruct(&shares),
        want,
        "{rows}×{cols}, {n_parties} parties"
    );
}

#[test]
fn random_dosage_matrices_two_and_three_parties() {
    // Not multiples of N = 2048; several row and column blocks.
    let (rows, cols) = (300, 2500);
    let x = dosages(1, rows * cols);
    check(2, DEFAULT_PARAMS, &x, rows, cols, 11);
    check(3, DEFAULT_PARAMS, &x, rows, cols, 12);
}

#[test]
fn edge_sizes() {
    for &(rows, cols) in &[(1, 1), (5, 1), (1, 5000), (2049, 1), (3, 2047), (7, 2049)] {
        let x = dosages(rows as u64 * 31 + cols as u64, rows * cols);
        check(2, DEFAULT_PARAMS, &x, rows, cols, 21);
    }
}

#[test]
fn all_zero_and_all_two_rows_and_signed_fixed_point() {
    let (rows, cols) = (70, 900);
    let mut x = dosages(3, rows * cols);
    for j in 0..cols {
        x[j] = Z64(0); // row 0 all zero
        x[cols + j] = Z64(2); // row 1 all two
    }
    x[(rows - 1) * cols..].fill(Z64(0)); // last row zero too
    check(3, DEFAULT_PARAMS, &x, rows, cols, 31);
    // Signed 16-bit fixed-point values (|x| ≤ 2^16), as two's complement in the ring.
    let mut p = Prg::insecure_from_u64(4);
    let xf: Vec<Z64> = (0..rows * cols)
        .map(|_| Z64::from_i64((p.next_u64() % (1 << 17)) as i64 - (1 << 16)))
        .collect();
    check(2, DEFAULT_PARAMS, &xf, rows, cols, 32);
}

#[test]
fn worst_case_matrix_decrypts_correctly() {
    // Every entry at the stated bound |x| = 2^16 (the largest 16-bit fixed-point magnitude),
    // alternating signs, and a worst-case shape for the packing: the noise check must accept
    // it and every row must decrypt exactly.
    let (rows, cols) = (64, 4096);
    let x: Vec<Z64> = (0..rows * cols)
        .map(|i| Z64::from_i64(if i % 2 == 0 { 1 << 16 } else { -(1 << 16) }))
        .collect();
    let layout = Layout::choose(&DEFAULT_PARAMS, rows, cols).unwrap();
    let l1 = (layout.rows_per_poly * cols) as u128 * (1 << 16);
    assert!(DEFAULT_PARAMS.fits(l1), "noise budget for {layout:?}");
    check(2, DEFAULT_PARAMS, &x, rows, cols, 41);
    // tfhe's published k = 2 set decrypts dosages correctly too.
    let xd = vec![Z64(2); 20 * 3000];
    check(2, K2_N2048_TU30, &xd, 20, 3000, 42);
}

#[test]
fn noise_budget_and_privacy_bits() {
    let p = DEFAULT_PARAMS;
    // W1-like block: 32 rows × 10,000 dosages of 2.
    let l1 = 32 * 10_000 * 2;
    assert!(p.fits(l1));
    assert!(
        p.flood_privacy_bits(l1) >= 39.0,
        "{}",
        p.flood_privacy_bits(l1)
    );
    // A block too large for the budget is refused.
    assert!(!p.fits(1u128 << 58));
    // tfhe's published set: correct for dosages, weak flooding privacy.
    assert!(K2_N2048_TU30.flood_privacy_bits(l1) < 15.0);
}

#[test]
fn default_set_is_132_bit_secure_per_tfhe_estimate() {
    use tfhe::core_crypto::commons::noise_formulas::secure_noise::minimal_lwe_bound_for_132_bits_security_tuniform;
    use tfhe::core_crypto::prelude::LweDimension;
    let q = 2f64.powi(128);
    for p in [K3_N2048_TU4, K2_N2048_TU30] {
        let need =
            minimal_lwe_bound_for_132_bits_security_tuniform(LweDimension(p.lwe_dimension()), q);
        // The fit may return a negative bound (any noise suffices); it is computed as f64 and
        // cast, so compare as signed.
        assert!(
            (need as i32) <= p.noise_log2 as i32,
            "{}: needs TUniform({need})",
            p.name
        );
    }
    // Margin of the default set: 132 bits with TUniform(4) already from n ≈ 5090.
    let n_min = (128.0 + 4.100_671 - 4.0) / 0.025_167_785;
    assert!(
        n_min < 0.85 * K3_N2048_TU4.lwe_dimension() as f64,
        "{n_min}"
    );
}

#[test]
fn switch_and_ring_check() {
    let (rows, cols) = (10, 20);
    let x = dosages(5, rows * cols);
    let w = rand_vec(6, cols);
    let want = kernel::matmul(&x, &w, rows, cols, 1);
    for path in [MatvecPath::Dealer, MatvecPath::He, MatvecPath::Auto] {
        let run = run_ideal(2, 7, |ctx| {
            let wv = SharedVec::from_share(if ctx.me() == PartyId(1) {
                w.clone()
            } else {
                vec![Z64::ZERO; cols]
            });
            let mine = (ctx.me() == PartyId(0)).then_some(&x[..]);
            let y = private_matvec_via(ctx, path, PartyId(0), mine, rows, cols, &wv)?;
            Ok(y.expose_share().to_vec())
        });
        let shares: Vec<Vec<Z64>> = run.parties.into_iter().map(|p| p.value).collect();
        assert_eq!(reconstruct(&shares), want, "{path:?}");
    }
    // Z_2^128 is refused by the HE path, before any message.
    let run = run_ideal(2, 8, |ctx| {
        let v = SharedVec::from_share(vec![Z128::ZERO; 2]);
        let x = [Z128::ONE; 4];
        let mine = (ctx.me() == PartyId(0)).then_some(&x[..]);
        Ok(matches!(
            he_matvec(ctx, PartyId(0), mine, 2, 2, &v),
            Err(ProtocolError::ApiMisuse(_))
        ))
    });
    assert!(run.parties.iter().all(|p| p.value));
}

#[derive(Clone, Copy, Debug)]
enum Bad {
    Short,
    WrongParams,
    WrongVersion,
    Oversized,
}

fn run_bad(bad: Bad) -> ProtocolError {
    let (rows, cols) = (10, 30);
    let outs = run(2, 0, |ch: &mut MemChannel| {
        let me = ch.me();
        let mut prg = Prg::insecure_from_u64(u64::from(me.0));
        let common = Seed::from_bytes([3; 32]);
        let mut ctx = Ctx::new(ch, InsecureIdealPrep::new(me, 2, common), &mut prg).unwrap();
        if me == PartyId(1) {
            let layout = Layout::choose(&DEFAULT_PARAMS, rows, cols).unwrap();
            let good = layout.query_bytes();
            let bytes = match bad {
                Bad::Short => vec![1, DEFAULT_PARAMS.id, 0, 0],
                Bad::WrongParams => {
                    let mut b = vec![0u8; good];
                    b[0] = 1;
                    b[1] = 99;
                    b
                }
                Bad::WrongVersion => {
                    let mut b = vec![0u8; good];
                    b[0] = 7;
                    b[1] = DEFAULT_PARAMS.id;
                    b
                }
                Bad::Oversized => vec![0u8; good + 16],
            };
            let _ = comm::send_bytes(ctx.chan(), PartyId(0), &bytes);
            // Wait for the owner's abort.
            let _ = ctx.chan().recv(PartyId(0));
            return None;
        }
        let x = dosages(9, rows * cols);
        let v = SharedVec::from_share(vec![Z64::ZERO; cols]);
        let r = he_matvec(&mut ctx, PartyId(0), Some(&x[..]), rows, cols, &v);
        match r {
            Ok(_) => panic!("accepted a malformed query ({bad:?})"),
            Err(e) => {
                ctx.abort(&e.to_string());
                Some(e)
            }
        }
    });
    outs.into_iter().find_map(|o| o.value).unwrap()
}

#[test]
fn malformed_query_names_the_sender() {
    for bad in [
        Bad::Short,
        Bad::WrongParams,
        Bad::WrongVersion,
        Bad::Oversized,
    ] {
        let e = run_bad(bad);
        assert_eq!(e.culprit(), Some(PartyId(1)), "{bad:?}: {e}");
    }
}

#[test]
fn cost_model_matches_measured_bytes_and_picks_the_cheaper_path() {
    use protocols::he::{Cost, matvec_cost};
    // The formula equals what the protocol sends (payload bytes of the one message each way).
    let (rows, cols) = (300, 2500);
    let layout = Layout::choose(&DEFAULT_PARAMS, rows, cols).unwrap();
    let he = matvec_cost(MatvecPath::He, rows, cols, 3).unwrap();
    assert_eq!(
        he,
        Cost {
            bytes_per_party: (layout.query_bytes() as u64).max(2 * layout.reply_bytes() as u64),
            total_bytes: 2 * (layout.query_bytes() + layout.reply_bytes()) as u64,
            rounds: 2,
        }
    );
    let dealer = matvec_cost(MatvecPath::Dealer, 10_000, 10_000, 3).unwrap();
    assert_eq!(dealer.bytes_per_party, 2 * 8 * (10_000 * 10_000 + 10_000));
    // W1: HE ≤ 2% of the dealer path's bytes per party (issue 8's target).
    let w1 = matvec_cost(MatvecPath::He, 10_000, 10_000, 3).unwrap();
    assert!(
        w1.bytes_per_party * 50 <= dealer.bytes_per_party,
        "{w1:?} vs {dealer:?}"
    );
    assert_eq!(matvec_cost(MatvecPath::Auto, 10_000, 10_000, 3), Some(w1));
    // A tiny matrix: the dealer path is cheaper and Auto picks it.
    let small = matvec_cost(MatvecPath::Dealer, 10, 20, 2).unwrap();
    assert_eq!(matvec_cost(MatvecPath::Auto, 10, 20, 2), Some(small));
    assert_eq!(matvec_cost(MatvecPath::He, 0, 5, 2), None);
}
