//! Real TLS, driven in memory: a rustls client and a rustls server exchange their records through
//! buffers, and every byte they produce is handed back so it can be put into TCP segments.
//!
//! Reproducibility: rustls takes its randomness from the crypto provider, so the provider here
//! reads a seeded per-thread RNG, and its only key-exchange group is X25519 computed from that RNG
//! (see [`crate::x25519`]). Certificates are Ed25519 (deterministic signatures) from seeded keys.
//! The same seed therefore gives byte-identical handshakes.

use crate::tcp::Direction;
use crate::SimError;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rustls::client::{ClientConfig, ClientConnection};
use rustls::crypto::{
    ActiveKeyExchange, CryptoProvider, GetRandomFailed, SecureRandom, SharedSecret,
    SupportedKxGroup,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::{ServerConfig, ServerConnection};
use rustls::{NamedGroup, RootCertStore};
use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::sync::Arc;

thread_local! {
    static TLS_RNG: RefCell<StdRng> = RefCell::new(StdRng::seed_from_u64(0));
}

fn seeded_fill(buf: &mut [u8]) {
    TLS_RNG.with(|r| r.borrow_mut().fill_bytes(buf));
}

#[derive(Debug)]
struct SeededRandom;

impl SecureRandom for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        seeded_fill(buf);
        Ok(())
    }
}

#[derive(Debug)]
struct SeededX25519;

struct X25519Exchange {
    secret: [u8; 32],
    public: [u8; 32],
}

impl SupportedKxGroup for SeededX25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let mut secret = [0u8; 32];
        seeded_fill(&mut secret);
        let public = crate::x25519::public_key(&secret);
        Ok(Box::new(X25519Exchange { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

impl ActiveKeyExchange for X25519Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        let peer: [u8; 32] = peer_pub_key
            .try_into()
            .map_err(|_| rustls::Error::from(rustls::PeerMisbehaved::InvalidKeyShare))?;
        let shared = crate::x25519::scalarmult(&self.secret, &peer);
        if shared == [0u8; 32] {
            return Err(rustls::PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

static SEEDED_RANDOM: SeededRandom = SeededRandom;
static SEEDED_X25519: SeededX25519 = SeededX25519;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        kx_groups: vec![&SEEDED_X25519],
        secure_random: &SEEDED_RANDOM,
        ..rustls::crypto::ring::default_provider()
    })
}

/// PKCS#8 v1 wrapping of an Ed25519 seed (RFC 8410), so keys can come from the seeded RNG.
fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// What the simulated client and server look like.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Name in the server certificate (and what the client verifies against).
    pub server_name: String,
    /// Address in the certificate's subject alternative names.
    pub server_ip: IpAddr,
    /// Whether the ClientHello carries SNI (xmrig sends none unless configured).
    pub send_sni: bool,
    /// ALPN protocols the client offers (browsers offer `h2`, `http/1.1`; miners none).
    pub alpn: Vec<Vec<u8>>,
    /// Allow only TLS 1.2 (older miners and pools).
    pub tls12_only: bool,
}

fn tls_err(context: &'static str) -> impl Fn(rustls::Error) -> SimError {
    move |e| SimError::Tls {
        context,
        message: e.to_string(),
    }
}

fn cert_err(e: rcgen::Error) -> SimError {
    SimError::Tls {
        context: "certificate generation",
        message: e.to_string(),
    }
}

/// A connected pair of rustls endpoints with the wire bytes flowing through memory.
pub struct TlsPipe {
    client: ClientConnection,
    server: ServerConnection,
}

impl std::fmt::Debug for TlsPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsPipe").finish_non_exhaustive()
    }
}

/// Keep bounded: a handshake takes at most a handful of flights.
const MAX_FLIGHTS: usize = 16;

impl TlsPipe {
    /// Build the certificate chain (Ed25519 CA -> leaf) and both endpoints from `seed`.
    pub fn new(seed: u64, opts: &TlsOptions) -> Result<Self, SimError> {
        TLS_RNG.with(|r| *r.borrow_mut() = StdRng::seed_from_u64(seed));
        let mut ca_seed = [0u8; 32];
        let mut leaf_seed = [0u8; 32];
        seeded_fill(&mut ca_seed);
        seeded_fill(&mut leaf_seed);
        let ca_key =
            rcgen::KeyPair::try_from(ed25519_pkcs8(&ca_seed).as_slice()).map_err(cert_err)?;
        let leaf_key =
            rcgen::KeyPair::try_from(ed25519_pkcs8(&leaf_seed).as_slice()).map_err(cert_err)?;

        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(
            rcgen::DnType::CommonName,
            format!("{} CA", opts.server_name),
        );
        let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_err)?;

        let mut leaf_params =
            rcgen::CertificateParams::new(vec![opts.server_name.clone()]).map_err(cert_err)?;
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, opts.server_name.clone());
        leaf_params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress(opts.server_ip));
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .map_err(cert_err)?;

        let provider = provider();
        let versions: &[&rustls::SupportedProtocolVersion] = if opts.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let server_cfg = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(tls_err("server config"))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf_cert.der().clone(), ca_cert.der().clone()], key)
            .map_err(tls_err("server certificate"))?;
        let mut server_cfg = server_cfg;
        server_cfg.alpn_protocols = opts.alpn.clone();

        let mut roots = RootCertStore::empty();
        roots
            .add(ca_cert.der().clone())
            .map_err(tls_err("root store"))?;
        let mut client_cfg = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(tls_err("client config"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        client_cfg.enable_sni = opts.send_sni;
        client_cfg.alpn_protocols = opts.alpn.clone();

        let name = ServerName::try_from(opts.server_name.clone()).map_err(|e| SimError::Tls {
            context: "server name",
            message: e.to_string(),
        })?;
        let client = ClientConnection::new(Arc::new(client_cfg), name)
            .map_err(tls_err("client connection"))?;
        let server =
            ServerConnection::new(Arc::new(server_cfg)).map_err(tls_err("server connection"))?;
        Ok(TlsPipe { client, server })
    }

    /// Run the handshake to completion; the flights in the order they crossed the wire.
    pub fn handshake(&mut self) -> Result<Vec<(Direction, Vec<u8>)>, SimError> {
        let mut flights = Vec::new();
        for _ in 0..MAX_FLIGHTS {
            let c = drain(&mut self.client)?;
            if !c.is_empty() {
                feed(&mut self.server, &c)?;
                flights.push((Direction::ClientToServer, c));
            }
            let s = drain(&mut self.server)?;
            if !s.is_empty() {
                feed(&mut self.client, &s)?;
                flights.push((Direction::ServerToClient, s));
            }
            let idle = !self.client.wants_write() && !self.server.wants_write();
            if idle && !self.client.is_handshaking() && !self.server.is_handshaking() {
                return Ok(flights);
            }
        }
        Err(SimError::Tls {
            context: "handshake",
            message: "did not complete within 16 flights".into(),
        })
    }

    /// Encrypt `plaintext` from one side; returns the TLS records, after checking that the
    /// other side decrypts them back to the same bytes.
    pub fn send(&mut self, dir: Direction, plaintext: &[u8]) -> Result<Vec<u8>, SimError> {
        // The receiver buffers at most 16 KiB of undelivered plaintext (rustls' limit), so large
        // messages go through in pieces, each read out before the next is fed.
        let mut records = Vec::new();
        for piece in plaintext.chunks(8 * 1024) {
            records.extend(self.send_piece(dir, piece)?);
        }
        if plaintext.is_empty() {
            records.extend(self.send_piece(dir, plaintext)?);
        }
        Ok(records)
    }

    fn send_piece(&mut self, dir: Direction, plaintext: &[u8]) -> Result<Vec<u8>, SimError> {
        let io = |e: std::io::Error| SimError::Tls {
            context: "application data",
            message: e.to_string(),
        };
        let (records, received) = match dir {
            Direction::ClientToServer => {
                self.client.writer().write_all(plaintext).map_err(io)?;
                let r = drain(&mut self.client)?;
                feed(&mut self.server, &r)?;
                (r, read_plain(&mut self.server.reader())?)
            }
            Direction::ServerToClient => {
                self.server.writer().write_all(plaintext).map_err(io)?;
                let r = drain(&mut self.server)?;
                feed(&mut self.client, &r)?;
                (r, read_plain(&mut self.client.reader())?)
            }
        };
        if received != plaintext {
            return Err(SimError::Tls {
                context: "application data",
                message: "peer decrypted different bytes".into(),
            });
        }
        Ok(records)
    }

    /// close_notify from one side.
    pub fn close(&mut self, dir: Direction) -> Result<Vec<u8>, SimError> {
        match dir {
            Direction::ClientToServer => {
                self.client.send_close_notify();
                drain(&mut self.client)
            }
            Direction::ServerToClient => {
                self.server.send_close_notify();
                drain(&mut self.server)
            }
        }
    }

    /// The protocol version both ends agreed on.
    pub fn negotiated_version(&self) -> Option<rustls::ProtocolVersion> {
        self.client.protocol_version()
    }
}

/// The two halves of a connection the pipe needs, abstracted over client and server.
trait WireSide {
    fn wants_write(&self) -> bool;
    fn write_tls(&mut self, out: &mut dyn Write) -> std::io::Result<usize>;
    fn read_tls(&mut self, input: &mut dyn Read) -> std::io::Result<usize>;
    fn process(&mut self) -> Result<(), rustls::Error>;
}

macro_rules! wire_side {
    ($t:ty) => {
        impl WireSide for $t {
            fn wants_write(&self) -> bool {
                std::ops::Deref::deref(self).wants_write()
            }
            fn write_tls(&mut self, out: &mut dyn Write) -> std::io::Result<usize> {
                std::ops::DerefMut::deref_mut(self).write_tls(out)
            }
            fn read_tls(&mut self, input: &mut dyn Read) -> std::io::Result<usize> {
                std::ops::DerefMut::deref_mut(self).read_tls(input)
            }
            fn process(&mut self) -> Result<(), rustls::Error> {
                std::ops::DerefMut::deref_mut(self)
                    .process_new_packets()
                    .map(|_| ())
            }
        }
    };
}

wire_side!(ClientConnection);
wire_side!(ServerConnection);

fn drain(conn: &mut dyn WireSide) -> Result<Vec<u8>, SimError> {
    let mut out = Vec::new();
    let mut rounds = 0;
    while conn.wants_write() && rounds < 64 {
        conn.write_tls(&mut out).map_err(|e| SimError::Tls {
            context: "write_tls",
            message: e.to_string(),
        })?;
        rounds += 1;
    }
    Ok(out)
}

fn feed(conn: &mut dyn WireSide, mut bytes: &[u8]) -> Result<(), SimError> {
    while !bytes.is_empty() {
        let n = conn.read_tls(&mut bytes).map_err(|e| SimError::Tls {
            context: "read_tls",
            message: e.to_string(),
        })?;
        conn.process().map_err(tls_err("processing records"))?;
        if n == 0 {
            break;
        }
    }
    Ok(())
}

fn read_plain(reader: &mut rustls::Reader<'_>) -> Result<Vec<u8>, SimError> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => {
                return Err(SimError::Tls {
                    context: "reading plaintext",
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(sni: bool) -> TlsOptions {
        TlsOptions {
            server_name: "pool.example.net".into(),
            server_ip: "192.0.2.44".parse().unwrap(),
            send_sni: sni,
            alpn: vec![],
            tls12_only: false,
        }
    }

    fn client_hello_has_sni(hello: &[u8]) -> bool {
        hello
            .windows(b"pool.example.net".len())
            .any(|w| w == b"pool.example.net")
    }

    #[test]
    fn handshake_completes_and_data_round_trips() {
        let mut p = TlsPipe::new(7, &opts(true)).unwrap();
        let flights = p.handshake().unwrap();
        assert!(flights.len() >= 3);
        assert_eq!(flights[0].0, Direction::ClientToServer);
        // A TLS handshake record carrying a ClientHello.
        assert_eq!(&flights[0].1[..1], &[0x16]);
        assert_eq!(flights[0].1[5], 0x01);
        assert!(client_hello_has_sni(&flights[0].1));
        assert_eq!(
            p.negotiated_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        let rec = p.send(Direction::ClientToServer, b"{\"id\":1}\n").unwrap();
        assert_eq!(rec[0], 0x17);
    }

    #[test]
    fn no_sni_variant_omits_the_name() {
        let mut p = TlsPipe::new(7, &opts(false)).unwrap();
        let flights = p.handshake().unwrap();
        assert!(!client_hello_has_sni(&flights[0].1));
    }

    #[test]
    fn same_seed_same_bytes() {
        let run = |seed| {
            let mut p = TlsPipe::new(seed, &opts(true)).unwrap();
            let mut f = p.handshake().unwrap();
            f.push((
                Direction::ServerToClient,
                p.send(Direction::ServerToClient, b"x").unwrap(),
            ));
            f
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn tls12_only_negotiates_tls12() {
        let mut o = opts(true);
        o.tls12_only = true;
        let mut p = TlsPipe::new(1, &o).unwrap();
        p.handshake().unwrap();
        assert_eq!(
            p.negotiated_version(),
            Some(rustls::ProtocolVersion::TLSv1_2)
        );
    }
}
