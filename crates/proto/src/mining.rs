//! One newline-delimited JSON mining message, parsed into a typed [`MiningMessage`].
//!
//! Every JSON dialect miners speak is recognised: Stratum V1 (with its extensions and the
//! Equihash `mining.set_target` variant), EthereumStratum/1.0.0 and 2.0.0, EthProxy (`eth_*`, with
//! work pushes as `{"id":0,"result":[...]}`), KawPow, CryptoNote/XMRig (`login`, `job`, `submit`,
//! `keepalived`, `getjob`), Grin, Beam and the Kaspa stratum bridge. The method name alone never
//! decides: each message's parameter *shapes* are checked (counts, hex fields, object keys), so a
//! generic JSON-RPC call with a familiar method name parses as [`Payload::Unrecognised`].
//!
//! ```
//! use minetrace_proto::mining::{parse_line, Payload, SubmitShape};
//! let m = parse_line(br#"{"id":4,"method":"mining.submit","params":["w.1","1f","00000001","5f5e1000","9a8b7c6d"]}"#).unwrap();
//! match m.payload {
//!     Payload::Submit(s) => assert!(matches!(s.shape, SubmitShape::Bitcoin { version_bits: false })),
//!     other => panic!("{other:?}"),
//! }
//! let benign = parse_line(br#"{"jsonrpc":"2.0","method":"getblockcount","params":[],"id":1}"#).unwrap();
//! assert!(!benign.is_mining());
//! ```

mod json;
mod shapes;

use bumpalo::Bump;
use json::{Json, Obj};
use std::borrow::Cow;

pub use shapes::{hex_to_f64, is_hex};

/// Longest line accepted (Equihash submits are about 2.8 KB; nothing legitimate comes near).
pub const MAX_LINE: usize = 64 * 1024;
/// Longest string kept from a message (ids, agents, logins); longer ones are cut.
pub const MAX_FIELD: usize = 256;
/// Most algorithm names kept from a login's `algo` list.
pub const MAX_ALGOS: usize = 32;

/// Why a line is not a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MiningParseError {
    #[error("line of {len} bytes exceeds the {max}-byte limit")]
    TooLong { len: usize, max: usize },
    #[error("empty line")]
    Empty,
    #[error("not a JSON object (first byte {first:#04x})")]
    NotObject { first: u8 },
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
}

/// A JSON-RPC id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RpcId {
    Null,
    Number(i64),
    Text(String),
}

impl RpcId {
    fn from_json(v: &Json<'_>) -> Option<RpcId> {
        match v {
            Json::Null => Some(RpcId::Null),
            Json::Number(_) => v
                .as_i64()
                .map(RpcId::Number)
                .or_else(|| Some(RpcId::Text(bounded(&v.to_string())))),
            Json::String(s) => Some(RpcId::Text(bounded(s))),
            _ => None,
        }
    }
}

/// A method name as sent: an open newtype, so unknown methods still parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Method(pub Cow<'static, str>);

/// Method names sent on (nearly) every line of a session: held as static strings, not copied.
const FREQUENT_METHODS: &[&str] = &[
    "mining.notify",
    "mining.submit",
    "mining.set_difficulty",
    "mining.set_target",
    "mining.subscribe",
    "mining.authorize",
    "mining.set",
    "mining.hashrate",
    "job",
    "submit",
    "login",
    "keepalived",
    "getjob",
    "eth_getWork",
    "eth_submitWork",
    "eth_submitHashrate",
    "eth_submitLogin",
];

impl Method {
    /// The name, cut to [`MAX_FIELD`] bytes.
    pub fn new(name: &str) -> Self {
        match FREQUENT_METHODS.iter().find(|m| **m == name) {
            Some(m) => Method(Cow::Borrowed(m)),
            None => Method(Cow::Owned(bounded(name))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A parsed message: envelope plus typed payload.
#[derive(Debug, Clone, PartialEq)]
pub struct MiningMessage {
    /// `None` when the object has no `id` key.
    pub id: Option<RpcId>,
    pub jsonrpc: Option<Cow<'static, str>>,
    pub method: Option<Method>,
    /// EthProxy's top-level `"worker"` field.
    pub worker: Option<String>,
    pub payload: Payload,
}

impl MiningMessage {
    /// True when the payload is a recognised mining message (not [`Payload::Unrecognised`],
    /// and not a bare response whose meaning depends on the request it answers).
    pub fn is_mining(&self) -> bool {
        match &self.payload {
            Payload::Unrecognised => false,
            Payload::Response(r) => r.result.is_mining_specific(),
            _ => true,
        }
    }

    /// Which side sends this kind of message.
    pub fn sender_role(&self) -> Role {
        self.payload.sender_role()
    }
}

/// Which end of a mining session sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The miner.
    Client,
    /// The pool (or proxy).
    Pool,
    /// A response: the side is the opposite of whoever sent the request.
    Responder,
    Unknown,
}

/// `mining.subscribe` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscribe {
    pub agent: Option<String>,
    pub session_id: Option<String>,
    /// `EthereumStratum/1.0.0` and friends, when announced.
    pub protocol: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
}

/// What a `mining.submit`'s parameters look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitShape {
    /// `[worker, job_id, extranonce2, ntime, nonce(, version_bits)]`.
    Bitcoin { version_bits: bool },
    /// `[worker, job_id, ntime, nonce2, solution]` with a long hex solution.
    Equihash { solution_hex_len: usize },
    /// `[worker, job_id, nonce]` (EthereumStratum/1.0.0, Kaspa) or `[job_id, nonce, worker]` (2.0.0).
    ThreeStrings,
    /// `[worker, job_id, "0x"+16 nonce, "0x"+64 header, "0x"+64 mix]`.
    KawPow,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    pub worker: String,
    pub job_id: String,
    pub shape: SubmitShape,
}

/// What a `mining.notify`'s parameters look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyShape {
    /// 9 elements: `[job_id, prevhash, coinb1, coinb2, [merkle...], version, nbits, ntime, clean]`.
    Bitcoin,
    /// 8 elements: `[job_id, version, prevhash, merkleroot, reserved, time, bits, clean]`.
    Equihash,
    /// 4 elements: `[job_id, seedhash|block, headerhash, clean]` (EthereumStratum 1.0.0/2.0.0).
    EthStratum,
    /// 7 elements: `[job_id, header, seed, target, clean, height, bits]`.
    KawPow,
    /// `[job_id, [u64;4], timestamp]` or `[job_id, "<header hex>"]` (kaspa-stratum-bridge).
    Kaspa,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub job_id: String,
    pub shape: NotifyShape,
    pub clean: Option<bool>,
    /// The share target carried in the job (KawPow), when present.
    pub target: Option<String>,
}

/// A CryptoNote job (`job` push, login result, `getjob` result).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CnJob {
    pub job_id: String,
    pub blob_hex_len: usize,
    /// Hex target (4 or 8 bytes, little-endian).
    pub target: String,
    pub algo: Option<String>,
    pub height: Option<u64>,
    pub seed_hash: Option<String>,
}

/// A JSON-object login (CryptoNote/XMRig, Grin).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Login {
    pub login: String,
    pub pass: Option<String>,
    pub agent: Option<String>,
    pub rigid: Option<String>,
    pub algos: Vec<String>,
}

/// EthereumStratum/2.0.0 `mining.hello`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hello {
    pub agent: Option<String>,
    pub host: Option<String>,
    pub port: Option<String>,
    pub proto: Option<String>,
}

/// A JSON-RPC error as pools send it: `[code, "message", tb]` or `{"code":..,"message":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: Option<i64>,
    pub message: String,
}

impl RpcError {
    /// Stratum V1 error codes 20-25.
    pub fn stratum_meaning(&self) -> Option<&'static str> {
        Some(match self.code? {
            20 => "other/unknown",
            21 => "job not found (stale)",
            22 => "duplicate share",
            23 => "low difficulty share",
            24 => "unauthorized worker",
            25 => "not subscribed",
            _ => return None,
        })
    }
}

/// The shape of a response's `result`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResultShape {
    Absent,
    Null,
    Bool(bool),
    /// A `mining.subscribe` result in any of its dialect forms.
    Subscribe {
        extranonce1: Option<String>,
        extranonce2_size: Option<u64>,
        protocol: Option<String>,
    },
    /// EthProxy work: `["0x<header>","0x<seed>","0x<target>"(, ...)]`.
    EthWork {
        header: String,
        target: String,
    },
    /// CryptoNote login result: `{id, job, status}`.
    CnLogin {
        session_id: String,
        job: Option<Box<CnJob>>,
        status: Option<String>,
    },
    /// `{"status":"OK"}` / `{"status":"KEEPALIVED"}`.
    CnStatus(Cow<'static, str>),
    /// `getjob` result: a bare job.
    CnJob(Box<CnJob>),
    /// Grin `getjobtemplate` result: the job to work on.
    GrinJob {
        job_id: String,
        difficulty: Option<f64>,
    },
    /// EthereumStratum/2.0.0 hello result `{proto, ...}`.
    Hello {
        proto: String,
    },
    Text(String),
    Other,
}

impl ResultShape {
    /// True for result shapes only a mining pool produces.
    pub fn is_mining_specific(&self) -> bool {
        matches!(
            self,
            ResultShape::Subscribe { .. }
                | ResultShape::EthWork { .. }
                | ResultShape::CnLogin { .. }
                | ResultShape::CnJob(_)
                | ResultShape::GrinJob { .. }
                | ResultShape::Hello { .. }
        ) || matches!(self, ResultShape::CnStatus(s) if s == "KEEPALIVED")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub result: ResultShape,
    pub error: Option<RpcError>,
}

impl Response {
    /// True when the response accepts what it answers (`true`, `status: OK`, `"ok"`, no error).
    pub fn accepted(&self) -> bool {
        if self.error.is_some() {
            return false;
        }
        match &self.result {
            ResultShape::Bool(b) => *b,
            ResultShape::CnStatus(s) => s.eq_ignore_ascii_case("OK"),
            ResultShape::Text(s) => s.eq_ignore_ascii_case("ok") || s == "accepted",
            _ => false,
        }
    }
}

/// The typed content of a message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    // ---- client -> pool (Stratum family) ----
    Subscribe(Subscribe),
    Authorize {
        login: String,
        password: Option<String>,
    },
    Submit(Submit),
    /// `mining.configure`, `mining.extranonce.subscribe`, `mining.suggest_difficulty`,
    /// `mining.suggest_target`, `mining.get_transactions`, `mining.multi_version`.
    ClientExtension,
    /// EthereumStratum/2.0.0 `mining.hello`.
    Hello(Hello),
    /// `mining.hashrate` / `eth_submitHashrate`: the miner's own figure.
    ReportHashrate {
        hashes_per_second: Option<f64>,
    },
    // ---- pool -> client (Stratum family) ----
    SetDifficulty {
        difficulty: f64,
    },
    SetTarget {
        target: String,
    },
    SetExtranonce {
        extranonce1: String,
        size: Option<u64>,
    },
    SetVersionMask,
    Notify(Notify),
    /// EthereumStratum/2.0.0 `mining.set {epoch, target, algo, extranonce}`.
    MiningSet {
        target: Option<String>,
        algo: Option<String>,
        extranonce: Option<String>,
    },
    /// `client.reconnect`, `client.show_message`, `client.get_version`, `mining.ping`.
    PoolControl,
    // ---- EthProxy ----
    EthSubmitLogin {
        login: String,
        password: Option<String>,
    },
    EthGetWork,
    EthSubmitWork,
    // ---- CryptoNote / XMRig (and Grin's login) ----
    // (Boxed: the largest payloads, and every message moves by value.)
    Login(Box<Login>),
    CnJob(Box<CnJob>),
    CnSubmit {
        job_id: String,
        algo: Option<String>,
    },
    CnKeepalive,
    CnGetJob,
    // ---- Grin ----
    GrinGetJobTemplate,
    GrinJob {
        job_id: String,
        difficulty: Option<f64>,
        height: Option<u64>,
    },
    GrinSubmit {
        job_id: String,
    },
    // ---- Beam ----
    BeamLogin,
    BeamJob {
        job_id: String,
        difficulty: Option<f64>,
        height: Option<u64>,
    },
    BeamSolution {
        job_id: String,
    },
    BeamResult {
        code: Option<i64>,
        description: Option<String>,
    },
    // ---- getwork over raw JSON ----
    GetWork,
    GetBlockTemplate,
    SubmitBlock,
    // ---- responses ----
    Response(Response),
    /// A JSON object that is not a recognised mining message.
    Unrecognised,
}

impl Payload {
    pub fn sender_role(&self) -> Role {
        use Payload::*;
        match self {
            Subscribe(_)
            | Authorize { .. }
            | Submit(_)
            | ClientExtension
            | Hello(_)
            | ReportHashrate { .. }
            | EthSubmitLogin { .. }
            | EthGetWork
            | EthSubmitWork
            | Login(_)
            | CnSubmit { .. }
            | CnKeepalive
            | CnGetJob
            | GrinGetJobTemplate
            | GrinSubmit { .. }
            | BeamLogin
            | BeamSolution { .. }
            | GetWork
            | GetBlockTemplate
            | SubmitBlock => Role::Client,
            SetDifficulty { .. }
            | SetTarget { .. }
            | SetExtranonce { .. }
            | SetVersionMask
            | Notify(_)
            | MiningSet { .. }
            | PoolControl
            | CnJob(_)
            | GrinJob { .. }
            | BeamJob { .. }
            | BeamResult { .. } => Role::Pool,
            Response(r) => match r.result {
                // EthProxy pushes new work as an id-0 "response" nobody asked for.
                ResultShape::EthWork { .. } => Role::Pool,
                _ => Role::Responder,
            },
            Unrecognised => Role::Unknown,
        }
    }
}

/// Parses one line (without or with its trailing newline). Leading NUL bytes and whitespace
/// are skipped: some miners send a lone `\0` as keep-alive.
pub fn parse_line(line: &[u8]) -> Result<MiningMessage, MiningParseError> {
    if line.len() > MAX_LINE {
        return Err(MiningParseError::TooLong {
            len: line.len(),
            max: MAX_LINE,
        });
    }
    let start = line
        .iter()
        .position(|&b| !(b == 0 || b.is_ascii_whitespace()))
        .ok_or(MiningParseError::Empty)?;
    let end = line
        .iter()
        .rposition(|&b| !(b == 0 || b.is_ascii_whitespace()))
        .map(|e| e + 1)
        .unwrap_or(line.len());
    let body = line.get(start..end).ok_or(MiningParseError::Empty)?;
    let first = body.first().copied().unwrap_or(0);
    if first != b'{' {
        return Err(MiningParseError::NotObject { first });
    }
    ARENA.with_borrow_mut(|arena| {
        // The tree of one line at a time: what it allocated is reused for the next line, and an
        // arena a huge line grew is given back.
        if arena.allocated_bytes() > ARENA_KEPT {
            *arena = Bump::new();
        } else {
            arena.reset();
        }
        let value = json::parse(body, arena).map_err(|e| MiningParseError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let Json::Object(obj) = value else {
            return Err(MiningParseError::NotObject { first });
        };
        Ok(classify(&obj))
    })
}

thread_local! {
    /// Where the JSON tree of the line being parsed lives (see [`json`]).
    static ARENA: std::cell::RefCell<Bump> = std::cell::RefCell::new(Bump::new());
}

/// Arena bytes kept between lines (a line of mining JSON needs a few kilobytes; a
/// [`MAX_LINE`] line of tiny values can need a few megabytes once).
const ARENA_KEPT: usize = 256 * 1024;

fn classify(obj: &Obj<'_>) -> MiningMessage {
    let id = obj.get("id").and_then(RpcId::from_json);
    // "2.0" on nearly every line of JSON-RPC 2.0 dialects: not copied.
    let jsonrpc = obj.get("jsonrpc").and_then(Json::as_str).map(|v| match v {
        "2.0" => Cow::Borrowed("2.0"),
        other => Cow::Owned(bounded(other)),
    });
    let method_name = obj.get("method").and_then(Json::as_str);
    let worker = obj.get("worker").and_then(Json::as_str).map(bounded);
    let has_result = obj.contains_key("result") || obj.contains_key("error");
    let params = obj.get("params");
    // Grin echoes the method in its responses: a result without params is a response.
    let payload = match method_name {
        Some(m) if !(has_result && params.is_none() && m != "result") => {
            shapes::request(m, params, obj)
        }
        _ if has_result => Payload::Response(shapes::response(obj)),
        _ => Payload::Unrecognised,
    };
    MiningMessage {
        id,
        jsonrpc,
        method: method_name.map(Method::new),
        worker,
        payload,
    }
}

/// Differential check for fuzzing: panics unless the fast JSON reader behind [`parse_line`]
/// gives serde_json's tree or serde_json's error for `text`. Not part of the API.
#[doc(hidden)]
pub fn fuzz_check_json_reader(text: &[u8]) {
    if text.len() <= MAX_LINE {
        json::check_against_serde(text);
    }
}

/// Copies a string, cut to [`MAX_FIELD`] bytes on a character boundary.
pub fn bounded(s: &str) -> String {
    bounded_str(s).to_string()
}

/// The first [`MAX_FIELD`] bytes of a string, cut on a character boundary (what [`bounded`]
/// copies).
pub fn bounded_str(s: &str) -> &str {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests;
