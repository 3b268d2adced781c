//! Security models, declared by every preprocessing source (STYLE §3).

use core::fmt;

/// Adversary behaviour tolerated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adversary {
    /// Corrupted parties follow the protocol but try to learn from what they see.
    SemiHonest,
    /// Corrupted parties may deviate; deviation is detected and the run aborts.
    MaliciousWithAbort,
}

/// How many computing parties may be corrupted together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// Any N−1 of N computing parties.
    DishonestMajority,
    /// Fewer than half.
    HonestMajority,
}

/// A named security model, printed in every plan and report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityModel {
    /// Short machine name.
    pub name: &'static str,
    /// Adversary behaviour.
    pub adversary: Adversary,
    /// Corruption threshold among computing parties.
    pub corruption: Corruption,
    /// Whether a helper (dealer) that holds no input is trusted not to collude with any
    /// computing party.
    pub non_colluding_dealer: bool,
    /// True only for test sources; binaries refuse such a model.
    pub insecure_fake: bool,
}

impl fmt::Display for SecurityModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {:?} adversary, {:?} among computing parties{}{}",
            self.name,
            self.adversary,
            self.corruption,
            if self.non_colluding_dealer {
                ", dealer holds no input, learns nothing, and must not collude with any party"
            } else {
                ""
            },
            if self.insecure_fake {
                " [INSECURE TEST SOURCE]"
            } else {
                ""
            }
        )
    }
}

/// Semi-honest, dishonest majority, with a non-colluding dealer: the model of
/// [`crate::prep::Dealer`].
pub const SEMI_HONEST_DEALER: SecurityModel = SecurityModel {
    name: "semi-honest-dealer",
    adversary: Adversary::SemiHonest,
    corruption: Corruption::DishonestMajority,
    non_colluding_dealer: true,
    insecure_fake: false,
};

/// The model of the test-only ideal source: every party can compute every other party's
/// preprocessing, so it offers no security at all.
pub const INSECURE_FAKE: SecurityModel = SecurityModel {
    name: "insecure-fake-ideal-prep",
    adversary: Adversary::SemiHonest,
    corruption: Corruption::DishonestMajority,
    non_colluding_dealer: false,
    insecure_fake: true,
};
