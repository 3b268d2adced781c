//! Long-term party identities: an Ed25519 key pair and a self-signed certificate for it.
//!
//! The key never leaves the party: it is written once with mode 0600 (`create_new`, never
//! overwritten), loaded only if no group or other permission bit is set, and has no `Debug`.
//! Peers pin the certificate's SHA-256 fingerprint in the consortium file.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, PKCS_ED25519};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::NetSetupError;
use crate::config::{Fingerprint, valid_name};

/// Default certificate lifetime: five years.
pub const DEFAULT_VALIDITY_SECS: i64 = 5 * 365 * 24 * 3600;
/// A new certificate is valid from one hour ago (tolerates small clock skew).
pub const BACKDATE_SECS: i64 = 3600;

/// A party's identity: name, certificate and private key. No `Debug`, no `Display`.
pub struct Identity {
    name: String,
    cert: CertificateDer<'static>,
    key: PrivatePkcs8KeyDer<'static>,
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Identity {
    /// A fresh identity valid from an hour ago for [`DEFAULT_VALIDITY_SECS`].
    pub fn generate(name: &str) -> Result<Self, NetSetupError> {
        let now = now_unix();
        Self::generate_with_validity(name, now - BACKDATE_SECS, now + DEFAULT_VALIDITY_SECS)
    }

    /// A fresh identity whose certificate is valid between two Unix times (tests use this for
    /// expired and not-yet-valid certificates).
    pub fn generate_with_validity(
        name: &str,
        not_before: i64,
        not_after: i64,
    ) -> Result<Self, NetSetupError> {
        if !valid_name(name) {
            return Err(NetSetupError::Identity(
                "party name must be [a-z0-9-], 1..=63 chars".into(),
            ));
        }
        let err = |e: rcgen::Error| NetSetupError::Identity(e.to_string());
        let key = KeyPair::generate_for(&PKCS_ED25519).map_err(err)?;
        let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(err)?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let time = |t: i64| {
            time::OffsetDateTime::from_unix_timestamp(t)
                .map_err(|e| NetSetupError::Identity(e.to_string()))
        };
        params.not_before = time(not_before)?;
        params.not_after = time(not_after)?;
        let cert = params.self_signed(&key).map_err(err)?;
        Ok(Self {
            name: name.to_owned(),
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        })
    }

    /// The party name in the certificate.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The DER certificate.
    pub fn cert(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate's SHA-256 fingerprint (what peers pin).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_der(&self.cert)
    }

    /// A copy of the private key for a TLS configuration.
    pub(crate) fn key_for_tls(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// The Ed25519 signing key for the audit trail (approvals, signed tree heads, the run
    /// record): the same key as the TLS identity, read from its PKCS#8 seed. The copy of the
    /// seed is zeroized; the key is checked against the certificate's public key.
    pub fn audit_key(&self) -> Result<audit::IdentityKey, NetSetupError> {
        let bad = || NetSetupError::Identity("the key is not an Ed25519 PKCS#8 key".into());
        let seed = ed25519_seed(self.key.secret_pkcs8_der()).ok_or_else(bad)?;
        let key = audit::IdentityKey::from_secret_bytes(&seed);
        if Some(key.verifying_key()) != self.verifying_key() {
            return Err(NetSetupError::Identity(
                "the key does not match the certificate".into(),
            ));
        }
        Ok(key)
    }

    /// The Ed25519 public key in the certificate (what plans pin as the party's signing key).
    pub fn verifying_key(&self) -> Option<[u8; 32]> {
        cert_ed25519_key(&self.cert)
    }

    /// Where [`Identity::write_to_dir`] puts the key and certificate of `name`.
    pub fn paths(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("{name}.key")),
            dir.join(format!("{name}.crt")),
        )
    }

    /// Writes `DIR/NAME.key` (PKCS#8 PEM, mode 0600, never overwritten) and `DIR/NAME.crt`.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(PathBuf, PathBuf), NetSetupError> {
        let io = |what: &str, e: std::io::Error| NetSetupError::Identity(format!("{what}: {e}"));
        std::fs::create_dir_all(dir).map_err(|e| io("create the output directory", e))?;
        let (key_path, cert_path) = Self::paths(dir, &self.name);
        let key_pem = pem_block("PRIVATE KEY", self.key.secret_pkcs8_der());
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(|e| io("create the key file (it must not exist yet)", e))?;
        f.write_all(key_pem.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io("write the key file", e))?;
        let cert_pem = pem_block("CERTIFICATE", &self.cert);
        let mut c = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&cert_path)
            .map_err(|e| io("create the certificate file", e))?;
        c.write_all(cert_pem.as_bytes())
            .map_err(|e| io("write the certificate file", e))?;
        Ok((key_path, cert_path))
    }

    /// Loads an identity written by [`Identity::write_to_dir`]. Refuses a key file readable by
    /// group or others.
    pub fn load(name: &str, key_path: &Path, cert_path: &Path) -> Result<Self, NetSetupError> {
        let meta = std::fs::metadata(key_path)
            .map_err(|e| NetSetupError::Identity(format!("key file: {e}")))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(NetSetupError::Identity(
                "key file is accessible by group or others (chmod 600 it)".into(),
            ));
        }
        let key = PrivatePkcs8KeyDer::from_pem_file(key_path)
            .map_err(|_| NetSetupError::Identity("key file is not a PKCS#8 PEM key".into()))?;
        let cert = CertificateDer::from_pem_file(cert_path)
            .map_err(|_| NetSetupError::Identity("certificate file is not PEM".into()))?;
        if !valid_name(name) {
            return Err(NetSetupError::Identity("bad party name".into()));
        }
        Ok(Self {
            name: name.to_owned(),
            cert,
            key,
        })
    }
}

/// `igs-mpc keygen`: generates an identity for `name`, writes it to `dir` and returns the
/// certificate fingerprint (the key is never printed).
/// Also writes `DIR/NAME.ed25519`: the certificate's Ed25519 key in hex, for the consortium
/// file's `ed25519` field (plans pin it as the party's signing key).
pub fn keygen(name: &str, dir: &Path) -> Result<(Fingerprint, PathBuf, PathBuf), NetSetupError> {
    let id = Identity::generate(name)?;
    let (k, c) = id.write_to_dir(dir)?;
    let vk = id
        .verifying_key()
        .ok_or_else(|| NetSetupError::Identity("certificate without Ed25519 key".into()))?;
    let p = dir.join(format!("{name}.ed25519"));
    crate::fsio::write_atomic(&p, format!("{}\n", crate::config::to_hex(&vk)).as_bytes())
        .map_err(|e| NetSetupError::Identity(format!("{}: {e}", p.display())))?;
    Ok((id.fingerprint(), k, c))
}

/// DER of an Ed25519 AlgorithmIdentifier followed by the PKCS#8 private-key OCTET STRING
/// holding the 32-byte seed (RFC 8410 §7: `04 22 04 20 seed`).
const PKCS8_ED25519_SEED: [u8; 11] = [
    0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER of an Ed25519 SubjectPublicKeyInfo up to the 32 key bytes (RFC 8410 §4).
const SPKI_ED25519: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The 32-byte seed of an Ed25519 PKCS#8 key: v1 (`30 2e 02 01 00 …`, RFC 8410) or v2 as
/// ring writes it (`30 51 02 01 01 … 81 21 00 <public key>`, RFC 5958). The returned copy
/// zeroizes on drop.
fn ed25519_seed(der: &[u8]) -> Option<zeroize::Zeroizing<[u8; 32]>> {
    let v2 = match der.get(..5)? {
        [0x30, 0x2e, 0x02, 0x01, 0x00] => false,
        [0x30, 0x51, 0x02, 0x01, 0x01] => true,
        _ => return None,
    };
    let body = der.get(5..)?;
    if body.get(..PKCS8_ED25519_SEED.len())? != PKCS8_ED25519_SEED {
        return None;
    }
    let start = 5 + PKCS8_ED25519_SEED.len();
    let end = start + 32;
    let expected_len = if v2 { end + 35 } else { end };
    if der.len() != expected_len || v2 && der.get(end..end + 3)? != [0x81, 0x21, 0x00] {
        return None;
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    seed.copy_from_slice(der.get(start..end)?);
    Some(seed)
}

/// The Ed25519 public key of a DER certificate (its SubjectPublicKeyInfo).
pub fn cert_ed25519_key(cert_der: &[u8]) -> Option<[u8; 32]> {
    let at = cert_der
        .windows(SPKI_ED25519.len())
        .position(|w| w == SPKI_ED25519)?;
    let start = at + SPKI_ED25519.len();
    cert_der.get(start..start + 32)?.try_into().ok()
}

/// Reads a PEM certificate file into DER.
pub fn load_cert_der(path: &Path) -> Result<Vec<u8>, NetSetupError> {
    CertificateDer::from_pem_file(path)
        .map(|c| c.to_vec())
        .map_err(|_| NetSetupError::Identity(format!("{}: not a PEM certificate", path.display())))
}

/// A PEM certificate of DER bytes.
pub fn cert_pem(der: &[u8]) -> String {
    pem_block("CERTIFICATE", der)
}

fn pem_block(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let v = b(0) << 16 | b(1) << 8 | b(2);
        out.push(sym(v >> 18));
        out.push(sym(v >> 12));
        out.push(if chunk.len() > 1 { sym(v >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(v) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_load_round_trip_and_key_mode() {
        let dir = std::env::temp_dir().join(format!("igs-id-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let id = Identity::generate("site-a").unwrap();
        let (k, c) = id.write_to_dir(&dir).unwrap();
        let mode = std::fs::metadata(&k).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(id.write_to_dir(&dir).is_err(), "never overwrites a key");
        let back = Identity::load("site-a", &k, &c).unwrap();
        assert_eq!(back.fingerprint(), id.fingerprint());
        assert_eq!(back.key.secret_pkcs8_der(), id.key.secret_pkcs8_der());
        std::fs::set_permissions(&k, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Identity::load("site-a", &k, &c).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn audit_key_matches_the_certificate() {
        let id = Identity::generate("site-a").unwrap();
        let k = id.audit_key().unwrap();
        assert_eq!(Some(k.verifying_key()), id.verifying_key());
        assert!(ed25519_seed(&[0x30, 0x2e, 0x02, 0x01, 0x00]).is_none());
        let mut der = id.key.secret_pkcs8_der().to_vec();
        der.push(0);
        assert!(ed25519_seed(&der).is_none());
    }

    #[test]
    fn base64_known_answers() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
