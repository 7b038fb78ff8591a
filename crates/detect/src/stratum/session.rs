//! One flow's mining session: what each side said, and the finding it adds up to.

use crate::{Context, Direction, FlowInfo};
use minetrace_core::{
    AlgorithmFamily, Confidence, Dialect, Endpoint, Finding, FindingKind, HashrateFigure,
    Timestamp, Wallet,
};
use minetrace_estimate::hashrate::{
    cryptonote_target_to_difficulty, difficulty_from_target, hashes_for_target, hashes_per_share,
    hashrate_from_shares, reported_hashrate,
};
use minetrace_proto::address::{split_login, LoginParts};
use minetrace_proto::mining::{
    parse_line, MiningMessage, NotifyShape, Payload, ResultShape, Role, RpcId, SubmitShape,
};
use serde_json::Value;
use std::collections::VecDeque;

/// Client methods that exist only in Stratum (V1 and its Ethereum variants): seeing one is a
/// miner speaking, whatever the other side does.
const STRATUM_CLIENT_METHODS: &[&str] = &[
    "mining.subscribe",
    "mining.authorize",
    "mining.submit",
    "mining.extranonce.subscribe",
    "mining.configure",
    "mining.hello",
    "eth_submitLogin",
    "eth_submitWork",
    "eth_submitHashrate",
];

/// Most method names kept per side.
const MAX_METHODS: usize = 16;
/// Most requests awaiting an answer (per flow).
const MAX_PENDING: usize = 256;
/// Most recent job ids remembered.
const MAX_JOBS: usize = 64;
/// Most distinct rejection reasons kept.
const MAX_REJECT_REASONS: usize = 4;
/// Strings copied into evidence are cut to this many bytes.
const MAX_EVIDENCE: usize = 256;

/// What a pending request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Subscribe,
    Login,
    Submit,
    Hello,
    Other,
}

/// A share's difficulty as the pool stated it, in whatever form it came.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ShareDifficulty {
    /// `mining.set_difficulty` D (family units).
    Stratum(f64),
    /// A 256-bit target: hashes = 2^256 / target.
    TargetHashes(f64),
    /// A CryptoNote difficulty (raw hashes).
    CryptoNote(f64),
}

impl ShareDifficulty {
    /// What `shares` shares of this difficulty add to the sums of Stratum difficulty (family
    /// units) and of raw hashes.
    fn sums(self, shares: f64) -> (f64, f64) {
        match self {
            ShareDifficulty::Stratum(d) => (d * shares, 0.0),
            ShareDifficulty::TargetHashes(h) | ShareDifficulty::CryptoNote(h) => (0.0, h * shares),
        }
    }
}

#[derive(Debug, Default)]
struct Side {
    client_msgs: u64,
    pool_msgs: u64,
    methods: Vec<String>,
}

impl Side {
    fn method(&mut self, name: &str) {
        if self.methods.len() < MAX_METHODS && !self.methods.iter().any(|m| m == name) {
            self.methods.push(cut(name));
        }
    }
}

/// Dialect hints gathered from message shapes.
#[derive(Debug, Default, Clone, Copy)]
struct Hints {
    bitcoin: bool,
    equihash: bool,
    eth1: bool,
    eth2: bool,
    ethproxy: bool,
    kawpow: bool,
    kaspa: bool,
    cryptonote: bool,
    grin: bool,
    beam: bool,
}

#[derive(Debug, Default)]
pub struct Session {
    sides: [Side; 2],
    hints: Hints,
    http: bool,
    mining_msgs: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    pending: VecDeque<(Direction, RpcId, Asked, Option<ShareDifficulty>)>,
    job_ids: VecDeque<String>,
    jobs: u64,
    submitted: u64,
    accepted: u64,
    rejected: u64,
    submits_on_known_job: u64,
    accepted_hashes: f64,
    accepted_stratum_difficulty: f64,
    reject_reasons: Vec<String>,
    current: Option<ShareDifficulty>,
    /// The first difficulty the pool set: shares accepted before it (a capture that starts in
    /// the middle of a session) are counted at it, since pools move difficulty slowly.
    first_difficulty: Option<ShareDifficulty>,
    /// Shares accepted before any difficulty was seen.
    accepted_unpriced: u64,
    last_difficulty_shown: Option<f64>,
    last_target: Option<String>,
    login: Option<String>,
    login_parts: Option<LoginParts>,
    login_accepted: Option<bool>,
    login_error: Option<String>,
    agent: Option<String>,
    rig_id: Option<String>,
    proxy_worker: Option<String>,
    extranonce1: Option<String>,
    pool_host: Option<String>,
    algorithm: Option<String>,
    client_algos: Vec<String>,
    reported_hps: Option<f64>,
}

// `bounded` keeps at most MAX_FIELD bytes, so at most that many characters: cutting to
// MAX_EVIDENCE characters after it changes nothing, and one copy is enough (this runs on every
// job of a session).
const _: () = assert!(MAX_EVIDENCE >= minetrace_proto::mining::MAX_FIELD);

fn cut(s: &str) -> String {
    minetrace_proto::mining::bounded(s)
}

/// Makes `buf` hold `cut(s)`, reusing its allocation.
fn recut(buf: &mut String, s: &str) {
    let s = minetrace_proto::mining::bounded_str(s);
    if buf != s {
        buf.clear();
        buf.push_str(s);
    }
}

/// Sets `slot` to `cut(s)`, reusing its buffer when it already holds a string.
fn set_cut(slot: &mut Option<String>, s: &str) {
    match slot {
        Some(old) => recut(old, s),
        None => *slot = Some(cut(s)),
    }
}

impl Session {
    /// An HTTP head makes the flow the HTTP detector's (getwork), unless Stratum was spoken
    /// first: then it is a web server answering a miner (a refused attempt), still ours.
    pub fn mark_http(&mut self) {
        if self.mining_msgs > 0 {
            return;
        }
        self.http = true;
    }

    pub fn http_seen(&self) -> bool {
        self.http
    }

    pub fn any_mining(&self) -> bool {
        self.mining_msgs > 0
    }

    pub fn memory(&self) -> usize {
        let strings: usize = self
            .sides
            .iter()
            .flat_map(|s| s.methods.iter())
            .chain(self.job_ids.iter())
            .chain(self.reject_reasons.iter())
            .chain(self.client_algos.iter())
            .map(|s| s.capacity() + 24)
            .sum();
        strings + self.pending.capacity() * 48 + 2048
    }

    pub fn on_line(&mut self, dir: Direction, ts: Timestamp, line: &[u8], ctx: &Context) {
        if minetrace_proto::http::looks_like_http(super::lines::trim_start(line)) {
            self.mark_http();
            return;
        }
        let Ok(msg) = parse_line(line) else {
            return;
        };
        self.on_message(dir, ts, msg, ctx);
    }

    fn seen(&mut self, ts: Timestamp) {
        self.mining_msgs += 1;
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
    }

    fn remember_job(&mut self, id: &str) {
        self.jobs += 1;
        if self.job_ids.len() >= MAX_JOBS {
            // The oldest id's buffer is reused for the newest.
            if let Some(mut old) = self.job_ids.pop_front() {
                recut(&mut old, id);
                self.job_ids.push_back(old);
                return;
            }
        }
        self.job_ids.push_back(cut(id));
    }

    fn ask(&mut self, dir: Direction, id: &Option<RpcId>, asked: Asked) {
        let Some(id) = id.clone() else { return };
        if id == RpcId::Null {
            return;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        let diff = (asked == Asked::Submit).then_some(self.current).flatten();
        self.pending.push_back((dir, id, asked, diff));
    }

    fn on_message(&mut self, dir: Direction, ts: Timestamp, msg: MiningMessage, ctx: &Context) {
        let side = dir.index();
        if let Payload::Response(resp) = &msg.payload {
            if matches!(resp.result, ResultShape::EthWork { .. }) {
                // EthProxy pushes work as an id-0 result; also the answer to eth_getWork.
                self.hints.ethproxy = true;
                self.seen(ts);
                self.sides[side].pool_msgs += 1;
                self.sides[side].method("eth_getWork (work)");
                if let ResultShape::EthWork { header, target } = &resp.result {
                    self.remember_job(header);
                    self.set_target_hashes(target);
                }
                self.answer(dir, &msg.id);
                return;
            }
            self.on_response(dir, ts, &msg, ctx);
            return;
        }
        // getwork/getblocktemplate/submitblock travel over HTTP: the HTTP detector's business
        // (its head may sit in a chunk this detector never saw).
        if !msg.is_mining()
            || matches!(
                msg.payload,
                Payload::GetWork | Payload::GetBlockTemplate | Payload::SubmitBlock
            )
        {
            return;
        }
        self.seen(ts);
        let role = msg.sender_role();
        match role {
            Role::Client => self.sides[side].client_msgs += 1,
            Role::Pool => self.sides[side].pool_msgs += 1,
            _ => {}
        }
        if let Some(m) = &msg.method {
            self.sides[side].method(m.as_str());
        }
        let asked = match &msg.payload {
            Payload::Subscribe(s) => {
                if let Some(a) = &s.agent {
                    self.agent.get_or_insert_with(|| cut(a));
                }
                if let Some(h) = &s.host {
                    self.pool_host.get_or_insert_with(|| cut(h));
                }
                match s.protocol.as_deref() {
                    Some(p) if p.starts_with("EthereumStratum/2") => self.hints.eth2 = true,
                    Some(p) if p.starts_with("EthereumStratum/") => self.hints.eth1 = true,
                    _ => {}
                }
                Asked::Subscribe
            }
            Payload::Authorize { login, .. } => {
                self.set_login(login);
                Asked::Login
            }
            Payload::EthSubmitLogin { login, .. } => {
                self.hints.ethproxy = true;
                self.set_login(login);
                if let Some(w) = msg.worker.as_deref().filter(|w| !w.is_empty()) {
                    self.proxy_worker = Some(cut(w));
                }
                Asked::Login
            }
            Payload::Login(l) => {
                self.set_login(&l.login);
                if let Some(a) = &l.agent {
                    self.agent.get_or_insert_with(|| cut(a));
                }
                if let Some(r) = l.rigid.as_deref().filter(|r| !r.is_empty()) {
                    self.rig_id = Some(cut(r));
                }
                if self.client_algos.is_empty() {
                    self.client_algos = l.algos.iter().take(8).map(|a| cut(a)).collect();
                }
                if l.agent.as_deref().is_some_and(|a| a.starts_with("grin")) {
                    self.hints.grin = true;
                } else {
                    self.hints.cryptonote = true;
                }
                Asked::Login
            }
            Payload::Hello(h) => {
                self.hints.eth2 = true;
                if let Some(a) = &h.agent {
                    self.agent.get_or_insert_with(|| cut(a));
                }
                if let Some(host) = &h.host {
                    self.pool_host.get_or_insert_with(|| cut(host));
                }
                Asked::Hello
            }
            Payload::Submit(s) => {
                match s.shape {
                    SubmitShape::Bitcoin { .. } => self.hints.bitcoin = true,
                    SubmitShape::Equihash { .. } => self.hints.equihash = true,
                    SubmitShape::KawPow => self.hints.kawpow = true,
                    SubmitShape::ThreeStrings => {}
                }
                self.on_submit(&s.job_id);
                Asked::Submit
            }
            Payload::EthSubmitWork => {
                self.hints.ethproxy = true;
                self.on_submit("");
                Asked::Submit
            }
            Payload::CnSubmit { job_id, algo } => {
                self.hints.cryptonote = true;
                if let Some(a) = algo {
                    self.algorithm = Some(cut(a));
                }
                self.on_submit(job_id);
                Asked::Submit
            }
            Payload::GrinSubmit { job_id } => {
                self.hints.grin = true;
                self.on_submit(job_id);
                Asked::Submit
            }
            Payload::BeamSolution { job_id } => {
                self.hints.beam = true;
                self.on_submit(job_id);
                Asked::Submit
            }
            Payload::ReportHashrate { hashes_per_second } => {
                if msg
                    .method
                    .as_ref()
                    .is_some_and(|m| m.as_str() == "eth_submitHashrate")
                {
                    self.hints.ethproxy = true;
                }
                if let Some(h) = hashes_per_second {
                    self.reported_hps = Some(*h);
                }
                Asked::Other
            }
            Payload::EthGetWork => {
                self.hints.ethproxy = true;
                Asked::Other
            }
            Payload::CnKeepalive | Payload::CnGetJob => {
                self.hints.cryptonote = true;
                Asked::Other
            }
            Payload::GrinGetJobTemplate => {
                self.hints.grin = true;
                Asked::Other
            }
            Payload::BeamLogin => {
                self.hints.beam = true;
                Asked::Login
            }
            Payload::SetDifficulty { difficulty } => {
                self.set_difficulty(ShareDifficulty::Stratum(*difficulty));
                self.last_difficulty_shown = Some(*difficulty);
                Asked::Other
            }
            Payload::SetTarget { target } => {
                self.set_target_hashes(target);
                if !self.hints.kawpow {
                    self.hints.equihash = true;
                }
                Asked::Other
            }
            Payload::SetExtranonce { extranonce1, .. } => {
                self.extranonce1 = Some(cut(extranonce1));
                Asked::Other
            }
            Payload::Notify(n) => {
                match n.shape {
                    NotifyShape::Bitcoin => self.hints.bitcoin = true,
                    NotifyShape::Equihash => self.hints.equihash = true,
                    NotifyShape::EthStratum => self.hints.eth1 = true,
                    NotifyShape::KawPow => {
                        self.hints.kawpow = true;
                        self.hints.equihash = false;
                    }
                    NotifyShape::Kaspa => self.hints.kaspa = true,
                }
                if let Some(t) = &n.target {
                    self.set_target_hashes(t);
                }
                self.remember_job(&n.job_id);
                Asked::Other
            }
            Payload::MiningSet {
                target,
                algo,
                extranonce,
            } => {
                self.hints.eth2 = true;
                if let Some(t) = target {
                    self.set_target_hashes(t);
                }
                if let Some(a) = algo {
                    self.algorithm = Some(cut(a));
                }
                if let Some(e) = extranonce {
                    self.extranonce1 = Some(cut(e));
                }
                Asked::Other
            }
            Payload::CnJob(j) => {
                self.hints.cryptonote = true;
                self.on_cn_job(j);
                Asked::Other
            }
            Payload::GrinJob {
                job_id, difficulty, ..
            } => {
                self.hints.grin = true;
                if let Some(d) = difficulty {
                    self.last_difficulty_shown = Some(*d);
                }
                self.remember_job(job_id);
                Asked::Other
            }
            Payload::BeamJob {
                job_id, difficulty, ..
            } => {
                self.hints.beam = true;
                if let Some(d) = difficulty {
                    self.last_difficulty_shown = Some(*d);
                }
                self.remember_job(job_id);
                Asked::Other
            }
            Payload::BeamResult { code, description } => {
                self.hints.beam = true;
                self.answer_beam(dir, *code == Some(0), description.as_deref());
                Asked::Other
            }
            _ => Asked::Other,
        };
        if role == Role::Client {
            self.ask(dir, &msg.id, asked);
        }
        let _ = ctx;
    }

    fn set_login(&mut self, login: &str) {
        if self.login.is_none() {
            self.login = Some(cut(login));
            self.login_parts = Some(split_login(login));
        }
    }

    fn on_submit(&mut self, job_id: &str) {
        self.submitted += 1;
        // Newest first: shares are nearly always for the latest jobs.
        if !job_id.is_empty() && self.job_ids.iter().rev().any(|j| j == job_id) {
            self.submits_on_known_job += 1;
        }
    }

    fn set_target_hashes(&mut self, target: &str) {
        set_cut(&mut self.last_target, target);
        if let Some(h) = hashes_for_target(target) {
            self.set_difficulty(ShareDifficulty::TargetHashes(h));
        }
    }

    fn on_cn_job(&mut self, j: &minetrace_proto::mining::CnJob) {
        self.remember_job(&j.job_id);
        set_cut(&mut self.last_target, &j.target);
        if let Some(d) = cryptonote_target_to_difficulty(&j.target) {
            self.set_difficulty(ShareDifficulty::CryptoNote(d as f64));
            self.last_difficulty_shown = Some(d as f64);
        }
        if let Some(a) = &j.algo {
            set_cut(&mut self.algorithm, a);
        }
    }

    /// Removes and returns the oldest request from the other direction with this id.
    fn answer(
        &mut self,
        dir: Direction,
        id: &Option<RpcId>,
    ) -> Option<(Asked, Option<ShareDifficulty>)> {
        let id = id.as_ref()?;
        let pos = self
            .pending
            .iter()
            .position(|(d, i, _, _)| *d != dir && i == id)?;
        self.pending.remove(pos).map(|(_, _, a, diff)| (a, diff))
    }

    fn answer_beam(&mut self, dir: Direction, ok: bool, why: Option<&str>) {
        let pos = self
            .pending
            .iter()
            .position(|(d, _, a, _)| *d != dir && *a == Asked::Submit);
        if let Some(p) = pos {
            if let Some((_, _, _, diff)) = self.pending.remove(p) {
                self.count_share(ok, diff, why);
            }
        }
    }

    fn set_difficulty(&mut self, d: ShareDifficulty) {
        self.current = Some(d);
        self.first_difficulty.get_or_insert(d);
    }

    fn count_share(&mut self, ok: bool, diff: Option<ShareDifficulty>, why: Option<&str>) {
        if ok {
            self.accepted += 1;
            match diff {
                Some(d) => {
                    let (difficulty, hashes) = d.sums(1.0);
                    self.accepted_stratum_difficulty += difficulty;
                    self.accepted_hashes += hashes;
                }
                None => self.accepted_unpriced += 1,
            }
        } else {
            self.rejected += 1;
            if let Some(w) = why.filter(|w| !w.is_empty()) {
                if self.reject_reasons.len() < MAX_REJECT_REASONS
                    && !self.reject_reasons.iter().any(|r| r == w)
                {
                    self.reject_reasons.push(cut(w));
                }
            }
        }
    }

    fn on_response(&mut self, dir: Direction, ts: Timestamp, msg: &MiningMessage, ctx: &Context) {
        let Payload::Response(resp) = &msg.payload else {
            return;
        };
        let side = dir.index();
        let matched = self.answer(dir, &msg.id);
        let specific = resp.result.is_mining_specific();
        if matched.is_none() && !specific {
            return;
        }
        self.seen(ts);
        self.sides[side].pool_msgs += 1;
        match &resp.result {
            ResultShape::Subscribe {
                extranonce1,
                protocol,
                ..
            } => {
                if let Some(e) = extranonce1 {
                    self.extranonce1 = Some(cut(e));
                }
                if protocol
                    .as_deref()
                    .is_some_and(|p| p.starts_with("EthereumStratum/"))
                {
                    self.hints.eth1 = true;
                }
                self.sides[side].method("mining.subscribe (result)");
            }
            ResultShape::CnLogin { job, .. } => {
                self.hints.cryptonote = true;
                self.login_accepted = Some(resp.error.is_none());
                self.sides[side].method("login (result with job)");
                if let Some(j) = job {
                    self.on_cn_job(j);
                }
            }
            ResultShape::CnJob(j) => {
                self.hints.cryptonote = true;
                self.on_cn_job(j);
            }
            ResultShape::Hello { .. } => {
                self.hints.eth2 = true;
                self.sides[side].method("mining.hello (result)");
            }
            ResultShape::GrinJob { job_id, difficulty } => {
                self.hints.grin = true;
                if let Some(d) = difficulty {
                    self.last_difficulty_shown = Some(*d);
                }
                self.remember_job(job_id);
                self.sides[side].method("getjobtemplate (result)");
            }
            _ => {}
        }
        if let Some((asked, diff)) = matched {
            match asked {
                Asked::Submit => {
                    let why = resp.error.as_ref().map(|e| match e.stratum_meaning() {
                        Some(m) if e.message.is_empty() => m.to_string(),
                        _ => e.message.clone(),
                    });
                    self.count_share(resp.accepted(), diff, why.as_deref());
                }
                Asked::Login => {
                    let ok = resp.accepted() || matches!(resp.result, ResultShape::CnLogin { .. });
                    self.login_accepted = Some(ok);
                    if let Some(e) = &resp.error {
                        self.login_error = Some(cut(&e.message));
                    }
                }
                Asked::Subscribe | Asked::Hello | Asked::Other => {}
            }
        }
        let _ = ctx;
    }

    fn dialect(&self) -> Dialect {
        let h = self.hints;
        let kaspa_wallet = self
            .wallet()
            .is_some_and(|w| w.coin.as_deref() == Some("KAS"));
        if h.beam {
            Dialect::Beam
        } else if h.grin {
            Dialect::Grin
        } else if h.cryptonote {
            Dialect::CryptoNote
        } else if h.ethproxy {
            Dialect::EthProxy
        } else if h.kawpow {
            Dialect::KawPow
        } else if h.kaspa || kaspa_wallet {
            Dialect::Kaspa
        } else if h.eth2 {
            Dialect::EthereumStratum2
        } else if h.eth1 {
            Dialect::EthereumStratum1
        } else if h.equihash {
            Dialect::StratumEquihash
        } else {
            Dialect::StratumV1
        }
    }

    fn wallet(&self) -> Option<&Wallet> {
        self.login_parts.as_ref()?.wallet.as_ref()
    }

    /// `pool_host`: the name the session announced, else the one DNS answered for the pool's
    /// address in the same capture.
    fn coin_and_family(
        &self,
        dialect: Dialect,
        pool_host: Option<&str>,
        ctx: &Context,
    ) -> (Option<String>, AlgorithmFamily, bool) {
        let wallet_coin = self.wallet().and_then(|w| w.coin.clone());
        let algo = self.algorithm.as_deref().unwrap_or("");
        let algo_coin = match algo {
            "rx/0" | "cn/r" | "cn/2" | "cn/1" | "randomx" => Some("XMR"),
            "rx/wow" => Some("WOW"),
            "kawpow" => Some("RVN"),
            _ => None,
        }
        .map(str::to_string);
        let dialect_coin = match dialect {
            Dialect::KawPow => Some("RVN"),
            Dialect::Kaspa => Some("KAS"),
            Dialect::Grin => Some("GRIN"),
            Dialect::Beam => Some("BEAM"),
            _ => None,
        }
        .map(str::to_string);
        let pool_coin = pool_host
            .and_then(|h| ctx.intel.match_domain(h))
            .and_then(|m| m.single_coin().map(str::to_string));
        let coin = wallet_coin.or(algo_coin).or(dialect_coin).or(pool_coin);
        let mut assumed = false;
        let family = match dialect {
            Dialect::StratumV1 => {
                let (family, guessed) = crate::bitcoin_style_family(coin.as_deref());
                assumed = guessed;
                family
            }
            Dialect::StratumEquihash => AlgorithmFamily::Equihash,
            Dialect::EthereumStratum1 | Dialect::EthereumStratum2 => AlgorithmFamily::EthashStratum,
            Dialect::EthProxy => AlgorithmFamily::EthashProxy,
            Dialect::KawPow => AlgorithmFamily::KawPow,
            Dialect::CryptoNote => AlgorithmFamily::CryptoNote,
            Dialect::Kaspa => AlgorithmFamily::KHeavyHash,
            _ => AlgorithmFamily::Other,
        };
        (coin, family, assumed)
    }

    /// Builds the finding, if the flow carried mining messages.
    pub fn finish(&self, flow: &FlowInfo, ctx: &Context) -> Option<Finding> {
        if self.http || self.mining_msgs == 0 {
            return None;
        }
        let [a, b] = &self.sides;
        let a_client = a.client_msgs > a.pool_msgs;
        let b_client = b.client_msgs > b.pool_msgs;
        let a_any = a.client_msgs + a.pool_msgs > 0;
        let b_any = b.client_msgs + b.pool_msgs > 0;
        // The miner's direction: decided by semantics, falling back to the initiator.
        let client_dir = match (a_any, b_any) {
            (true, true) if a_client != b_client => {
                if a_client {
                    Direction::AtoB
                } else {
                    Direction::BtoA
                }
            }
            (true, false) => {
                if a_client || a.client_msgs > 0 {
                    Direction::AtoB
                } else {
                    Direction::BtoA
                }
            }
            (false, true) => {
                if b_client || b.client_msgs > 0 {
                    Direction::BtoA
                } else {
                    Direction::AtoB
                }
            }
            _ => Direction::AtoB,
        };
        let pool_dir = client_dir.reverse();
        let client_side = &self.sides[client_dir.index()];
        let pool_side = &self.sides[pool_dir.index()];
        let two_sided = client_side.client_msgs > 0 && pool_side.pool_msgs > 0;
        let consistent = client_side.pool_msgs <= client_side.client_msgs
            && pool_side.client_msgs <= pool_side.pool_msgs;

        let dialect = self.dialect();
        let pool_host = self.pool_host.clone().or_else(|| {
            ctx.dns
                .lookup(&flow.sender(pool_dir).ip())
                .map(|n| cut(&n.query))
        });
        let (coin, family, family_assumed) =
            self.coin_and_family(dialect, pool_host.as_deref(), ctx);
        let wallet = self.wallet().cloned();
        let agent_sw = self.agent.as_deref().and_then(|a| ctx.intel.miner_agent(a));

        let known_agent = agent_sw.is_some();
        let wallet_checked = wallet.as_ref().is_some_and(|w| w.checksum_ok);
        let logged_in =
            self.login.is_some() || client_side.methods.iter().any(|m| m == "mining.subscribe");
        let client_unambiguous = client_side.client_msgs > 0
            && ((self.submitted > 0 && (logged_in || self.submits_on_known_job > 0))
                || wallet_checked
                || known_agent
                || client_side.methods.len() >= 2);
        let pool_unambiguous = pool_side.pool_msgs >= 2
            || self.jobs >= 1 && pool_side.pool_msgs >= 1 && self.hints.cryptonote;
        // A Stratum-namespace request is a miner speaking even when no pool answers (a refused
        // or dead pool, an HTTP server on the port): a mining attempt the host must explain.
        let stratum_attempt = client_side.client_msgs > 0
            && client_side
                .methods
                .iter()
                .any(|m| STRATUM_CLIENT_METHODS.contains(&m.as_str()));
        let confidence = if two_sided && consistent {
            Confidence::High
        } else if client_unambiguous || pool_unambiguous || stratum_attempt {
            Confidence::Medium
        } else {
            Confidence::Low
        };

        let mut f = Finding::new(
            "stratum",
            FindingKind::Network,
            self.first_ts.unwrap_or(flow.first_seen),
        );
        f.seen_at(self.last_ts.unwrap_or(flow.last_seen));
        f.dialect = Some(dialect);
        f.source = ctx.source.clone();
        f.source.packet = None;
        f.client = Some(Endpoint::from(flow.sender(client_dir)));
        f.server = Some(Endpoint::from(flow.sender(pool_dir)));
        f.transport = Some(flow.transport.as_str().to_string());
        f.confidence = confidence;

        // Reasons, in words.
        if client_side.client_msgs > 0 {
            let mut r = format!("client sent {}", join_methods(&client_side.methods));
            if let Some(a) = &self.agent {
                r.push_str(&format!(" (agent {a})"));
            }
            f.reason(r);
        }
        if pool_side.pool_msgs > 0 {
            let verb = if client_side.client_msgs > 0 {
                "pool answered with"
            } else {
                "pool sent"
            };
            f.reason(format!("{verb} {}", join_methods(&pool_side.methods)));
        }
        if stratum_attempt && pool_side.pool_msgs == 0 {
            f.reason(
                "a mining attempt: the miner spoke Stratum but no pool answered in kind (refused, dead pool or another service)",
            );
        }
        if !two_sided {
            let only = if client_side.client_msgs > 0 {
                "miner"
            } else {
                "pool"
            };
            f.reason(format!(
                "one-sided: only the {only}'s direction carried mining messages"
            ));
        } else if !consistent {
            f.reason("both directions sent client-style messages; sides decided by the majority");
        }
        if self.submitted > 0 || self.accepted > 0 || self.rejected > 0 {
            let mut r = format!(
                "{} share{} submitted, {} accepted",
                self.submitted,
                if self.submitted == 1 { "" } else { "s" },
                self.accepted
            );
            if self.rejected > 0 {
                r.push_str(&format!(", {} rejected", self.rejected));
                if !self.reject_reasons.is_empty() {
                    r.push_str(&format!(" ({})", self.reject_reasons.join("; ")));
                }
            }
            f.reason(r);
        }
        if let Some(w) = &wallet {
            let what = match (w.checksum_ok, w.coin.as_deref()) {
                (true, Some(c)) => format!(
                    "payout address {} validated as {} ({c}, checksum ok)",
                    w.address, w.format
                ),
                (true, None) => format!(
                    "payout address {} validated as {} (checksum ok; coin ambiguous)",
                    w.address, w.format
                ),
                (false, Some(c)) => format!(
                    "payout address {} has the {} format of {c}",
                    w.address, w.format
                ),
                (false, None) if w.format == "hex40" => {
                    format!(
                        "payout address {} is 0x hex (no EIP-55 checksum to verify)",
                        w.address
                    )
                }
                (false, None) => format!("login names {} {}", w.format, w.address),
            };
            f.reason(what);
            if w.format == "hex40" {
                f.reason("0x addresses are shared by ETH and ETC: coin left open");
            }
        }
        if let Some(sw) = &agent_sw {
            f.reason(format!("agent names miner software {}", sw.name));
        }
        match (self.login_accepted, &self.login_error) {
            (Some(false), Some(e)) => {
                f.reason(format!("pool refused the login: {e}"));
            }
            (Some(true), _) => {
                f.reason("pool accepted the login");
            }
            _ => {}
        }
        if self
            .agent
            .as_deref()
            .is_some_and(|a| a.to_ascii_lowercase().starts_with("xmrig-proxy"))
        {
            f.reason(
                "xmrig-proxy multiplexes many miners on one connection: one flow may be many rigs",
            );
            f.evidence.extra.insert("proxy".into(), Value::Bool(true));
        }

        // Evidence.
        let e = &mut f.evidence;
        e.pool_host = pool_host;
        e.coin = coin;
        e.algorithm_family = Some(family);
        e.algorithm = self.algorithm.clone().or_else(|| {
            Some(
                match (dialect, family) {
                    (Dialect::EthProxy, _)
                    | (Dialect::EthereumStratum1, _)
                    | (Dialect::EthereumStratum2, _) => "ethash",
                    (Dialect::KawPow, _) => "kawpow",
                    (Dialect::Kaspa, _) => "kheavyhash",
                    (Dialect::StratumEquihash, _) => "equihash",
                    (_, AlgorithmFamily::Scrypt) => "scrypt",
                    (Dialect::StratumV1, AlgorithmFamily::Sha256d) if !family_assumed => "sha256d",
                    _ => return None,
                }
                .to_string(),
            )
        });
        if family_assumed {
            e.extra
                .insert("algorithm_family_assumed".into(), Value::Bool(true));
        }
        e.wallet = wallet;
        e.login = self.login.clone();
        e.worker = self
            .login_parts
            .as_ref()
            .and_then(|p| p.worker.clone())
            .map(|w| cut(&w))
            .or_else(|| self.proxy_worker.clone());
        e.rig_id = self.rig_id.clone().or_else(|| self.proxy_worker.clone());
        e.agent = self.agent.clone();
        e.extranonce1 = self.extranonce1.clone();
        e.difficulty = match self.current {
            Some(ShareDifficulty::TargetHashes(_)) => self
                .last_target
                .as_deref()
                .and_then(|t| difficulty_from_target(family, t)),
            _ => self.last_difficulty_shown,
        };
        e.target = self.last_target.clone();
        e.jobs = self.jobs;
        e.shares_submitted = self.submitted;
        e.shares_accepted = self.accepted;
        e.shares_rejected = self.rejected;
        let mut methods: Vec<String> = Vec::new();
        for m in client_side.methods.iter().chain(pool_side.methods.iter()) {
            if methods.len() < 32 && !methods.contains(m) {
                methods.push(m.clone());
            }
        }
        e.methods = methods;
        if let Some(p) = &self.login_parts {
            if let Some(pid) = &p.payment_id {
                e.extra.insert("payment_id".into(), Value::String(cut(pid)));
            }
            if let Some(mail) = &p.email {
                e.extra.insert("email".into(), Value::String(cut(mail)));
            }
            if let Some(d) = &p.fixed_difficulty {
                e.extra
                    .insert("fixed_difficulty".into(), Value::String(cut(d)));
            }
        }
        if !self.client_algos.is_empty() {
            e.extra.insert(
                "client_algorithms".into(),
                Value::Array(
                    self.client_algos
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }

        // Hashrate: estimated from accepted shares; a miner's own report when shares are few.
        let seconds = flow
            .duration_secs()
            .max(match (self.first_ts, self.last_ts) {
                (Some(a), Some(b)) => b.seconds_since(a),
                _ => 0.0,
            });
        let (early_difficulty, early_hashes) = match self.first_difficulty {
            Some(d) if self.accepted_unpriced > 0 => d.sums(self.accepted_unpriced as f64),
            _ => (0.0, 0.0),
        };
        let total_hashes =
            hashes_per_share(family, self.accepted_stratum_difficulty + early_difficulty)
                + self.accepted_hashes
                + early_hashes;
        let unit = hashes_per_share(family, 1.0);
        let mut estimated: Option<HashrateFigure> = (unit > 0.0)
            .then(|| hashrate_from_shares(family, total_hashes / unit, self.accepted, seconds))
            .flatten();
        if let Some(est) = estimated
            .as_mut()
            .filter(|_| self.accepted_unpriced > 0 && self.first_difficulty.is_some())
        {
            est.method.push_str(&format!(
                " ({} share(s) accepted before the first difficulty seen counted at it)",
                self.accepted_unpriced
            ));
        }
        if let Some(est) = estimated.as_mut().filter(|_| family_assumed) {
            // Bitcoin-style Stratum says nothing of its coin: the figure holds for SHA-256d
            // coins only, and a reader must see that before believing it.
            est.method.push_str(
                " (SHA-256d assumed: no coin seen; a Scrypt coin such as LTC or DOGE would be \
                 65,536 times less)",
            );
        }
        let reported = self
            .reported_hps
            .and_then(|h| reported_hashrate(h, "eth_submitHashrate/mining.hashrate"));
        e.hashrate = match (estimated, reported) {
            (Some(est), Some(rep)) if self.accepted < 3 => {
                e.extra.insert(
                    "estimated_hashrate".into(),
                    Value::from(est.hashes_per_second),
                );
                Some(rep)
            }
            (Some(est), Some(rep)) => {
                e.extra.insert(
                    "reported_hashrate".into(),
                    Value::from(rep.hashes_per_second),
                );
                Some(est)
            }
            (Some(est), None) => Some(est),
            (None, rep) => rep,
        };
        Some(f)
    }
}

fn join_methods(methods: &[String]) -> String {
    match methods {
        [] => "mining messages".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
