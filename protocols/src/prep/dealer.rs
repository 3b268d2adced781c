//! The dealer: party side ([`Dealer`]), helper side ([`serve_dealer`]) and the test-only
//! [`InsecureIdealPrep`] that runs the dealer's code locally.

use mpc_core::channel::Channel;
use mpc_core::party::PartyId;
use mpc_core::prg::{Prg, Seed};
use mpc_core::ring::Ring;
use mpc_core::wire::Msg;

use super::generate::{
    DealerGen, PartyGen, deal, party_beaver, party_bin_triples, party_bin_triples_shared,
    party_cmp, party_dabits, party_dot, party_lift64, party_matrix, party_matrix_two_sided,
    party_shuffle, party_square, party_trunc,
};
use super::{
    Beaver, BinTriples, BinTriplesShared, CmpMasks, DaBits, DotTriples, LiftMasks,
    MAX_REQUEST_ELEMENTS, MatTriple, MatTriple2, Prep, PrepRequest, ShuffleCorrelation,
    SquarePairs, TruncTuples,
};
use crate::comm;
use crate::error::{ProtocolError, Result};
use crate::model::{INSECURE_FAKE, SEMI_HONEST_DEALER, SecurityModel};

const PREP_LABEL: &[u8] = b"igs-prep/v1";

/// Seed-and-correction sources: both the dealer and the ideal test source hand out a
/// [`PartyGen`] per request; [`Prep`] is implemented once on top.
trait SeedSource {
    const MODEL: SecurityModel;
    fn party_index(&self) -> usize;
    fn material(&mut self, chan: &mut dyn Channel, req: PrepRequest) -> Result<PartyGen>;
    fn end(&mut self, chan: &mut dyn Channel) -> Result<()>;
}

fn ring_byte<R: Ring>() -> u8 {
    R::ID as u8
}

macro_rules! seed_source_prep {
    ($t:ty) => {
        impl Prep for $t {
            const MODEL: SecurityModel = <$t as SeedSource>::MODEL;

            fn beaver<R: Ring>(&mut self, ch: &mut dyn Channel, n: usize) -> Result<Beaver<R>> {
                let req = PrepRequest::Beaver {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_beaver(&mut g, n)?;
                g.finish()?;
                Ok(out)
            }

            fn square<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                n: usize,
            ) -> Result<SquarePairs<R>> {
                let req = PrepRequest::Square {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_square(&mut g, n)?;
                g.finish()?;
                Ok(out)
            }

            fn dot<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                n: usize,
                len: usize,
            ) -> Result<DotTriples<R>> {
                let req = PrepRequest::Dot {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                    len: len as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_dot(&mut g, n, len)?;
                g.finish()?;
                Ok(out)
            }

            fn matrix<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                m: usize,
                k: usize,
                n: usize,
            ) -> Result<MatTriple<R>> {
                let req = PrepRequest::Matrix {
                    ring: ring_byte::<R>(),
                    m: m as u64,
                    k: k as u64,
                    n: n as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_matrix(&mut g, m, k, n)?;
                g.finish()?;
                Ok(out)
            }

            fn matrix_two_sided<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                m: usize,
                k: usize,
                n: usize,
                l: usize,
            ) -> Result<MatTriple2<R>> {
                let req = PrepRequest::MatrixTwoSided {
                    ring: ring_byte::<R>(),
                    m: m as u64,
                    k: k as u64,
                    n: n as u64,
                    l: l as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_matrix_two_sided(&mut g, m, k, n, l)?;
                g.finish()?;
                Ok(out)
            }

            fn trunc<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                n: usize,
                frac_bits: u32,
            ) -> Result<TruncTuples<R>> {
                let req = PrepRequest::Trunc {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                    frac_bits,
                };
                let mut g = self.material(ch, req)?;
                let out = party_trunc(&mut g, n)?;
                g.finish()?;
                Ok(out)
            }

            fn cmp<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                n: usize,
                bits: u32,
            ) -> Result<CmpMasks<R>> {
                let req = PrepRequest::Cmp {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                    bits,
                };
                let mut g = self.material(ch, req)?;
                let out = party_cmp(&mut g, n, bits)?;
                g.finish()?;
                Ok(out)
            }

            fn bin_triples(&mut self, ch: &mut dyn Channel, nbits: usize) -> Result<BinTriples> {
                let req = PrepRequest::BinTriples {
                    nbits: nbits as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_bin_triples(&mut g, nbits)?;
                g.finish()?;
                Ok(out)
            }

            fn bin_triples_shared(
                &mut self,
                ch: &mut dyn Channel,
                nbits: usize,
            ) -> Result<BinTriplesShared> {
                let req = PrepRequest::BinTriplesShared {
                    nbits: nbits as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_bin_triples_shared(&mut g, nbits)?;
                g.finish()?;
                Ok(out)
            }

            fn dabits<R: Ring>(&mut self, ch: &mut dyn Channel, n: usize) -> Result<DaBits<R>> {
                let req = PrepRequest::DaBits {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                };
                let mut g = self.material(ch, req)?;
                let out = party_dabits(&mut g, n)?;
                g.finish()?;
                Ok(out)
            }

            fn shuffle<R: Ring>(
                &mut self,
                ch: &mut dyn Channel,
                n: usize,
                width: usize,
                owner: PartyId,
            ) -> Result<ShuffleCorrelation<R>> {
                let req = PrepRequest::Shuffle {
                    ring: ring_byte::<R>(),
                    n: n as u64,
                    width: width as u64,
                    owner: owner.0,
                };
                let mine = self.party_index() == owner.index();
                let mut g = self.material(ch, req)?;
                let out = party_shuffle(&mut g, n, width, mine)?;
                g.finish()?;
                Ok(out)
            }

            fn lift64(&mut self, ch: &mut dyn Channel, n: usize) -> Result<LiftMasks> {
                let req = PrepRequest::Lift64 { n: n as u64 };
                let mut g = self.material(ch, req)?;
                let out = party_lift64(&mut g, n)?;
                g.finish()?;
                Ok(out)
            }

            fn finish(&mut self, ch: &mut dyn Channel) -> Result<()> {
                self.end(ch)
            }
        }
    };
}

/// A computing party's link to the dealer (semi-honest, non-colluding helper).
pub struct Dealer {
    me: PartyId,
    n: usize,
    dealer: PartyId,
    seed: Seed,
    counter: u64,
    ended: bool,
}

impl Dealer {
    /// Receives this party's seed from the dealer (`PartyId(n_compute)`). Called by every
    /// computing party at session start.
    pub fn connect(chan: &mut dyn Channel) -> Result<Self> {
        let n = chan.n_compute();
        let dealer = PartyId(n as u16);
        let bytes = chan
            .recv(dealer)?
            .into_bytes(32)
            .map_err(|e| ProtocolError::wire(dealer, e))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ProtocolError::PeerMisbehaved {
                party: dealer,
                reason: "seed is not 32 bytes".into(),
            })?;
        Ok(Self {
            me: chan.me(),
            n,
            dealer,
            seed: Seed::from_bytes(seed),
            counter: 0,
            ended: false,
        })
    }

    fn is_last(&self) -> bool {
        self.me.index() + 1 == self.n
    }
}

impl SeedSource for Dealer {
    const MODEL: SecurityModel = SEMI_HONEST_DEALER;

    fn party_index(&self) -> usize {
        self.me.index()
    }

    fn material(&mut self, chan: &mut dyn Channel, req: PrepRequest) -> Result<PartyGen> {
        if self.ended {
            return Err(ProtocolError::ApiMisuse(
                "preprocessing after finish".into(),
            ));
        }
        let t = self.counter;
        self.counter += 1;
        let prg = Prg::new(self.seed.derive_indexed(PREP_LABEL, t));
        let correction = if self.is_last() {
            let msg = Msg::control(&req).map_err(|e| ProtocolError::ApiMisuse(e.to_string()))?;
            chan.send(self.dealer, msg)?;
            Some(comm::recv_bytes(chan, self.dealer, comm::MAX_LONG_BYTES)?)
        } else {
            None
        };
        Ok(PartyGen::new(prg, correction, self.dealer))
    }

    fn end(&mut self, chan: &mut dyn Channel) -> Result<()> {
        if !self.ended && self.is_last() {
            let msg = Msg::control(&PrepRequest::End)
                .map_err(|e| ProtocolError::ApiMisuse(e.to_string()))?;
            chan.send(self.dealer, msg)?;
        }
        self.ended = true;
        Ok(())
    }
}

seed_source_prep!(Dealer);

/// What the dealer did in one session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DealerStats {
    /// Requests served.
    pub requests: u64,
    /// Correction bytes sent.
    pub correction_bytes: u64,
}

/// Runs the dealer (helper) side of a session until the last party sends `End`.
///
/// The dealer sees only public request sizes and never receives a share, an opened value or
/// an output. `prg` must be seeded from operating-system randomness in real sessions.
pub fn serve_dealer(chan: &mut dyn Channel, prg: &mut Prg) -> Result<DealerStats> {
    let n = chan.n_compute();
    let seeds: Vec<Seed> = (0..n).map(|_| prg.next_seed()).collect();
    for (i, s) in seeds.iter().enumerate() {
        chan.send(
            PartyId(i as u16),
            Msg::bytes(s.expose_bytes_for_sending().to_vec()),
        )?;
    }
    let last = PartyId(n.saturating_sub(1) as u16);
    let mut stats = DealerStats::default();
    loop {
        let req: PrepRequest = chan
            .recv(last)?
            .into_control()
            .map_err(|e| ProtocolError::wire(last, e))?;
        if req == PrepRequest::End {
            return Ok(stats);
        }
        match req.size() {
            Some(s) if s <= MAX_REQUEST_ELEMENTS => {}
            _ => {
                return Err(ProtocolError::PeerMisbehaved {
                    party: last,
                    reason: "preprocessing request too large".into(),
                });
            }
        }
        let prgs = seeds
            .iter()
            .map(|s| Prg::new(s.derive_indexed(PREP_LABEL, stats.requests)))
            .collect();
        let mut g = DealerGen::new(prgs);
        deal(&req, &mut g).map_err(|e| match e {
            ProtocolError::ApiMisuse(reason) => ProtocolError::PeerMisbehaved {
                party: last,
                reason,
            },
            other => other,
        })?;
        let corr = g.into_correction();
        comm::send_bytes(chan, last, &corr)?;
        stats.requests += 1;
        stats.correction_bytes += corr.len() as u64;
    }
}

/// TEST ONLY: every party derives all parties' seeds from one common seed and computes the
/// dealer's output itself. No communication, no security (its model says so).
pub struct InsecureIdealPrep {
    me: PartyId,
    n: usize,
    common: Seed,
    counter: u64,
}

impl InsecureIdealPrep {
    /// The source for party `me` of `n`, all built from the same `common` seed.
    pub fn new(me: PartyId, n: usize, common: Seed) -> Self {
        Self {
            me,
            n,
            common,
            counter: 0,
        }
    }
}

impl SeedSource for InsecureIdealPrep {
    const MODEL: SecurityModel = INSECURE_FAKE;

    fn party_index(&self) -> usize {
        self.me.index()
    }

    fn material(&mut self, _chan: &mut dyn Channel, req: PrepRequest) -> Result<PartyGen> {
        let t = self.counter;
        self.counter += 1;
        let seeds: Vec<Seed> = (0..self.n)
            .map(|i| self.common.derive_indexed(b"ideal-party", i as u64))
            .collect();
        let mine = seeds
            .get(self.me.index())
            .map(|s| Prg::new(s.derive_indexed(PREP_LABEL, t)))
            .ok_or(ProtocolError::ApiMisuse("party index".into()))?;
        let last = self.me.index() + 1 == self.n;
        let correction = if last {
            let prgs = seeds
                .iter()
                .map(|s| Prg::new(s.derive_indexed(PREP_LABEL, t)))
                .collect();
            let mut g = DealerGen::new(prgs);
            deal(&req, &mut g)?;
            Some(g.into_correction())
        } else {
            None
        };
        Ok(PartyGen::new(mine, correction, PartyId(self.n as u16)))
    }

    fn end(&mut self, _chan: &mut dyn Channel) -> Result<()> {
        Ok(())
    }
}

seed_source_prep!(InsecureIdealPrep);
