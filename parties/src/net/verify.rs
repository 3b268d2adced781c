//! Certificate verifiers that accept only pinned certificates (both TLS directions).
//!
//! A peer is accepted iff its end-entity certificate's SHA-256 equals a fingerprint pinned in
//! the consortium file for a party allowed in that position, it sends no intermediates, the
//! certificate is within its validity dates, and it is correctly self-signed. The dialer pins
//! exactly the party it dials; the listener pins exactly the parties that may dial it. Everything
//! happens inside the TLS handshake, before any application byte is read.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

use crate::config::Fingerprint;

/// Checks `end_entity` against `pins`; returns the index of the matching pin.
pub(crate) fn check_pinned(
    provider: &CryptoProvider,
    pins: &[Fingerprint],
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    now: UnixTime,
) -> Result<usize, Error> {
    if !intermediates.is_empty() {
        return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
    }
    let fp = Fingerprint::of_der(end_entity);
    let index = pins
        .iter()
        .position(|p| *p == fp)
        .ok_or(Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))?;
    // The pinned self-signed certificate is its own (only) trust anchor: webpki then checks
    // the validity dates and the self-signature.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(end_entity.clone())?;
    let parsed = ParsedCertificate::try_from(end_entity)?;
    rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        &roots,
        &[],
        now,
        provider.signature_verification_algorithms.all,
    )?;
    Ok(index)
}

/// The dialer's verifier: accepts only the one certificate pinned for the party it dials.
#[derive(Debug)]
pub(crate) struct PinnedServerVerifier {
    provider: Arc<CryptoProvider>,
    pin: Fingerprint,
}

impl PinnedServerVerifier {
    pub(crate) fn new(provider: Arc<CryptoProvider>, pin: Fingerprint) -> Self {
        Self { provider, pin }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        check_pinned(
            &self.provider,
            std::slice::from_ref(&self.pin),
            end_entity,
            intermediates,
            now,
        )?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The listener's verifier: client certificates are mandatory and must be pinned for a party
/// allowed to dial this one.
#[derive(Debug)]
pub(crate) struct PinnedClientVerifier {
    provider: Arc<CryptoProvider>,
    pins: Vec<Fingerprint>,
}

impl PinnedClientVerifier {
    pub(crate) fn new(provider: Arc<CryptoProvider>, pins: Vec<Fingerprint>) -> Self {
        Self { provider, pins }
    }
}

impl ClientCertVerifier for PinnedClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        check_pinned(&self.provider, &self.pins, end_entity, intermediates, now)?;
        Ok(ClientCertVerified::assertion())
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
