//! QUIC transport on 127.0.0.1: protocol runs match the in-memory harness bit for bit; bad
//! frames and bad certificates are refused (SECURITY-DESIGN T4, T5, T6).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use mpc_core::channel::{Channel, NetError};
use mpc_core::party::PartyId;
use mpc_core::prg::Prg;
use mpc_core::ring::{Ring, Z64};
use mpc_core::wire::{Frame, HEADER_LEN, Msg, SessionId, WireError};
use parties::config::{Consortium, Fingerprint, PartyEntry, Role};
use parties::net::{Identity, NetOptions, NetSetupError, Node, QuicChannel};
use parties::session::{self, Outcome, SessionRng};
use protocols::arith::{self, input, open};
use protocols::testing::run_with_dealer;
use protocols::trunc::mul_fx;

fn opts() -> NetOptions {
    NetOptions {
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        ..NetOptions::default()
    }
}

fn rand_vec(seed: u64, n: usize) -> Vec<Z64> {
    let mut p = Prg::insecure_from_u64(seed);
    let mut v = vec![Z64::ZERO; n];
    Z64::fill_random(&mut p, &mut v);
    v
}

/// (a) 3 sites + dealer over loopback QUIC = the in-memory run, values and traffic.
#[test]
fn quic_matches_in_memory_bit_for_bit() {
    let n = 500;
    let x = rand_vec(1, n);
    let y: Vec<Z64> = rand_vec(2, n).iter().map(|v| Z64(v.0 >> 40)).collect();
    let fx = mpc_core::fixed::FixedPoint::default_for::<Z64>();
    let job = |ctx: &mut protocols::Ctx<'_, protocols::prep::Dealer>| {
        let me = ctx.me();
        let xs = input(ctx, PartyId(0), (me == PartyId(0)).then_some(&x[..]), n)?;
        let ys = input(ctx, PartyId(2), (me == PartyId(2)).then_some(&y[..]), n)?;
        let p = arith::mul(ctx, &xs, &ys)?;
        let t = mul_fx(ctx, &ys, &ys, fx)?;
        open(ctx, &mpc_core::share::SharedVec::concat(&[&p, &t]))
    };
    let seed = 42;
    let mem = run_with_dealer(3, seed, job);
    let start = Instant::now();
    let quic = session::simulate(3, &opts(), SessionRng::InsecureSeed(seed), job).unwrap();
    eprintln!(
        "QUIC session (connect + run + close): {:?}",
        start.elapsed()
    );
    assert_eq!(quic.len(), 4);
    for (i, r) in quic.iter().enumerate() {
        match r.as_ref().unwrap() {
            Outcome::Party { value, stats } => {
                assert_eq!(*value, mem.parties[i].value, "P{i} value");
                assert_eq!(*stats, mem.parties[i].stats, "P{i} traffic");
            }
            Outcome::Dealer { served, stats } => {
                let (ms, mstats) = mem.dealer.as_ref().unwrap();
                assert_eq!(served, ms);
                assert_eq!(stats, mstats);
            }
        }
    }
}

/// Connected channels for a loopback consortium (all parties, session order).
fn channels(n_sites: usize, o: &NetOptions) -> (Vec<Node>, Vec<QuicChannel>) {
    let (consortium, nodes) = session::loopback(n_sites, o).unwrap();
    let sid = SessionId([3; 16]);
    let chans = std::thread::scope(|s| {
        let hs: Vec<_> = nodes
            .iter()
            .map(|node| {
                let c = &consortium;
                s.spawn(move || node.connect(c, sid).unwrap())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    (nodes, chans)
}

/// (b), (c) and another session's frame: each refused and blamed on the sender.
#[test]
fn bad_frames_are_refused_naming_the_sender() {
    let mut o = opts();
    o.payload_limit = 1 << 20;
    // Oversized length prefix (u32::MAX and limit + 1): refused from the header alone.
    for len in [u32::MAX, (1 << 20) + 1] {
        let (_nodes, mut ch) = channels(2, &o);
        let mut f = Frame::new(ch[0].session(), 0, Msg::ring(&[Z64(1)])).encode();
        f[36..40].copy_from_slice(&len.to_le_bytes());
        ch[0]
            .dangerous_send_raw(PartyId(1), &f[..HEADER_LEN])
            .unwrap();
        let t = Instant::now();
        let e = ch[1].recv(PartyId(0)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(
            matches!(
                e,
                NetError::Wire {
                    party: PartyId(0),
                    error: WireError::TooLarge { .. }
                }
            ),
            "{e:?}"
        );
    }
    // Replay within the session.
    let (_nodes, mut ch) = channels(2, &o);
    let f = Frame::new(ch[0].session(), 0, Msg::ring(&[Z64(7)])).encode();
    ch[0].dangerous_send_raw(PartyId(1), &f).unwrap();
    ch[0].dangerous_send_raw(PartyId(1), &f).unwrap();
    let m = ch[1].recv(PartyId(0)).unwrap();
    assert_eq!(m.into_ring::<Z64>(1).unwrap(), vec![Z64(7)]);
    let e = ch[1].recv(PartyId(0)).unwrap_err();
    assert_eq!(
        e,
        NetError::Wire {
            party: PartyId(0),
            error: WireError::BadSequence {
                expected: 1,
                got: 0
            }
        }
    );
    // A frame of an earlier session (right sequence number, other session id).
    let (_nodes, mut ch) = channels(2, &o);
    ch[2].send(PartyId(1), Msg::ring(&[Z64(1)])).unwrap();
    let old = Frame::new(SessionId([9; 16]), 1, Msg::ring(&[Z64(1)])).encode();
    ch[2].dangerous_send_raw(PartyId(1), &old).unwrap();
    assert!(ch[1].recv(PartyId(2)).is_ok());
    let e = ch[1].recv(PartyId(2)).unwrap_err();
    assert_eq!(
        e,
        NetError::Wire {
            party: PartyId(2),
            error: WireError::WrongSession
        }
    );
}

/// A peer's abort notice ends a wait on another peer at once, naming the aborting party.
#[test]
fn abort_from_any_peer_ends_the_wait() {
    let (_nodes, mut ch) = channels(2, &opts());
    ch[2].send(PartyId(1), Msg::abort("test reason")).unwrap();
    let t = Instant::now();
    let e = ch[1].recv(PartyId(0)).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(
        e,
        NetError::Aborted {
            party: PartyId(2),
            reason: "test reason".into()
        }
    );
    // And a silent peer times out naming it.
    let mut o = opts();
    o.timeout = Duration::from_millis(300);
    let (_nodes, mut ch) = channels(2, &o);
    assert_eq!(
        ch[0].recv(PartyId(1)).unwrap_err(),
        NetError::Timeout { party: PartyId(1) }
    );
}

// ---- (d) certificates ----

struct Slots {
    sockets: Vec<Option<UdpSocket>>,
    addrs: Vec<std::net::SocketAddr>,
}

const NAMES: [&str; 3] = ["site-0", "site-1", "helper"];

fn slots() -> Slots {
    let sockets: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let addrs = sockets.iter().map(|s| s.local_addr().unwrap()).collect();
    Slots {
        sockets: sockets.into_iter().map(Some).collect(),
        addrs,
    }
}

fn consortium(s: &Slots, pins: &[Fingerprint]) -> Consortium {
    let entries = (0..3)
        .map(|i| PartyEntry {
            name: NAMES[i].into(),
            role: if i < 2 { Role::Site } else { Role::Helper },
            address: s.addrs[i],
            cert_sha256: pins[i],
        })
        .collect();
    Consortium::new(entries).unwrap()
}

fn short() -> NetOptions {
    NetOptions {
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..NetOptions::default()
    }
}

/// Runs `connect` at two nodes concurrently and returns both results.
fn connect_pair(
    a: (Node, Consortium),
    b: (Node, Consortium),
) -> (
    Result<QuicChannel, NetSetupError>,
    Result<QuicChannel, NetSetupError>,
) {
    let sid = SessionId([5; 16]);
    std::thread::scope(|s| {
        let ha = s.spawn(|| a.0.connect(&a.1, sid));
        let hb = s.spawn(|| b.0.connect(&b.1, sid));
        (ha.join().unwrap(), hb.join().unwrap())
    })
}

fn ids() -> Vec<Identity> {
    NAMES
        .iter()
        .map(|n| Identity::generate(n).unwrap())
        .collect()
}

fn pins(ids: &[Identity]) -> Vec<Fingerprint> {
    ids.iter().map(Identity::fingerprint).collect()
}

/// The honest node at `slot` (consortium `c`).
fn node(s: &mut Slots, slot: usize, id: Identity, c: &Consortium) -> Node {
    Node::with_socket(c, id, short(), s.sockets[slot].take().unwrap()).unwrap()
}

/// Loads a copy of `id` under another party name (a stolen or misplaced certificate).
fn renamed(id: &Identity, name: &str) -> Identity {
    let dir = std::env::temp_dir().join(format!(
        "igs-net-test-{}-{}",
        std::process::id(),
        Prg::insecure_from_u64(Instant::now().elapsed().as_nanos() as u64 ^ 77).next_u64()
    ));
    let (k, c) = id.write_to_dir(&dir).unwrap();
    let out = Identity::load(name, &k, &c).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn assert_refused_by_dialer(r: &Result<QuicChannel, NetSetupError>, peer: u16, what: &str) {
    match r {
        Err(NetSetupError::Connect { party, reason }) => {
            assert_eq!(*party, PartyId(peer), "{what}");
            eprintln!("{what}: refused: {reason}");
        }
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: connected"),
    }
}

/// site-0 (honest) dials site-1 whose certificate is `bad` (pinned or not in the honest
/// consortium as `pinned_bad` says).
fn dialer_refuses(bad: Identity, pin_bad_for_site1: bool, what: &str) {
    let mut s = slots();
    let honest = ids();
    let mut p = pins(&honest);
    let rogue_pins = {
        let mut q = p.clone();
        q[1] = bad.fingerprint();
        q
    };
    if pin_bad_for_site1 {
        p[1] = bad.fingerprint();
    }
    let a = consortium(&s, &p);
    let b = consortium(&s, &rogue_pins);
    let mut it = honest.into_iter();
    let h0 = it.next().unwrap();
    let n0 = node(&mut s, 0, h0, &a);
    let n1 = node(&mut s, 1, bad, &b);
    let (r0, _r1) = connect_pair((n0, a), (n1, b));
    assert_refused_by_dialer(&r0, 1, what);
}

#[test]
fn unknown_expired_and_not_yet_valid_certificates_are_refused() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Unknown certificate presented by the listener.
    dialer_refuses(Identity::generate("site-1").unwrap(), false, "unknown");
    // Pinned, but expired / not yet valid.
    let expired = Identity::generate_with_validity("site-1", now - 7200, now - 3600).unwrap();
    dialer_refuses(expired, true, "expired");
    let future = Identity::generate_with_validity("site-1", now + 3600, now + 7200).unwrap();
    dialer_refuses(future, true, "not yet valid");
}

#[test]
fn unknown_dialer_is_refused_by_the_listener() {
    let mut s = slots();
    let honest = ids();
    let p = pins(&honest);
    let a = consortium(&s, &p);
    let stranger = Identity::generate("site-0").unwrap();
    let mut q = p.clone();
    q[0] = stranger.fingerprint();
    let b = consortium(&s, &q);
    let mut it = honest.into_iter();
    let _h0 = it.next();
    let h1 = it.next().unwrap();
    let n1 = node(&mut s, 1, h1, &a);
    let n0 = node(&mut s, 0, stranger, &b);
    let (r0, r1) = connect_pair((n0, b), (n1, a));
    assert_refused_by_dialer(&r0, 1, "stranger dialing");
    match r1 {
        Err(NetSetupError::Timeout { missing }) => assert!(missing.contains(&PartyId(0))),
        Err(e) => panic!("listener: {e:?}"),
        Ok(_) => panic!("listener accepted a stranger"),
    }
}

#[test]
fn pinned_certificate_under_another_name_is_refused() {
    // The helper's real (pinned) certificate answers at site-1's address.
    let mut s = slots();
    let honest = ids();
    let p = pins(&honest);
    let a = consortium(&s, &p);
    let helper_as_site1 = renamed(&honest[2], "site-1");
    let mut q = p.clone();
    q[1] = p[2];
    q[2] = Identity::generate("helper").unwrap().fingerprint();
    let b = consortium(&s, &q);
    let mut it = honest.into_iter();
    let h0 = it.next().unwrap();
    let n0 = node(&mut s, 0, h0, &a);
    let n1 = node(&mut s, 1, helper_as_site1, &b);
    let (r0, _) = connect_pair((n0, a), (n1, b));
    assert_refused_by_dialer(&r0, 1, "helper's cert as site-1 (listener)");

    // The helper's certificate dials site-1 pretending to be site-0 (site-1 accepts only
    // site-0's certificate from dialers).
    let mut s = slots();
    let honest = ids();
    let p = pins(&honest);
    let a = consortium(&s, &p);
    let helper_as_site0 = renamed(&honest[2], "site-0");
    let mut q = p.clone();
    q[0] = p[2];
    q[2] = Identity::generate("helper").unwrap().fingerprint();
    let b = consortium(&s, &q);
    let mut it = honest.into_iter();
    let _ = it.next();
    let h1 = it.next().unwrap();
    let n1 = node(&mut s, 1, h1, &a);
    let n0 = node(&mut s, 0, helper_as_site0, &b);
    let (r0, r1) = connect_pair((n0, b), (n1, a));
    assert_refused_by_dialer(&r0, 1, "helper's cert as site-0 (dialer)");
    assert!(r1.is_err());
}

/// Workload NET, small: QuicChannel throughput next to raw quinn (1 GiB: `net_throughput(1 << 30)`).
#[test]
fn net_throughput_smoke() {
    let (ours, raw) = parties::net::bench::net_throughput(256 << 20).unwrap();
    eprintln!(
        "NET 256 MiB: QuicChannel {ours:.0} MB/s, raw quinn {raw:.0} MB/s, ratio {:.2}",
        ours / raw
    );
    assert!(ours > 0.0 && raw > 0.0);
}
