//! Stratum V2 (stratum-mining/sv2-spec): the 6-byte frame header, the messages that open a
//! mining session in clear (SetupConnection, its Success/Error, OpenStandardMiningChannel), and
//! the shape of the encrypted Noise NX handshake that precedes everything on encrypted links.
//!
//! ```
//! use minetrace_proto::sv2::{parse_frame, MessageType};
//! use minetrace_proto::tls::Parsed;
//! // A SetupConnection.Success frame: used_version 2, flags 0.
//! let frame = [0x00, 0x00, 0x01, 0x06, 0x00, 0x00, 0x02, 0x00, 0, 0, 0, 0];
//! let Ok(Parsed::Done(f)) = parse_frame(&frame) else { panic!() };
//! assert_eq!(f.header.msg_type, MessageType::SETUP_CONNECTION_SUCCESS);
//! assert_eq!(f.payload.len(), 6);
//! ```

use crate::tls::Parsed;

/// Frame header length.
pub const HEADER_LEN: usize = 6;
/// Largest payload accepted by [`parse_frame`] (the wire allows 2^24 - 1; session-opening
/// messages are a few hundred bytes).
pub const MAX_PAYLOAD_LEN: usize = 64 * 1024;
/// Noise NX: the initiator's first message is one ElligatorSwift-encoded key.
pub const NOISE_CLIENT_HELLO_LEN: usize = 64;
/// Noise NX responder message as the reference implementation sends it (key, encrypted static
/// key and certificate). The spec text says 170.
pub const NOISE_SERVER_REPLY_LEN: usize = 234;
pub const NOISE_SERVER_REPLY_LEN_SPEC: usize = 170;
/// An encrypted frame header: 6 bytes plus a 16-byte MAC.
pub const NOISE_ENCRYPTED_HEADER_LEN: usize = 22;
const MAC_LEN: usize = 16;

/// Why bytes are not a Stratum V2 frame or message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Sv2Error {
    #[error("SV2 frame payload of {len} bytes exceeds the limit of {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("SV2 {message}: truncated or malformed reading {field} at offset {offset}")]
    Malformed {
        message: &'static str,
        field: &'static str,
        offset: usize,
    },
    #[error("SV2 {message}: {extra} bytes after the last field")]
    TrailingBytes { message: &'static str, extra: usize },
}

/// A message type (open: unknown values still parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    pub const SETUP_CONNECTION: MessageType = MessageType(0x00);
    pub const SETUP_CONNECTION_SUCCESS: MessageType = MessageType(0x01);
    pub const SETUP_CONNECTION_ERROR: MessageType = MessageType(0x02);
    pub const CHANNEL_ENDPOINT_CHANGED: MessageType = MessageType(0x03);
    pub const OPEN_STANDARD_MINING_CHANNEL: MessageType = MessageType(0x10);
    pub const OPEN_STANDARD_MINING_CHANNEL_SUCCESS: MessageType = MessageType(0x11);
    pub const OPEN_MINING_CHANNEL_ERROR: MessageType = MessageType(0x12);
    pub const OPEN_EXTENDED_MINING_CHANNEL: MessageType = MessageType(0x13);
    pub const OPEN_EXTENDED_MINING_CHANNEL_SUCCESS: MessageType = MessageType(0x14);
    pub const NEW_MINING_JOB: MessageType = MessageType(0x15);
    pub const SUBMIT_SHARES_STANDARD: MessageType = MessageType(0x1a);
    pub const SUBMIT_SHARES_EXTENDED: MessageType = MessageType(0x1b);
    pub const SUBMIT_SHARES_SUCCESS: MessageType = MessageType(0x1c);
    pub const SUBMIT_SHARES_ERROR: MessageType = MessageType(0x1d);
    pub const SET_NEW_PREV_HASH: MessageType = MessageType(0x20);
    pub const SET_TARGET: MessageType = MessageType(0x21);

    /// Spec name of a mining-protocol message, when known.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x00 => "SetupConnection",
            0x01 => "SetupConnection.Success",
            0x02 => "SetupConnection.Error",
            0x03 => "ChannelEndpointChanged",
            0x10 => "OpenStandardMiningChannel",
            0x11 => "OpenStandardMiningChannel.Success",
            0x12 => "OpenMiningChannel.Error",
            0x13 => "OpenExtendedMiningChannel",
            0x14 => "OpenExtendedMiningChannel.Success",
            0x15 => "NewMiningJob",
            0x1a => "SubmitSharesStandard",
            0x1b => "SubmitSharesExtended",
            0x1c => "SubmitShares.Success",
            0x1d => "SubmitShares.Error",
            0x20 => "SetNewPrevHash",
            0x21 => "SetTarget",
            _ => return None,
        })
    }
}

/// The 6-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Extension type without the channel bit (0 = the base protocol).
    pub extension_type: u16,
    /// Bit 15 of the extension field: the message is addressed to a channel.
    pub channel_msg: bool,
    pub msg_type: MessageType,
    pub msg_length: u32,
}

/// One frame, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: FrameHeader,
    pub payload: &'a [u8],
}

/// Reads the frame header at the start of `buf` (`None` with fewer than 6 bytes).
pub fn parse_header(buf: &[u8]) -> Option<FrameHeader> {
    let h = buf.get(..HEADER_LEN)?;
    let ext = u16::from_le_bytes([h[0], h[1]]);
    Some(FrameHeader {
        extension_type: ext & 0x7fff,
        channel_msg: ext & 0x8000 != 0,
        msg_type: MessageType(h[2]),
        msg_length: u32::from_le_bytes([h[3], h[4], h[5], 0]),
    })
}

/// Reads one whole frame at the start of `buf`.
pub fn parse_frame(buf: &[u8]) -> Result<Parsed<Frame<'_>>, Sv2Error> {
    let Some(header) = parse_header(buf) else {
        return Ok(Parsed::Incomplete {
            needed: HEADER_LEN - buf.len(),
        });
    };
    let len = header.msg_length as usize;
    if len > MAX_PAYLOAD_LEN {
        return Err(Sv2Error::TooLarge {
            len,
            limit: MAX_PAYLOAD_LEN,
        });
    }
    match buf.get(HEADER_LEN..HEADER_LEN + len) {
        Some(payload) => Ok(Parsed::Done(Frame { header, payload })),
        None => Ok(Parsed::Incomplete {
            needed: HEADER_LEN + len - buf.len(),
        }),
    }
}

/// SetupConnection (message type 0x00).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupConnection {
    /// 0 = Mining, 1 = Job Declaration, 2 = Template Distribution.
    pub protocol: u8,
    pub min_version: u16,
    pub max_version: u16,
    pub flags: u32,
    pub endpoint_host: String,
    pub endpoint_port: u16,
    pub vendor: String,
    pub hardware_version: String,
    pub firmware: String,
    pub device_id: String,
}

impl SetupConnection {
    pub const PROTOCOL_MINING: u8 = 0;
}

/// SetupConnection.Success (0x01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupConnectionSuccess {
    pub used_version: u16,
    pub flags: u32,
}

/// OpenStandardMiningChannel (0x10).
#[derive(Debug, Clone, PartialEq)]
pub struct OpenStandardMiningChannel {
    pub request_id: u32,
    pub user_identity: String,
    /// Hashes per second the device expects to produce.
    pub nominal_hash_rate: f32,
    /// U256, little-endian as on the wire.
    pub max_target: [u8; 32],
}

struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], message: &'static str) -> Self {
        Fields {
            buf,
            pos: 0,
            message,
        }
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Sv2Error> {
        let s = self
            .buf
            .get(self.pos..self.pos.saturating_add(n))
            .filter(|s| s.len() == n)
            .ok_or(Sv2Error::Malformed {
                message: self.message,
                field,
                offset: self.pos,
            })?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, Sv2Error> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, Sv2Error> {
        let b = self.take(2, field)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, Sv2Error> {
        let b = self.take(4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// STR0_255: one length byte, then UTF-8 (kept lossily).
    fn str0_255(&mut self, field: &'static str) -> Result<String, Sv2Error> {
        let n = self.u8(field)? as usize;
        Ok(String::from_utf8_lossy(self.take(n, field)?).into_owned())
    }
    fn finish(self) -> Result<(), Sv2Error> {
        let extra = self.buf.len().saturating_sub(self.pos);
        if extra == 0 {
            Ok(())
        } else {
            Err(Sv2Error::TrailingBytes {
                message: self.message,
                extra,
            })
        }
    }
}

/// Parses a SetupConnection payload.
pub fn parse_setup_connection(payload: &[u8]) -> Result<SetupConnection, Sv2Error> {
    let mut f = Fields::new(payload, "SetupConnection");
    let msg = SetupConnection {
        protocol: f.u8("protocol")?,
        min_version: f.u16("min_version")?,
        max_version: f.u16("max_version")?,
        flags: f.u32("flags")?,
        endpoint_host: f.str0_255("endpoint_host")?,
        endpoint_port: f.u16("endpoint_port")?,
        vendor: f.str0_255("vendor")?,
        hardware_version: f.str0_255("hardware_version")?,
        firmware: f.str0_255("firmware")?,
        device_id: f.str0_255("device_id")?,
    };
    f.finish()?;
    Ok(msg)
}

/// Parses a SetupConnection.Success payload.
pub fn parse_setup_connection_success(payload: &[u8]) -> Result<SetupConnectionSuccess, Sv2Error> {
    let mut f = Fields::new(payload, "SetupConnection.Success");
    let msg = SetupConnectionSuccess {
        used_version: f.u16("used_version")?,
        flags: f.u32("flags")?,
    };
    f.finish()?;
    Ok(msg)
}

/// Parses a SetupConnection.Error payload: returns the error code text.
pub fn parse_setup_connection_error(payload: &[u8]) -> Result<String, Sv2Error> {
    let mut f = Fields::new(payload, "SetupConnection.Error");
    let _flags = f.u32("flags")?;
    let code = f.str0_255("error_code")?;
    f.finish()?;
    Ok(code)
}

/// Parses an OpenStandardMiningChannel payload.
pub fn parse_open_standard_mining_channel(
    payload: &[u8],
) -> Result<OpenStandardMiningChannel, Sv2Error> {
    let mut f = Fields::new(payload, "OpenStandardMiningChannel");
    let request_id = f.u32("request_id")?;
    let user_identity = f.str0_255("user_identity")?;
    let rate = f.u32("nominal_hash_rate")?;
    let mut max_target = [0u8; 32];
    max_target.copy_from_slice(f.take(32, "max_target")?);
    f.finish()?;
    Ok(OpenStandardMiningChannel {
        request_id,
        user_identity,
        nominal_hash_rate: f32::from_bits(rate),
        max_target,
    })
}

/// Number of distinct byte values: a cheap randomness measure for short buffers. 64 uniformly
/// random bytes show about 57 distinct values (rarely under 48); text and structured binary far
/// fewer.
pub fn distinct_bytes(buf: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &b in buf {
        seen[b as usize] = true;
    }
    seen.iter().filter(|s| **s).count()
}

/// Why a first message does not look like a Noise handshake key (None: it does).
fn not_random_reason(buf: &[u8], min_distinct: usize) -> Option<&'static str> {
    match buf {
        [0x14..=0x17, 0x03, ..] => return Some("starts like a TLS record"),
        [b'{', ..] | [b'[', ..] => return Some("starts like JSON"),
        [b'S', b'S', b'H', b'-', ..] => return Some("an SSH banner"),
        _ => {}
    }
    let printable = buf
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    if printable * 10 >= buf.len() * 9 {
        return Some("mostly printable text");
    }
    if distinct_bytes(buf) < min_distinct {
        return Some("too few distinct byte values for random data");
    }
    // Counters and ramps have many distinct values but few distinct steps.
    let steps: Vec<u8> = buf.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    if distinct_bytes(&steps) < min_distinct / 2 {
        return Some("a regular pattern, not random data");
    }
    None
}

/// Whether the client's first payload looks like a Noise NX initiator message: exactly 64
/// high-entropy bytes that are not TLS, JSON, SSH or text.
pub fn is_noise_client_hello(payload: &[u8]) -> bool {
    payload.len() == NOISE_CLIENT_HELLO_LEN && not_random_reason(payload, 44).is_none()
}

/// Whether the server's first payload looks like the Noise NX responder message: exactly 234
/// (reference implementation) or 170 (spec text) high-entropy bytes.
pub fn is_noise_server_reply(payload: &[u8]) -> bool {
    let min_distinct = match payload.len() {
        NOISE_SERVER_REPLY_LEN => 110,
        NOISE_SERVER_REPLY_LEN_SPEC => 90,
        _ => return false,
    };
    not_random_reason(payload, min_distinct).is_none()
}

/// Whether a payload after the handshake can be an encrypted SV2 transport message: an
/// encrypted header (22 bytes) and at least an encrypted empty payload (16-byte MAC).
pub fn is_noise_transport_message(payload: &[u8]) -> bool {
    payload.len() >= NOISE_ENCRYPTED_HEADER_LEN + MAC_LEN
        && not_random_reason(payload, 20).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn str0(s: &str) -> Vec<u8> {
        let mut v = vec![s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    pub(crate) fn setup_connection_payload() -> Vec<u8> {
        let mut p = vec![0u8]; // mining
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&2u16.to_le_bytes());
        p.extend_from_slice(&1u32.to_le_bytes());
        p.extend(str0("pool.example"));
        p.extend_from_slice(&34254u16.to_le_bytes());
        p.extend(str0("Bitmain"));
        p.extend(str0("S19"));
        p.extend(str0("braiins-os-2024"));
        p.extend(str0("rig-7"));
        p
    }

    fn frame(ext: u16, ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = ext.to_le_bytes().to_vec();
        f.push(ty);
        f.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn setup_connection_round_trip() {
        let raw = frame(0, 0, &setup_connection_payload());
        assert_eq!(&raw[..3], &[0, 0, 0]);
        assert_eq!(
            &raw[6..11],
            &[0, 2, 0, 2, 0],
            "the documented plain-text prefix"
        );
        let Ok(Parsed::Done(f)) = parse_frame(&raw) else {
            panic!()
        };
        assert_eq!(f.header.msg_type, MessageType::SETUP_CONNECTION);
        assert!(!f.header.channel_msg);
        let m = parse_setup_connection(f.payload).unwrap();
        assert_eq!(m.protocol, SetupConnection::PROTOCOL_MINING);
        assert_eq!((m.min_version, m.max_version, m.flags), (2, 2, 1));
        assert_eq!(m.endpoint_host, "pool.example");
        assert_eq!(m.endpoint_port, 34254);
        assert_eq!(m.vendor, "Bitmain");
        assert_eq!(m.hardware_version, "S19");
        assert_eq!(m.firmware, "braiins-os-2024");
        assert_eq!(m.device_id, "rig-7");
        for cut in 0..raw.len() {
            assert!(matches!(
                parse_frame(&raw[..cut]),
                Ok(Parsed::Incomplete { .. })
            ));
        }
        let payload = setup_connection_payload();
        for cut in 0..payload.len() {
            assert!(parse_setup_connection(&payload[..cut]).is_err());
        }
        let mut long = payload.clone();
        long.push(0);
        assert!(matches!(
            parse_setup_connection(&long),
            Err(Sv2Error::TrailingBytes { extra: 1, .. })
        ));
    }

    #[test]
    fn open_standard_mining_channel() {
        let mut p = 7u32.to_le_bytes().to_vec();
        p.extend(str0("bc1qexample.worker1"));
        p.extend_from_slice(&1.0e14f32.to_le_bytes());
        p.extend_from_slice(&[0xff; 32]);
        let m = parse_open_standard_mining_channel(&p).unwrap();
        assert_eq!(m.request_id, 7);
        assert_eq!(m.user_identity, "bc1qexample.worker1");
        assert_eq!(m.nominal_hash_rate, 1.0e14);
        assert_eq!(m.max_target, [0xff; 32]);
        assert!(parse_open_standard_mining_channel(&p[..p.len() - 1]).is_err());
    }

    #[test]
    fn channel_bit_and_length_limits() {
        let raw = frame(0x8000, 0x15, &[1, 2, 3]);
        let h = parse_header(&raw).unwrap();
        assert!(h.channel_msg);
        assert_eq!(h.extension_type, 0);
        assert_eq!(h.msg_type.name(), Some("NewMiningJob"));
        assert_eq!(h.msg_length, 3);
        assert!(matches!(
            parse_frame(&[0, 0, 0, 0xff, 0xff, 0xff]),
            Err(Sv2Error::TooLarge { .. })
        ));
        let ok = frame(0, 1, &[2, 0, 0, 0, 0, 0]);
        let Ok(Parsed::Done(f)) = parse_frame(&ok) else {
            panic!()
        };
        assert_eq!(
            parse_setup_connection_success(f.payload).unwrap(),
            SetupConnectionSuccess {
                used_version: 2,
                flags: 0
            }
        );
        let mut err = 0u32.to_le_bytes().to_vec();
        err.extend(str0("unsupported-protocol"));
        assert_eq!(
            parse_setup_connection_error(&err).unwrap(),
            "unsupported-protocol"
        );
    }

    /// Deterministic pseudo-random bytes (xorshift), standing in for keys and ciphertext.
    pub(crate) fn noise_bytes(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn noise_shape_accepts_random_and_rejects_structure() {
        for seed in 1..200 {
            assert!(is_noise_client_hello(&noise_bytes(seed, 64)), "seed {seed}");
            assert!(
                is_noise_server_reply(&noise_bytes(seed, 234)),
                "seed {seed}"
            );
            assert!(is_noise_server_reply(&noise_bytes(seed, 170)));
        }
        assert!(!is_noise_client_hello(&noise_bytes(1, 63)));
        assert!(!is_noise_client_hello(&noise_bytes(1, 65)));
        assert!(!is_noise_server_reply(&noise_bytes(1, 233)));
        let mut tls = noise_bytes(3, 64);
        tls[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
        assert!(!is_noise_client_hello(&tls));
        let ssh = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5\r\n0123456789abcdefghijkl\r\n";
        assert!(!is_noise_client_hello(&ssh[..64]));
        assert!(!is_noise_client_hello(&[0u8; 64]));
        let json = br#"{"id":1,"method":"mining.subscribe","params":["cgminer/4.11.1"]}"#;
        assert!(!is_noise_client_hello(&json[..64]));
        let counter: Vec<u8> = (0..64).collect();
        assert!(!is_noise_client_hello(&counter));
    }
}
