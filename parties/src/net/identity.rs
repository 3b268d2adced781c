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
pub fn keygen(name: &str, dir: &Path) -> Result<(Fingerprint, PathBuf, PathBuf), NetSetupError> {
    let id = Identity::generate(name)?;
    let (k, c) = id.write_to_dir(dir)?;
    Ok((id.fingerprint(), k, c))
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
    fn base64_known_answers() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
