//! Criterion benches: ring kernels (the plaintext baseline), W2 at a reduced size and MUL at
//! 10^5, with 2 and 3 computing parties plus the dealer.
//!
//! Criterion measures time; the protocol benches time each iteration with the harness's own
//! clock (barrier to last thread, preprocessing included, thread spawn excluded) through
//! `iter_custom`, and print bytes and rounds per party once per bench on stderr (STYLE §13).
//! `cargo bench -p benches -- --quick` runs in well under two minutes.
#![allow(
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "bench harness: a failed run is a bench failure; criterion macros generate items"
)]

use std::hint::black_box;
use std::time::Duration;

use benches::harness::Timed;
use benches::workloads::elementwise::{self, MUL_OP};
use benches::workloads::w2::{self, Shape};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mpc_core::ring::Z64;
use mpc_core::share::SharedVec;
use protocols::kernel;

/// Reduced W2: 300×300 · 300×30.
const W2_SIZE: usize = 300;
/// MUL elements.
const MUL_N: usize = 100_000;
/// Kernel shape: the W2 shape at 400.
const KERNEL_SIZE: usize = 400;

fn comm_line<T>(name: &str, t: &Timed<T>) {
    eprintln!(
        "{name}: bytes_per_party={} bytes_each={:?} dealer_bytes={} rounds={} rounds_each={:?} \
         prep_rounds={} (wall {:.4} s incl. preprocessing)",
        t.bytes_per_party(),
        t.online_bytes(),
        t.dealer_bytes(),
        t.rounds(),
        t.rounds_each(),
        t.prep_rounds(),
        t.wall_s(),
    );
}

fn kernels(c: &mut Criterion) {
    let Shape { m, k, n } = Shape::from_size(KERNEL_SIZE);
    let inp = w2::Inputs::new(Shape { m, k, n }, 1).expect("inputs");
    let mut g = c.benchmark_group("kernel_matmul_u64");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .throughput(Throughput::Elements((m * k * n) as u64));
    let id = format!("{m}x{k}x{n}");
    g.bench_function(BenchmarkId::new("single_thread", &id), |b| {
        b.iter(|| kernel::matmul_single_thread(black_box(&inp.x), black_box(&inp.y), m, k, n))
    });
    g.bench_function(BenchmarkId::new("rayon", &id), |b| {
        b.iter(|| kernel::matmul(black_box(&inp.x), black_box(&inp.y), m, k, n))
    });
    g.finish();
}

fn protocol_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g
}

/// Times `run` with the harness clock; prints its communication once.
fn bench_protocol<F>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    id: BenchmarkId,
    label: &str,
    run: F,
) where
    F: Fn() -> Timed<SharedVec<Z64>>,
{
    comm_line(label, &run());
    g.bench_function(id, |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run().wall).sum())
    });
}

fn w2_reduced(c: &mut Criterion) {
    let shape = Shape::from_size(W2_SIZE);
    let inp = w2::Inputs::new(shape, 1).expect("inputs");
    let mut g = protocol_group(c, "W2");
    for parties in [2, 3] {
        let label = format!("W2 {}x{}x{} {parties}p", shape.m, shape.k, shape.n);
        bench_protocol(
            &mut g,
            BenchmarkId::new(format!("{parties}p"), W2_SIZE),
            &label,
            || w2::secure(&inp, parties, 1).expect("W2 run"),
        );
    }
    g.finish();
}

fn mul(c: &mut Criterion) {
    let inp = elementwise::Inputs::new(&MUL_OP, MUL_N, 1).expect("inputs");
    let mut g = protocol_group(c, "MUL");
    g.throughput(Throughput::Elements(MUL_N as u64));
    for parties in [2, 3] {
        let label = format!("MUL n={MUL_N} {parties}p");
        bench_protocol(
            &mut g,
            BenchmarkId::new(format!("{parties}p"), MUL_N),
            &label,
            || elementwise::secure(&MUL_OP, &inp, parties, 1).expect("MUL run"),
        );
    }
    g.finish();
}

criterion_group!(benches, kernels, w2_reduced, mul);
criterion_main!(benches);
