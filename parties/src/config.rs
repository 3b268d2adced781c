//! The consortium file: every party's name, role, address and pinned certificate.
//!
//! ```toml
//! [[party]]
//! name = "site-a"            # [a-z0-9-], 1..=63 characters: also the certificate's DNS name
//! role = "site"              # "site" (computing party) or "helper" (the dealer)
//! address = "127.0.0.1:7001"
//! cert_sha256 = "9f86d0…"    # SHA-256 of the DER certificate, 64 hex digits
//! ed25519 = "3a1f…"          # optional: the certificate's Ed25519 key (NAME.ed25519 from
//!                            # keygen); plans pin it as the party's signing key
//! jurisdiction = "EEA"       # optional (default "unspecified"): printed in plans and reports
//!
//! [[party]]
//! name = "coord"
//! role = "coordinator"       # sends plans to the site daemons; no address, not in sessions
//! cert_sha256 = "…"
//! ```
//!
//! Parsing yields a [`Consortium`] whose invariants hold (parse, don't validate): names and
//! fingerprints unique, at least two sites, exactly one helper, any number of coordinators.
//! In a session, sites are `PartyId(0..n)` in file order and the helper is `PartyId(n)`;
//! coordinators are not session parties.

pub mod site;

use core::fmt;
use std::net::SocketAddr;
use std::path::Path;

use mpc_core::party::PartyId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Errors of reading a consortium file. Messages name the entry, never echo whole values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Io(String),
    /// The TOML did not parse or had unknown fields.
    Syntax(String),
    /// A party name is not 1..=63 characters of `[a-z0-9-]` starting with a letter or digit.
    BadName(usize),
    /// A fingerprint is not 64 hex digits.
    BadFingerprint(String),
    /// An address is not `ip:port`.
    BadAddress(String),
    /// Two parties share a name or a certificate.
    Duplicate(String),
    /// Fewer than two sites, or not exactly one helper.
    Roles(String),
    /// A party name that is not in the consortium.
    UnknownParty(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => write!(f, "cannot read the consortium file: {e}"),
            Self::Syntax(e) => write!(f, "consortium file: {e}"),
            Self::BadName(i) => write!(f, "party #{i}: name must be [a-z0-9-], 1..=63 chars"),
            Self::BadFingerprint(n) => write!(f, "party {n}: cert_sha256 must be 64 hex digits"),
            Self::BadAddress(n) => write!(f, "party {n}: address must be ip:port"),
            Self::Duplicate(n) => write!(f, "party {n}: duplicate name or certificate"),
            Self::Roles(e) => write!(f, "consortium roles: {e}"),
            Self::UnknownParty(n) => write!(f, "party {n} is not in the consortium"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// SHA-256 of a DER certificate: what the consortium file pins.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// Parses 64 hex digits (colons allowed between bytes, either case).
    pub fn from_hex(s: &str) -> Option<Self> {
        let digits: Vec<u8> = s.bytes().filter(|&b| b != b':').collect();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let hi = hex_val(*pair.first()?)?;
            let lo = hex_val(*pair.get(1)?)?;
            *o = hi << 4 | lo;
        }
        Some(Self(out))
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes of an even-length hex string (either case).
pub fn from_hex_bytes(s: &str) -> Option<Vec<u8>> {
    let b = s.trim().as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| Some(hex_val(*p.first()?)? << 4 | hex_val(*p.get(1)?)?))
        .collect()
}

/// Lower-case hex of bytes.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// What a party does in a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A biobank: a computing party with data.
    Site,
    /// A helper without data (today: the dealer).
    Helper,
    /// Proposes plans to the site daemons and collects results; not a session party.
    Coordinator,
}

/// A coordinator: authenticated by its pinned certificate like every party.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorEntry {
    /// Unique name, also the DNS name in its certificate.
    pub name: String,
    /// The pinned certificate.
    pub cert_sha256: Fingerprint,
}

/// One party of the consortium.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartyEntry {
    /// Unique name, also the DNS name in its certificate.
    pub name: String,
    /// Site or helper.
    pub role: Role,
    /// Where its QUIC endpoint listens.
    pub address: SocketAddr,
    /// The pinned certificate.
    pub cert_sha256: Fingerprint,
}

/// A parsed consortium: parties in session order (sites in file order, then the helper).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consortium {
    parties: Vec<PartyEntry>,
    coordinators: Vec<CoordinatorEntry>,
    /// Ed25519 signing keys by party name (audit trail), where the file gives them.
    signing_keys: std::collections::BTreeMap<String, [u8; 32]>,
    /// Jurisdictions by party name, where the file gives them.
    jurisdictions: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    party: Vec<RawParty>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    name: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    cert_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ed25519: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    jurisdiction: Option<String>,
}

/// True for a valid party name: 1..=63 of `[a-z0-9-]`, not starting with `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Consortium {
    /// Builds a consortium from entries (any order); checks every invariant.
    pub fn new(entries: Vec<PartyEntry>) -> Result<Self, ConfigError> {
        Self::with_coordinators(entries, Vec::new())
    }

    /// Builds a consortium with coordinators; checks every invariant.
    pub fn with_coordinators(
        entries: Vec<PartyEntry>,
        coordinators: Vec<CoordinatorEntry>,
    ) -> Result<Self, ConfigError> {
        if entries.iter().any(|e| e.role == Role::Coordinator) {
            return Err(ConfigError::Roles(
                "a coordinator is not a session party".into(),
            ));
        }
        for (i, c) in coordinators.iter().enumerate() {
            if !valid_name(&c.name) {
                return Err(ConfigError::BadName(entries.len() + i));
            }
            let clash = entries
                .iter()
                .any(|e| e.name == c.name || e.cert_sha256 == c.cert_sha256)
                || coordinators
                    .iter()
                    .skip(i + 1)
                    .any(|d| d.name == c.name || d.cert_sha256 == c.cert_sha256);
            if clash {
                return Err(ConfigError::Duplicate(c.name.clone()));
            }
        }
        for (i, e) in entries.iter().enumerate() {
            if !valid_name(&e.name) {
                return Err(ConfigError::BadName(i));
            }
        }
        for (i, a) in entries.iter().enumerate() {
            if entries
                .iter()
                .skip(i + 1)
                .any(|b| b.name == a.name || b.cert_sha256 == a.cert_sha256)
            {
                return Err(ConfigError::Duplicate(a.name.clone()));
            }
        }
        let (mut parties, helpers): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|e| e.role == Role::Site);
        if parties.len() < 2 {
            return Err(ConfigError::Roles("at least two sites are needed".into()));
        }
        if helpers.len() != 1 {
            return Err(ConfigError::Roles(
                "exactly one helper (the dealer) is needed".into(),
            ));
        }
        if parties.len() + 1 > usize::from(u16::MAX) {
            return Err(ConfigError::Roles("too many parties".into()));
        }
        parties.extend(helpers);
        Ok(Self {
            parties,
            coordinators,
            signing_keys: Default::default(),
            jurisdictions: Default::default(),
        })
    }

    /// Parses a consortium file's text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        let mut entries = Vec::new();
        let mut coordinators = Vec::new();
        let mut signing_keys = std::collections::BTreeMap::new();
        let mut jurisdictions = std::collections::BTreeMap::new();
        for p in raw.party {
            let cert_sha256 = Fingerprint::from_hex(&p.cert_sha256)
                .ok_or_else(|| ConfigError::BadFingerprint(p.name.clone()))?;
            if let Some(k) = &p.ed25519 {
                let key = Fingerprint::from_hex(k)
                    .ok_or_else(|| ConfigError::BadFingerprint(p.name.clone()))?;
                signing_keys.insert(p.name.clone(), key.0);
            }
            if let Some(j) = &p.jurisdiction {
                if j.is_empty() || j.len() > 64 || j.chars().any(char::is_control) {
                    return Err(ConfigError::Syntax(format!(
                        "party {}: jurisdiction must be 1..=64 printable characters",
                        p.name
                    )));
                }
                jurisdictions.insert(p.name.clone(), j.clone());
            }
            if p.role == Role::Coordinator {
                if p.address.is_some() {
                    return Err(ConfigError::BadAddress(p.name));
                }
                coordinators.push(CoordinatorEntry {
                    name: p.name,
                    cert_sha256,
                });
                continue;
            }
            let address = p
                .address
                .as_deref()
                .and_then(|a| a.parse().ok())
                .ok_or_else(|| ConfigError::BadAddress(p.name.clone()))?;
            entries.push(PartyEntry {
                name: p.name,
                role: p.role,
                address,
                cert_sha256,
            });
        }
        let mut c = Self::with_coordinators(entries, coordinators)?;
        c.signing_keys = signing_keys;
        c.jurisdictions = jurisdictions;
        Ok(c)
    }

    /// The Ed25519 signing key the file gives for a party or coordinator.
    pub fn signing_key(&self, name: &str) -> Option<[u8; 32]> {
        self.signing_keys.get(name).copied()
    }

    /// The jurisdiction the file gives for a party or coordinator (default "unspecified").
    pub fn jurisdiction(&self, name: &str) -> &str {
        self.jurisdictions
            .get(name)
            .map_or("unspecified", String::as_str)
    }

    /// Reads and parses a consortium file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io(e.to_string()))?;
        Self::from_toml(&text)
    }

    /// The file text for this consortium (session order).
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        let raw = RawFile {
            party: self
                .parties
                .iter()
                .map(|p| RawParty {
                    name: p.name.clone(),
                    role: p.role,
                    address: Some(p.address.to_string()),
                    cert_sha256: p.cert_sha256.to_string(),
                    ed25519: self.signing_key(&p.name).map(|k| to_hex(&k)),
                    jurisdiction: self.jurisdictions.get(&p.name).cloned(),
                })
                .chain(self.coordinators.iter().map(|c| RawParty {
                    name: c.name.clone(),
                    role: Role::Coordinator,
                    address: None,
                    cert_sha256: c.cert_sha256.to_string(),
                    ed25519: self.signing_key(&c.name).map(|k| to_hex(&k)),
                    jurisdiction: self.jurisdictions.get(&c.name).cloned(),
                }))
                .collect(),
        };
        toml::to_string(&raw).map_err(|e| ConfigError::Syntax(e.to_string()))
    }

    /// All parties in session order.
    pub fn parties(&self) -> &[PartyEntry] {
        &self.parties
    }

    /// The coordinators (not session parties).
    pub fn coordinators(&self) -> &[CoordinatorEntry] {
        &self.coordinators
    }

    /// A coordinator by certificate.
    pub fn coordinator_by_pin(&self, pin: &Fingerprint) -> Option<&CoordinatorEntry> {
        self.coordinators.iter().find(|c| c.cert_sha256 == *pin)
    }

    /// Number of computing parties (sites).
    pub fn n_compute(&self) -> usize {
        self.parties.len().saturating_sub(1)
    }

    /// The session id of a party name.
    pub fn id_of(&self, name: &str) -> Result<PartyId, ConfigError> {
        self.parties
            .iter()
            .position(|p| p.name == name)
            .map(|i| PartyId(i as u16))
            .ok_or_else(|| ConfigError::UnknownParty(name.into()))
    }

    /// The entry of a party id.
    pub fn entry(&self, id: PartyId) -> Option<&PartyEntry> {
        self.parties.get(id.index())
    }

    /// `name (P3)` for messages; `P3` alone if the id is unknown.
    pub fn describe(&self, id: PartyId) -> String {
        match self.entry(id) {
            Some(e) => format!("{} ({id})", e.name),
            None => id.to_string(),
        }
    }

    /// Replaces a party's address (simulations bind ephemeral ports first).
    pub fn set_address(&mut self, id: PartyId, address: SocketAddr) -> Result<(), ConfigError> {
        let e = self
            .parties
            .get_mut(id.index())
            .ok_or_else(|| ConfigError::UnknownParty(id.to_string()))?;
        e.address = address;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[party]]
name = "helper"
role = "helper"
address = "127.0.0.1:7000"
cert_sha256 = "0000000000000000000000000000000000000000000000000000000000000001"

[[party]]
name = "site-a"
role = "site"
address = "127.0.0.1:7001"
cert_sha256 = "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:02"

[[party]]
name = "site-b"
role = "site"
address = "127.0.0.1:7002"
cert_sha256 = "000000000000000000000000000000000000000000000000000000000000000A"

[[party]]
name = "coord"
role = "coordinator"
cert_sha256 = "000000000000000000000000000000000000000000000000000000000000000B"
"#;

    #[test]
    fn parses_and_orders_sites_first() {
        let c = Consortium::from_toml(FILE).unwrap();
        assert_eq!(c.n_compute(), 2);
        assert_eq!(c.id_of("site-a").unwrap(), PartyId(0));
        assert_eq!(c.id_of("helper").unwrap(), PartyId(2));
        assert_eq!(c.describe(PartyId(1)), "site-b (P1)");
        assert_eq!(c.coordinators().len(), 1);
        assert_eq!(c.parties().len(), 3);
        let again = Consortium::from_toml(&c.to_toml().unwrap()).unwrap();
        assert_eq!(again, c);
    }

    #[test]
    fn rejects_bad_files() {
        let unknown = FILE.replace(
            "role = \"site\"\naddress = \"127.0.0.1:7001\"",
            "role = \"site\"\nextra = 1\naddress = \"127.0.0.1:7001\"",
        );
        assert!(matches!(
            Consortium::from_toml(&unknown),
            Err(ConfigError::Syntax(_))
        ));
        let dup = FILE.replace("site-b", "site-a");
        assert!(matches!(
            Consortium::from_toml(&dup),
            Err(ConfigError::Duplicate(_))
        ));
        let fp = FILE.replace(
            "000000000000000000000000000000000000000000000000000000000000000A",
            "xyz",
        );
        assert!(matches!(
            Consortium::from_toml(&fp),
            Err(ConfigError::BadFingerprint(_))
        ));
        let name = FILE.replace("site-b", "Site B");
        assert!(matches!(
            Consortium::from_toml(&name),
            Err(ConfigError::BadName(_))
        ));
        let roles = FILE.replace("\"helper\"\naddress", "\"site\"\naddress");
        assert!(matches!(
            Consortium::from_toml(&roles),
            Err(ConfigError::Roles(_))
        ));
    }
}
