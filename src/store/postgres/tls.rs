//! TLS to PostgreSQL, as the URL's `sslmode` asks: `disable` (plain), `prefer` (TLS when the
//! server offers it, else plain; the default), `require` (TLS or no connection), `verify-ca`
//! (TLS, and the server's certificate chains to a trusted root) and `verify-full` (as
//! `verify-ca`, and the certificate names the host connected to). Like libpq, `prefer` and
//! `require` encrypt without checking who answers unless `sslrootcert` names a root file (then
//! `require` checks the chain as `verify-ca` does). Trusted roots: the `sslrootcert` file, else
//! the system's store plus Mozilla's list. rustls with ring, like every other TLS client here.
//!
//! It does not offer channel binding (SCRAM-SHA-256-PLUS): authentication uses plain
//! SCRAM-SHA-256, which a server requiring `channel_binding` refuses. Client certificates
//! (`sslcert`/`sslkey`) are not supported; the URL parser names them as unknown options.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// What the URL's `sslmode` and `sslrootcert` ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    /// What tokio-postgres is told: whether TLS is attempted and whether it is a must. The
    /// checking of the certificate is ours (the verifier below).
    pub(super) fn ssl_mode(self) -> SslMode {
        match self {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }

    /// Whether a connection without TLS is refused.
    pub(super) fn requires_tls(self) -> bool {
        self.ssl_mode() == SslMode::Require
    }
}

/// The URL without `sslmode` and `sslrootcert` (tokio-postgres knows neither `verify-*` nor
/// root files), and the TLS settings they held.
#[derive(Debug)]
pub(super) struct Split {
    pub url: String,
    pub mode: Mode,
    pub root_file: Option<PathBuf>,
}

/// Takes the TLS parameters out of a `postgres://…?sslmode=…&sslrootcert=…` URL. A key=value
/// connection string is passed through whole (its `sslmode` is tokio-postgres's to read).
pub(super) fn split_url(url: &str) -> Result<Split, String> {
    let mut split = Split {
        url: url.to_owned(),
        mode: Mode::Prefer,
        root_file: None,
    };
    let is_url = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let Some((base, query)) = url.split_once('?').filter(|_| is_url) else {
        return Ok(split);
    };
    let mut kept = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "sslmode" => {
                split.mode = match value {
                    "disable" => Mode::Disable,
                    "prefer" => Mode::Prefer,
                    "require" => Mode::Require,
                    "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => return Err(format!("sslmode={other} is not a TLS mode wirewatch knows; use disable, prefer, require, verify-ca or verify-full")),
                }
            }
            "sslrootcert" => {
                let path = url::form_urlencoded::parse(format!("p={value}").as_bytes())
                    .next()
                    .map(|(_, path)| path.into_owned())
                    .unwrap_or_default();
                split.root_file = Some(PathBuf::from(path));
            }
            _ => kept.push(pair),
        }
    }
    split.url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(split)
}

/// The connector handed to the pool: one rustls configuration for every connection.
#[derive(Clone)]
pub(super) struct Connector {
    config: Arc<rustls::ClientConfig>,
}

impl Connector {
    pub(super) fn new(mode: Mode, root_file: Option<&PathBuf>) -> Result<Connector, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(roots(root_file)?);
        let checked = mode == Mode::VerifyCa
            || mode == Mode::VerifyFull
            || (mode == Mode::Require && root_file.is_some());
        let webpki =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|error| format!("cannot use the trusted roots: {error}"))?;
        let verifier = Arc::new(Verifier {
            webpki,
            provider: provider.clone(),
            check_chain: checked,
            check_name: mode == Mode::VerifyFull,
        });
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set up TLS: {error}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Connector {
            config: Arc::new(config),
        })
    }
}

/// The `sslrootcert` file, or the system's roots plus Mozilla's.
fn roots(root_file: Option<&PathBuf>) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(path) = root_file {
        let certificates = CertificateDer::pem_file_iter(path)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|error| format!("cannot read sslrootcert {}: {error}; give a PEM file of the CA certificates that signed the server's certificate", path.display()))?;
        let (added, _) = roots.add_parsable_certificates(certificates);
        if added == 0 {
            return Err(format!(
                "sslrootcert {} holds no usable CA certificate; give a PEM file of the CA certificates that signed the server's certificate",
                path.display()
            ));
        }
        return Ok(roots);
    }
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // a system store that cannot be read leaves Mozilla's roots: enough for public CAs
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    Ok(roots)
}

/// Checks what the mode asks for: always the handshake's signatures (the session is then at
/// least private against a passive listener), the chain for `verify-ca`, and the name too
/// for `verify-full`.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    check_chain: bool,
    check_name: bool,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.check_chain {
            return Ok(ServerCertVerified::assertion());
        }
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl<S> MakeTlsConnect<S> for Connector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Handshake;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Handshake, Self::Error> {
        Ok(Handshake {
            config: Arc::clone(&self.config),
            name: ServerName::try_from(domain)?.to_owned(),
        })
    }
}

/// One connection's TLS handshake, for the host it connects to.
pub(super) struct Handshake {
    config: Arc<rustls::ClientConfig>,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for Handshake
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let connector = tokio_rustls::TlsConnector::from(self.config);
        Box::pin(async move { Ok(Stream(connector.connect(self.name, stream).await?)) })
    }
}

/// A TLS session to the server.
pub(super) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(context, buffer)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(context, buffer)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_are_taken_out_of_the_url() {
        let split = split_url(
            "postgres://u:p@db.internal/wirewatch?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=w",
        )
        .unwrap();
        assert_eq!(split.mode, Mode::VerifyFull);
        assert_eq!(split.root_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            split.url,
            "postgres://u:p@db.internal/wirewatch?application_name=w"
        );
        assert!(split.mode.requires_tls());
        let plain = split_url("postgres://u@h/d?sslmode=disable").unwrap();
        assert_eq!(
            (plain.mode, plain.url.as_str()),
            (Mode::Disable, "postgres://u@h/d")
        );
        let default = split_url("postgres://u@h/d").unwrap();
        assert_eq!(default.mode, Mode::Prefer);
        assert!(!default.mode.requires_tls());
    }

    #[test]
    fn unknown_mode_is_named() {
        let error = split_url("postgres://u@h/d?sslmode=allow").unwrap_err();
        assert!(error.contains("sslmode=allow"), "{error}");
        assert!(error.contains("verify-full"), "{error}");
    }

    #[test]
    fn every_mode_builds_a_connector() {
        for mode in [
            Mode::Disable,
            Mode::Prefer,
            Mode::Require,
            Mode::VerifyCa,
            Mode::VerifyFull,
        ] {
            assert!(Connector::new(mode, None).is_ok(), "{mode:?}");
        }
        let missing = PathBuf::from("/nonexistent/root.crt");
        let error = Connector::new(Mode::VerifyFull, Some(&missing))
            .err()
            .unwrap();
        assert!(error.contains("/nonexistent/root.crt"), "{error}");
    }
}
