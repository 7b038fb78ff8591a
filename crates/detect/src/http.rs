//! getwork/getblocktemplate and eth_* mining calls over HTTP, miner user agents, X-Mining headers.
//!
//! Requests are parsed with [`minetrace_proto::http::parse_head`]; JSON-RPC bodies with
//! [`minetrace_proto::mining::parse_line`], so only mining methods with mining parameter shapes
//! count. `getblocktemplate` is also what pool software asks its own node: alone, from an agent
//! that is not miner software, it stays `Low` (never reported on its own).

use crate::{Context, Detector, Direction, FlowDetector, FlowInfo, Progress, Transport};
use minetrace_core::{
    AlgorithmFamily, Confidence, Dialect, Endpoint, Finding, FindingKind, Timestamp,
};
use minetrace_proto::address::split_login;
use minetrace_proto::http::{looks_like_http, parse_head, Head, HttpError};
use minetrace_proto::mining::{parse_line, Payload, ResultShape};
use serde_json::Value;
use std::collections::VecDeque;

/// Bytes buffered per direction while a head or body is incomplete.
const MAX_BUFFER: usize = 64 * 1024;
/// Requests examined per flow; later ones are not parsed.
const MAX_REQUESTS: u64 = 256;
const MAX_METHODS: usize = 16;
const MAX_EVIDENCE: usize = 256;

#[derive(Debug, Default)]
pub struct HttpGetworkDetector;

impl Detector for HttpGetworkDetector {
    fn name(&self) -> &'static str {
        "http-getwork"
    }
    fn description(&self) -> &'static str {
        "getwork/getblocktemplate and eth_* mining calls over HTTP, miner user agents, X-Mining headers."
    }
    fn dialects(&self) -> &'static [Dialect] {
        &[Dialect::HttpGetwork]
    }
    fn transports(&self) -> &'static [Transport] {
        &[Transport::Tcp]
    }
    fn open(
        &self,
        flow: &FlowInfo,
        _dir: Direction,
        payload: &[u8],
        _ctx: &Context,
    ) -> Option<Box<dyn FlowDetector>> {
        (flow.transport == Transport::Tcp && could_start_http(payload))
            .then(|| Box::new(HttpFlow::default()) as Box<dyn FlowDetector>)
    }
}

/// What a request asked, so its response can be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Work,
    Submit,
    Other,
}

#[derive(Debug, Default)]
struct HttpFlow {
    bufs: [Vec<u8>; 2],
    overflow: [bool; 2],
    client_dir: Option<Direction>,
    requests: u64,
    strong_calls: u64,
    template_calls: u64,
    methods: Vec<String>,
    user_agent: Option<String>,
    miner_agent: Option<String>,
    mining_header: Option<String>,
    x_stratum: Option<String>,
    host: Option<String>,
    basic_user: Option<String>,
    eth: bool,
    pending: VecDeque<Asked>,
    jobs: u64,
    submitted: u64,
    accepted: u64,
    rejected: u64,
    reported_hps: Option<f64>,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
}

fn cut(s: &str) -> String {
    s.chars().take(MAX_EVIDENCE).collect()
}

impl HttpFlow {
    fn seen(&mut self, ts: Timestamp) {
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
    }

    fn method(&mut self, m: &str) {
        if self.methods.len() < MAX_METHODS && !self.methods.iter().any(|x| x == m) {
            self.methods.push(cut(m));
        }
    }

    /// Parses as many complete messages as the direction's buffer holds.
    fn drain(&mut self, dir: Direction, ts: Timestamp, ctx: &Context) {
        let i = dir.index();
        loop {
            let buf = std::mem::take(&mut self.bufs[i]);
            let consumed = match parse_head(&buf) {
                Ok(Head::Request(req)) => {
                    let need = req.head_len + req.content_length.unwrap_or(0);
                    if req.content_length.is_some() && req.body.is_none() {
                        // Body still arriving.
                        if need > MAX_BUFFER {
                            self.on_request_head(dir, ts, &req, ctx);
                            self.overflow[i] = true;
                            0
                        } else {
                            self.bufs[i] = buf;
                            return;
                        }
                    } else {
                        self.on_request_head(dir, ts, &req, ctx);
                        self.on_request_body(ts, req.body.unwrap_or_default());
                        need.min(buf.len())
                    }
                }
                Ok(Head::Status(st)) => {
                    let need = st.head_len + st.content_length.unwrap_or(0);
                    if st.content_length.is_some() && st.body.is_none() && need <= MAX_BUFFER {
                        self.bufs[i] = buf;
                        return;
                    }
                    self.on_response(ts, &st);
                    if st.content_length.is_none() {
                        buf.len()
                    } else {
                        need.min(buf.len())
                    }
                }
                Err(HttpError::NotHttp) if buf.len() < 8 && could_start_http(&buf) => {
                    self.bufs[i] = buf;
                    return;
                }
                Err(HttpError::Incomplete { .. }) if buf.len() < MAX_BUFFER => {
                    self.bufs[i] = buf;
                    return;
                }
                Err(_) => {
                    // Not at a message start (mid-stream or garbage): give this direction up.
                    self.overflow[i] = true;
                    0
                }
            };
            if self.overflow[i] || consumed == 0 {
                return;
            }
            self.bufs[i] = buf.get(consumed..).unwrap_or_default().to_vec();
            if self.bufs[i].is_empty() || self.requests >= MAX_REQUESTS {
                return;
            }
        }
    }

    fn on_request_head(
        &mut self,
        dir: Direction,
        ts: Timestamp,
        req: &minetrace_proto::http::Request<'_>,
        ctx: &Context,
    ) {
        self.client_dir.get_or_insert(dir);
        self.requests += 1;
        if let Some(ua) = req.header("user-agent") {
            if self.user_agent.is_none() {
                self.user_agent = Some(cut(ua));
            }
            if self.miner_agent.is_none() && ctx.intel.miner_agent(ua).is_some() {
                self.miner_agent = Some(cut(ua));
                self.seen(ts);
            }
        }
        for h in ["x-mining-extensions", "x-mining-hashrate"] {
            if let Some(v) = req.header(h) {
                self.mining_header
                    .get_or_insert_with(|| cut(&format!("{h}: {v}")));
                self.seen(ts);
            }
        }
        if let Some(host) = req.header("host") {
            self.host
                .get_or_insert_with(|| cut(host_without_port(host)));
        }
        if let Some(user) = req.header("authorization").and_then(basic_user) {
            self.basic_user.get_or_insert_with(|| cut(&user));
        }
    }

    fn on_request_body(&mut self, ts: Timestamp, body: &[u8]) {
        let asked = match parse_line(body).map(|m| (m.method.map(|m| m.0), m.payload)) {
            Ok((Some(name), payload)) => {
                let asked = match &payload {
                    Payload::GetWork => {
                        self.strong_calls += 1;
                        // getwork with a data parameter submits a solved header.
                        if body_has_params(body) {
                            self.submitted += 1;
                            Asked::Submit
                        } else {
                            Asked::Work
                        }
                    }
                    Payload::EthGetWork => {
                        self.strong_calls += 1;
                        self.eth = true;
                        Asked::Work
                    }
                    Payload::EthSubmitWork => {
                        self.strong_calls += 1;
                        self.eth = true;
                        self.submitted += 1;
                        Asked::Submit
                    }
                    Payload::EthSubmitLogin { login, .. } => {
                        self.strong_calls += 1;
                        self.eth = true;
                        self.basic_user.get_or_insert_with(|| cut(login));
                        Asked::Other
                    }
                    Payload::ReportHashrate { hashes_per_second } => {
                        self.strong_calls += 1;
                        self.eth = true;
                        self.reported_hps = *hashes_per_second;
                        Asked::Other
                    }
                    Payload::GetBlockTemplate => {
                        self.template_calls += 1;
                        Asked::Work
                    }
                    Payload::SubmitBlock => {
                        self.template_calls += 1;
                        self.submitted += 1;
                        Asked::Submit
                    }
                    _ => {
                        self.pending.push_back(Asked::Other);
                        return;
                    }
                };
                self.method(&name);
                self.seen(ts);
                asked
            }
            _ => Asked::Other,
        };
        self.pending.push_back(asked);
        while self.pending.len() > 64 {
            self.pending.pop_front();
        }
    }

    fn on_response(&mut self, ts: Timestamp, st: &minetrace_proto::http::Status<'_>) {
        let asked = self.pending.pop_front().unwrap_or(Asked::Other);
        if let Some(v) = st.header("x-stratum") {
            self.x_stratum.get_or_insert_with(|| cut(v));
            self.seen(ts);
        }
        let Some(body) = st.body else { return };
        let Ok(msg) = parse_line(body) else { return };
        let Payload::Response(resp) = msg.payload else {
            return;
        };
        match (asked, &resp.result) {
            (_, ResultShape::EthWork { .. }) => {
                self.jobs += 1;
                self.seen(ts);
            }
            (Asked::Work, _) if resp.error.is_none() && getwork_result(body) => {
                self.jobs += 1;
                self.seen(ts);
            }
            (Asked::Submit, _) => {
                // submitblock answers null on success; getwork/eth_submitWork answer true.
                if resp.error.is_none()
                    && matches!(resp.result, ResultShape::Bool(true) | ResultShape::Null)
                {
                    self.accepted += 1;
                } else {
                    self.rejected += 1;
                }
                self.seen(ts);
            }
            _ => {}
        }
    }

    fn finding(&self, flow: &FlowInfo, ctx: &Context) -> Option<Finding> {
        let strong = self.strong_calls > 0;
        let template = self.template_calls > 0;
        let agent = self.miner_agent.is_some();
        let header = self.mining_header.is_some() || self.x_stratum.is_some();
        let pool_confirms = self.jobs > 0 || self.accepted > 0 || self.x_stratum.is_some();
        let confirmed = (strong && (agent || header || pool_confirms))
            || (template && agent && header && pool_confirms);
        let confidence = if confirmed {
            Confidence::High
        } else if strong || (template && (agent || header)) || (agent && header) {
            Confidence::Medium
        } else if template {
            Confidence::Low
        } else {
            return None;
        };
        let client_dir = self.client_dir.unwrap_or(Direction::AtoB);
        let mut f = Finding::new(
            "http-getwork",
            FindingKind::Network,
            self.first_ts.unwrap_or(flow.first_seen),
        );
        f.seen_at(self.last_ts.unwrap_or(flow.last_seen));
        f.dialect = Some(Dialect::HttpGetwork);
        f.source = ctx.source.clone();
        f.source.packet = None;
        f.client = Some(Endpoint::from(flow.sender(client_dir)));
        f.server = Some(Endpoint::from(flow.receiver(client_dir)));
        f.transport = Some("tcp".into());
        f.confidence = confidence;
        if !self.methods.is_empty() {
            f.reason(format!(
                "client POSTed JSON-RPC {} over HTTP",
                self.methods.join(", ")
            ));
        }
        if let Some(ua) = &self.miner_agent {
            f.reason(format!("User-Agent names miner software: {ua}"));
        }
        if let Some(h) = &self.mining_header {
            f.reason(format!("request carries the miner header {h}"));
        }
        if let Some(x) = &self.x_stratum {
            f.reason(format!("server redirects miners with X-Stratum: {x}"));
        }
        if self.jobs > 0 {
            f.reason(format!("server handed out work {} time(s)", self.jobs));
        }
        if self.submitted > 0 {
            f.reason(format!(
                "{} solution(s) submitted, {} accepted",
                self.submitted, self.accepted
            ));
        }
        if template && !strong && !agent {
            f.reason(
                "getblocktemplate is also used by pool software talking to its own node: weak alone",
            );
        }
        let e = &mut f.evidence;
        e.http_user_agent = self.user_agent.clone();
        e.agent = self.miner_agent.clone();
        e.pool_host = self.host.clone();
        e.methods = self.methods.clone();
        e.jobs = self.jobs;
        e.shares_submitted = self.submitted;
        e.shares_accepted = self.accepted;
        e.shares_rejected = self.rejected;
        if let Some(user) = &self.basic_user {
            let parts = split_login(user);
            e.login = Some(user.clone());
            e.worker = parts.worker.map(|w| cut(&w));
            if let Some(w) = parts.wallet {
                e.coin = w.coin.clone();
                e.wallet = Some(w);
            }
        }
        // The pool's coin, when the server's X-Stratum redirect or the Host header the client
        // asked for names a pool of one (the server's own word first).
        if e.coin.is_none() {
            e.coin = [
                self.x_stratum.as_deref().and_then(url_host),
                self.host.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter_map(|h| ctx.intel.match_domain(h))
            .find_map(|m| m.single_coin().map(str::to_string));
        }
        // getwork served Bitcoin and Litecoin alike, and names neither.
        let (family, assumed) = if self.eth {
            (AlgorithmFamily::EthashProxy, false)
        } else {
            crate::bitcoin_style_family(e.coin.as_deref())
        };
        e.algorithm_family = Some(family);
        e.algorithm = match family {
            AlgorithmFamily::EthashProxy => Some("ethash".into()),
            AlgorithmFamily::Scrypt => Some("scrypt".into()),
            _ => None,
        };
        if assumed {
            e.extra
                .insert("algorithm_family_assumed".into(), Value::Bool(true));
        }
        if let Some(x) = &self.x_stratum {
            e.extra.insert("x_stratum".into(), Value::String(x.clone()));
        }
        if let Some(h) = self.reported_hps {
            e.hashrate = minetrace_estimate::hashrate::reported_hashrate(h, "eth_submitHashrate");
        }
        Some(f)
    }
}

/// The host of a URL such as `stratum+tcp://litecoinpool.org:3333` (an X-Stratum redirect).
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    (!host.is_empty()).then_some(host)
}

/// An HTTP start line, or a chunk so short it could be the beginning of one.
fn could_start_http(payload: &[u8]) -> bool {
    const STARTS: &[&[u8]] = &[b"POST ", b"GET ", b"PUT ", b"HTTP/1."];
    looks_like_http(payload)
        || (!payload.is_empty()
            && payload.len() < 8
            && STARTS
                .iter()
                .any(|s| s.starts_with(payload) || payload.starts_with(s)))
}

fn body_has_params(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("params")
                .and_then(Value::as_array)
                .map(|a| !a.is_empty())
        })
        .unwrap_or(false)
}

/// A getwork result: `{"data": "...", "target": "...", ...}`.
fn getwork_result(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| {
            v.get("result").and_then(Value::as_object).map(|r| {
                r.get("data").is_some_and(Value::is_string)
                    && r.get("target").is_some_and(Value::is_string)
            })
        })
        .unwrap_or(false)
}

fn host_without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map(|(h, _)| h.trim_start_matches('['))
            .unwrap_or(host);
    }
    host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
}

/// The user name of an `Authorization: Basic` header (getwork pools take the login there).
fn basic_user(value: &str) -> Option<String> {
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(token.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map(|(u, _)| u).unwrap_or(&text);
    (!user.is_empty()).then(|| user.to_string())
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() > 1024 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

impl FlowDetector for HttpFlow {
    fn on_data(
        &mut self,
        _flow: &FlowInfo,
        dir: Direction,
        ts: Timestamp,
        data: &[u8],
        ctx: &mut Context,
    ) -> Progress {
        let i = dir.index();
        if self.overflow[i] {
            return if self.overflow.iter().all(|o| *o) {
                Progress::Done
            } else {
                Progress::Continue
            };
        }
        if self.bufs[i].len() + data.len() > MAX_BUFFER {
            let room = MAX_BUFFER.saturating_sub(self.bufs[i].len());
            self.bufs[i].extend_from_slice(data.get(..room).unwrap_or_default());
        } else {
            self.bufs[i].extend_from_slice(data);
        }
        self.drain(dir, ts, ctx);
        if self.requests >= MAX_REQUESTS {
            return Progress::Done;
        }
        Progress::Continue
    }

    fn on_gap(&mut self, dir: Direction, _bytes: u64) {
        let i = dir.index();
        self.bufs[i] = Vec::new();
        self.overflow[i] = true;
    }

    fn on_close(mut self: Box<Self>, flow: &FlowInfo, ctx: &mut Context) -> Vec<Finding> {
        // A request whose body never came (the server closed first) still showed its head:
        // the miner's user agent and mining headers are evidence on their own.
        for dir in [Direction::AtoB, Direction::BtoA] {
            let buf = std::mem::take(&mut self.bufs[dir.index()]);
            if let Ok(Head::Request(req)) = parse_head(&buf) {
                self.on_request_head(dir, flow.last_seen, &req, ctx);
            }
        }
        self.finding(flow, ctx).into_iter().collect()
    }

    fn memory(&self) -> usize {
        self.bufs.iter().map(Vec::capacity).sum::<usize>() + 4096
    }
}

#[cfg(test)]
mod tests;
