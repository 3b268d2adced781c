//! Workload `NET`: bulk throughput through [`QuicChannel`] next to raw quinn on the same
//! machine, same TLS configuration, same run.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Instant;

use mpc_core::channel::Channel;
use mpc_core::party::PartyId;
use mpc_core::wire::{Msg, SessionId};
use quinn::{Endpoint, EndpointConfig, TokioRuntime};

use super::{NetOptions, NetSetupError, client_config, server_config};
use crate::session::loopback;

/// Bytes per frame (and per raw write) in the measurement.
pub const CHUNK: usize = 4 << 20;

/// Moves `bytes` from one party to another over loopback and returns
/// `(QuicChannel MB/s, raw quinn MB/s)` (MB = 10^6 bytes).
pub fn net_throughput(bytes: u64) -> Result<(f64, f64), NetSetupError> {
    let opts = NetOptions::default();
    let ours = channel_throughput(bytes, &opts)?;
    let raw = raw_throughput(bytes, &opts)?;
    Ok((ours, raw))
}

fn mb_s(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / 1e6 / secs.max(1e-9)
}

fn channel_throughput(bytes: u64, opts: &NetOptions) -> Result<f64, NetSetupError> {
    let (consortium, nodes) = loopback(2, opts)?;
    let sid = SessionId([0x4e; 16]);
    let mut chans = std::thread::scope(|s| {
        let hs: Vec<_> = nodes
            .iter()
            .map(|n| {
                let c = &consortium;
                s.spawn(move || n.connect(c, sid))
            })
            .collect();
        hs.into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| NetSetupError::Io("connect thread panicked".into()))?
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let helper = chans.pop();
    let (Some(mut rx), Some(mut tx)) = (chans.pop(), chans.pop()) else {
        return Err(NetSetupError::Io("missing channel".into()));
    };
    let chunk = vec![0x5au8; CHUNK];
    let frames = bytes.div_ceil(CHUNK as u64);
    let start = Instant::now();
    let received = std::thread::scope(|s| {
        let r = s.spawn(move || {
            let mut got = 0u64;
            for _ in 0..frames {
                match rx.recv(PartyId(0)) {
                    Ok(m) => got += m.len() as u64,
                    Err(_) => break,
                }
            }
            (got, rx)
        });
        for _ in 0..frames {
            if tx.send(PartyId(1), Msg::bytes(chunk.clone())).is_err() {
                break;
            }
        }
        r.join().ok()
    });
    let secs = start.elapsed().as_secs_f64();
    let Some((got, rx)) = received else {
        return Err(NetSetupError::Io("receiver panicked".into()));
    };
    // Close concurrently: each close waits for the other ends to finish too.
    std::thread::scope(|s| {
        s.spawn(move || tx.close());
        s.spawn(move || rx.close());
        if let Some(h) = helper {
            s.spawn(move || h.close());
        }
    });
    for n in nodes {
        n.shutdown();
    }
    Ok(mb_s(got, secs))
}

fn raw_throughput(bytes: u64, opts: &NetOptions) -> Result<f64, NetSetupError> {
    let io = |e: std::io::Error| NetSetupError::Io(e.to_string());
    let a = super::Identity::generate("bench-a")?;
    let b = super::Identity::generate("bench-b")?;
    let server = server_config(&b, vec![a.fingerprint()], opts)?;
    let client = client_config(&a, b.fingerprint(), opts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(io)?;
    let sock_b = UdpSocket::bind("127.0.0.1:0").map_err(io)?;
    let addr_b = sock_b.local_addr().map_err(io)?;
    let sock_a = UdpSocket::bind("127.0.0.1:0").map_err(io)?;
    let (ep_a, ep_b) = {
        let _g = rt.enter();
        let ep_b = Endpoint::new(
            EndpointConfig::default(),
            Some(server),
            sock_b,
            Arc::new(TokioRuntime),
        )
        .map_err(io)?;
        let ep_a = Endpoint::new(
            EndpointConfig::default(),
            None,
            sock_a,
            Arc::new(TokioRuntime),
        )
        .map_err(io)?;
        (ep_a, ep_b)
    };
    let fail = |e: String| NetSetupError::Io(format!("raw quinn: {e}"));
    rt.block_on(async move {
        let srv = tokio::spawn(async move {
            let conn = ep_b.accept().await?.await.ok()?;
            let (_s, mut r) = conn.accept_bi().await.ok()?;
            let mut got = 0u64;
            let mut buf = vec![0u8; 1 << 20];
            while let Ok(Some(n)) = r.read(&mut buf).await {
                got += n as u64;
            }
            Some(got)
        });
        let conn = ep_a
            .connect_with(client, addr_b, "bench-b")
            .map_err(|e| fail(e.to_string()))?
            .await
            .map_err(|e| fail(e.to_string()))?;
        let (mut s, _r) = conn.open_bi().await.map_err(|e| fail(e.to_string()))?;
        let chunk = vec![0x5au8; CHUNK];
        let start = Instant::now();
        let mut sent = 0u64;
        while sent < bytes {
            s.write_all(&chunk).await.map_err(|e| fail(e.to_string()))?;
            sent += CHUNK as u64;
        }
        let _ = s.finish();
        let got = srv
            .await
            .ok()
            .flatten()
            .ok_or_else(|| fail("receiver failed".into()))?;
        let secs = start.elapsed().as_secs_f64();
        conn.close(0u32.into(), b"done");
        Ok(mb_s(got, secs))
    })
}
