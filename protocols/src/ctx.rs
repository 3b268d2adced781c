//! The protocol context: who I am, the channel, the preprocessing source and the pairwise
//! seeds used for free input sharing.

use mpc_core::channel::{Channel, Stats};
use mpc_core::party::PartyId;
use mpc_core::prg::{Prg, Seed};
use mpc_core::wire::Msg;

use crate::error::{ProtocolError, Result};
use crate::prep::Prep;

/// Everything a protocol step needs (STYLE §1). Protocol functions take `&mut Ctx` and read
/// like the paper: `let z = arith::mul(ctx, &x, &y)?;`.
pub struct Ctx<'a, P: Prep> {
    chan: &'a mut dyn Channel,
    prep: P,
    me: PartyId,
    n: usize,
    pair_seeds: Vec<Option<Seed>>,
    pub(crate) input_counter: u64,
    /// Private randomness of this party (HE keys, encryption noise, masks): never shared.
    local: Prg,
}

impl<'a, P: Prep> Ctx<'a, P> {
    /// Sets up a session context: exchanges a fresh pairwise seed with every other computing
    /// party (one round; party i sends to every j > i). `prg` must be seeded from operating
    /// system randomness in real sessions.
    pub fn new(chan: &'a mut dyn Channel, prep: P, prg: &mut Prg) -> Result<Self> {
        let me = chan.me();
        let n = chan.n_compute();
        if me.index() >= n || n < 2 {
            return Err(ProtocolError::ApiMisuse(format!(
                "{me} is not one of {n} computing parties"
            )));
        }
        let mut pair_seeds: Vec<Option<Seed>> = (0..n).map(|_| None).collect();
        for j in (me.index() + 1)..n {
            let s = prg.next_seed();
            chan.send(
                PartyId(j as u16),
                Msg::bytes(s.expose_bytes_for_sending().to_vec()),
            )?;
            if let Some(slot) = pair_seeds.get_mut(j) {
                *slot = Some(s);
            }
        }
        for j in 0..me.index() {
            let from = PartyId(j as u16);
            let b = chan
                .recv(from)?
                .into_bytes(32)
                .map_err(|e| ProtocolError::wire(from, e))?;
            let b: [u8; 32] = b.try_into().map_err(|_| ProtocolError::PeerMisbehaved {
                party: from,
                reason: "pairwise seed is not 32 bytes".into(),
            })?;
            if let Some(slot) = pair_seeds.get_mut(j) {
                *slot = Some(Seed::from_bytes(b));
            }
        }
        let local = Prg::new(prg.next_seed());
        Ok(Self {
            chan,
            prep,
            me,
            n,
            pair_seeds,
            input_counter: 0,
            local,
        })
    }

    /// This party.
    pub fn me(&self) -> PartyId {
        self.me
    }

    /// Number of computing parties.
    pub fn n(&self) -> usize {
        self.n
    }

    /// True for the party that adds public constants to its share (party 0).
    pub fn is_first(&self) -> bool {
        self.me.index() == 0
    }

    /// The channel.
    pub fn chan(&mut self) -> &mut dyn Channel {
        &mut *self.chan
    }

    /// The preprocessing source together with the channel it may use.
    pub fn prep(&mut self) -> (&mut P, &mut dyn Channel) {
        (&mut self.prep, &mut *self.chan)
    }

    /// The other computing parties.
    pub fn others(&self) -> impl Iterator<Item = PartyId> + use<P> {
        let me = self.me;
        (0..self.n as u16).map(PartyId).filter(move |&p| p != me)
    }

    /// The seed shared with `other` (for input sharing).
    pub(crate) fn pair_seed(&self, other: PartyId) -> Result<&Seed> {
        self.pair_seeds
            .get(other.index())
            .and_then(Option::as_ref)
            .ok_or(ProtocolError::ApiMisuse(format!(
                "no pairwise seed with {other}"
            )))
    }

    /// This party's private randomness (keys, encryption noise, masks), drawn at setup from
    /// the session PRG and never sent.
    #[cfg_attr(
        not(feature = "he"),
        allow(dead_code, reason = "used by the he feature only")
    )]
    pub(crate) fn local_prg(&mut self) -> &mut Prg {
        &mut self.local
    }

    /// Traffic so far.
    pub fn stats(&self) -> Stats {
        self.chan.stats()
    }

    /// Tells every other party (and the dealer) that this party aborts, and why. Best effort:
    /// peers that are gone are skipped. The reason must not contain secrets; it should name
    /// the culprit (e.g. the `Display` of the error that caused the abort).
    pub fn abort(self, reason: &str) {
        let total = self.n + 1;
        for j in 0..total {
            let p = PartyId(j as u16);
            if p != self.me {
                let _ = self.chan.send(p, Msg::abort(reason));
            }
        }
    }

    /// Ends the session's preprocessing (the dealer stops) and returns the traffic counters.
    pub fn finish(mut self) -> Result<Stats> {
        self.prep.finish(&mut *self.chan)?;
        Ok(self.chan.stats())
    }
}
