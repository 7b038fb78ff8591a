//! Shape checks: which method names and parameter layouts make which [`Payload`].

use super::json::{Json, Obj};
use super::{
    bounded, CnJob, Hello, Login, Notify, NotifyShape, Payload, Response, ResultShape, RpcError,
    Submit, SubmitShape, Subscribe, MAX_ALGOS,
};
use std::borrow::Cow;

/// True when `s` (with an optional `0x`) is non-empty hex of `min..=max` digits.
pub fn is_hex(s: &str, min: usize, max: usize) -> bool {
    let h = strip0x(s);
    (min..=max).contains(&h.len()) && all_hex_digits(h.as_bytes())
}

/// True when every byte is an ASCII hex digit. Job fields run to hundreds of digits on every
/// line of a mining session: the check runs 16 bytes at a time without a branch per byte, which
/// the compiler turns into vector compares.
fn all_hex_digits(bytes: &[u8]) -> bool {
    fn digit(b: u8) -> bool {
        b.wrapping_sub(b'0') < 10 || (b | 0x20).wrapping_sub(b'a') < 6
    }
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        if !chunk.iter().fold(true, |ok, &b| ok & digit(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| digit(b))
}

fn strip0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

/// Big-endian hex (optional `0x`, up to 64 digits) as a float; `None` if not hex.
pub fn hex_to_f64(s: &str) -> Option<f64> {
    let h = strip0x(s);
    if h.is_empty() || h.len() > 64 || !all_hex_digits(h.as_bytes()) {
        return None;
    }
    let mut v = 0f64;
    for c in h.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    Some(v)
}

fn arr<'a>(params: Option<&Json<'a>>) -> Option<&'a [Json<'a>]> {
    params.and_then(Json::as_array)
}

fn str_at<'v>(a: &'v [Json<'_>], i: usize) -> Option<&'v str> {
    a.get(i).and_then(Json::as_str)
}

fn opt_str(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(bounded)
}

fn all_strings(a: &[Json]) -> bool {
    a.iter().all(Json::is_string)
}

/// Builds the payload of a message that names a method.
pub(super) fn request(method: &str, params: Option<&Json>, obj: &Obj) -> Payload {
    match method {
        "mining.subscribe" => subscribe(params),
        "mining.authorize" => authorize(params),
        "mining.submit" => submit(params),
        "mining.notify" => notify(params),
        "mining.set_difficulty" => match arr(params) {
            Some([d, ..]) => match d.as_f64() {
                Some(difficulty) if difficulty.is_finite() && difficulty > 0.0 => {
                    Payload::SetDifficulty { difficulty }
                }
                _ => Payload::Unrecognised,
            },
            _ => Payload::Unrecognised,
        },
        "mining.set_target" => match arr(params) {
            Some([Json::String(t), ..]) if is_hex(t, 8, 64) => Payload::SetTarget {
                target: bounded(strip0x(t)),
            },
            _ => Payload::Unrecognised,
        },
        "mining.set_extranonce" => match arr(params) {
            Some([Json::String(e), rest @ ..]) if is_hex(e, 0, 64) => Payload::SetExtranonce {
                extranonce1: bounded(e),
                size: rest.first().and_then(Json::as_u64),
            },
            _ => Payload::Unrecognised,
        },
        "mining.set_version_mask" => match arr(params) {
            Some([Json::String(m)]) if is_hex(m, 1, 8) => Payload::SetVersionMask,
            _ => Payload::Unrecognised,
        },
        "mining.configure"
        | "mining.extranonce.subscribe"
        | "mining.suggest_difficulty"
        | "mining.suggest_target"
        | "mining.get_transactions"
        | "mining.multi_version" => {
            if params.is_none_or(|p| p.is_array()) {
                Payload::ClientExtension
            } else {
                Payload::Unrecognised
            }
        }
        "client.reconnect" | "client.show_message" | "client.get_version" | "mining.ping" => {
            if params.is_none_or(|p| p.is_array() || p.is_null()) {
                Payload::PoolControl
            } else {
                Payload::Unrecognised
            }
        }
        "mining.hello" => hello(params),
        "mining.set" => mining_set(params),
        "mining.hashrate" | "eth_submitHashrate" => match arr(params) {
            Some([Json::String(h), ..]) if is_hex(h, 1, 32) => Payload::ReportHashrate {
                hashes_per_second: hex_to_f64(h),
            },
            _ => Payload::Unrecognised,
        },
        "eth_submitLogin" => match arr(params) {
            Some([Json::String(l), rest @ ..]) if rest.len() <= 2 && !l.is_empty() => {
                Payload::EthSubmitLogin {
                    login: bounded(l),
                    password: rest.first().and_then(Json::as_str).map(bounded),
                }
            }
            _ => Payload::Unrecognised,
        },
        "eth_getWork" => match arr(params) {
            Some([]) | None => Payload::EthGetWork,
            _ => Payload::Unrecognised,
        },
        "eth_submitWork" => match arr(params) {
            Some([Json::String(n), Json::String(h), Json::String(m), ..])
                if is_hex(n, 16, 16) && is_hex(h, 64, 64) && is_hex(m, 64, 64) =>
            {
                Payload::EthSubmitWork
            }
            _ => Payload::Unrecognised,
        },
        "login" => login(params, obj),
        "job" => job(params, obj),
        "submit" => cn_or_grin_submit(params),
        "keepalived" | "keepalive" => match params {
            None | Some(Json::Null) => Payload::CnKeepalive,
            Some(Json::Object(p)) if p.keys().all(|k| k == "id") => Payload::CnKeepalive,
            _ => Payload::Unrecognised,
        },
        "getjob" => match params {
            Some(Json::Object(p)) if p.get("id").is_some_and(Json::is_string) => Payload::CnGetJob,
            _ => Payload::Unrecognised,
        },
        "getjobtemplate" => match params {
            None | Some(Json::Null) => Payload::GrinGetJobTemplate,
            Some(Json::Object(p)) if p.is_empty() => Payload::GrinGetJobTemplate,
            _ => Payload::Unrecognised,
        },
        "solution" => beam_solution(obj),
        "result" => match obj.get("description") {
            Some(Json::String(d)) if obj.contains_key("code") => Payload::BeamResult {
                code: obj.get("code").and_then(Json::as_i64),
                description: Some(bounded(d)),
            },
            _ => Payload::Unrecognised,
        },
        "getwork" => match arr(params) {
            Some(a) if a.len() <= 1 && all_strings(a) => Payload::GetWork,
            None => Payload::GetWork,
            _ => Payload::Unrecognised,
        },
        "getblocktemplate" => match arr(params) {
            // Miners always announce capabilities; a bare call is a node operator's query.
            Some([Json::Object(o), ..])
                if o.get("capabilities").is_some_and(Json::is_array) || o.contains_key("rules") =>
            {
                Payload::GetBlockTemplate
            }
            _ => Payload::Unrecognised,
        },
        "submitblock" => match arr(params) {
            Some([Json::String(b), ..]) if is_hex(b, 160, usize::MAX) => Payload::SubmitBlock,
            _ => Payload::Unrecognised,
        },
        _ => Payload::Unrecognised,
    }
}

fn subscribe(params: Option<&Json>) -> Payload {
    let Some(a) = arr(params) else {
        return if params.is_none() {
            Payload::Subscribe(Subscribe::default())
        } else {
            Payload::Unrecognised
        };
    };
    // [agent, session id, host, port]: strings or nulls, the port also a number (ZIP 301 sends
    // CONNECT_PORT as one).
    let fits = |i: usize, v: &Json| v.is_string() || v.is_null() || (i == 3 && v.is_u64());
    if a.len() > 4 || !a.iter().enumerate().all(|(i, v)| fits(i, v)) {
        return Payload::Unrecognised;
    }
    let mut s = Subscribe {
        agent: str_at(a, 0).map(bounded),
        ..Subscribe::default()
    };
    match str_at(a, 1) {
        Some(p) if p.starts_with("EthereumStratum/") || p.starts_with("Stratum/") => {
            s.protocol = Some(bounded(p))
        }
        Some(sess) => s.session_id = Some(bounded(sess)),
        None => {}
    }
    s.host = str_at(a, 2).map(bounded);
    s.port = match a.get(3) {
        Some(Json::String(p)) => Some(bounded(p)),
        Some(n) => n.as_u64().map(|p| p.to_string()),
        None => None,
    };
    Payload::Subscribe(s)
}

fn authorize(params: Option<&Json>) -> Payload {
    match arr(params) {
        Some([Json::String(l), rest @ ..])
            if rest.len() <= 1
                && !l.is_empty()
                && rest.iter().all(|v| v.is_string() || v.is_null()) =>
        {
            Payload::Authorize {
                login: bounded(l),
                password: rest.first().and_then(Json::as_str).map(bounded),
            }
        }
        _ => Payload::Unrecognised,
    }
}

fn submit(params: Option<&Json>) -> Payload {
    let Some(a) = arr(params) else {
        return Payload::Unrecognised;
    };
    if !all_strings(a) {
        return Payload::Unrecognised;
    }
    let s = |i| str_at(a, i).unwrap_or("");
    let shape = match a.len() {
        3 if is_hex(s(2), 1, 64) || is_hex(s(1), 1, 64) => SubmitShape::ThreeStrings,
        5 if s(2).starts_with("0x")
            && is_hex(s(2), 16, 16)
            && is_hex(s(3), 64, 64)
            && is_hex(s(4), 64, 64) =>
        {
            SubmitShape::KawPow
        }
        5 if is_hex(s(2), 8, 8) && is_hex(s(3), 1, 64) && is_hex(s(4), 200, usize::MAX) => {
            SubmitShape::Equihash {
                solution_hex_len: s(4).len(),
            }
        }
        5 | 6 if is_hex(s(2), 0, 32) && is_hex(s(3), 8, 8) && is_hex(s(4), 8, 8) => {
            let vb = a.len() == 6 && is_hex(s(5), 1, 8);
            if a.len() == 6 && !vb {
                return Payload::Unrecognised;
            }
            SubmitShape::Bitcoin { version_bits: vb }
        }
        _ => return Payload::Unrecognised,
    };
    let (worker, job_id) = match shape {
        // EthereumStratum/2.0.0 puts the job first and the worker last.
        SubmitShape::ThreeStrings if !is_hex(s(2), 1, 64) => (s(2), s(0)),
        _ => (s(0), s(1)),
    };
    Payload::Submit(Submit {
        worker: bounded(worker),
        job_id: bounded(job_id),
        shape,
    })
}

fn notify(params: Option<&Json>) -> Payload {
    let Some(a) = arr(params) else {
        return Payload::Unrecognised;
    };
    let s = |i| str_at(a, i).unwrap_or("");
    let b = |i: usize| a.get(i).and_then(Json::as_bool);
    let Some(job_id) = str_at(a, 0).map(bounded) else {
        return Payload::Unrecognised;
    };
    let (shape, clean, target) = match a.len() {
        9 if is_hex(s(1), 64, 64)
            && is_hex(s(2), 2, usize::MAX)
            && is_hex(s(3), 2, usize::MAX)
            && a.get(4).and_then(Json::as_array).is_some_and(|m| {
                m.iter()
                    .all(|x| x.as_str().is_some_and(|h| is_hex(h, 64, 64)))
            })
            && is_hex(s(5), 8, 8)
            && is_hex(s(6), 8, 8)
            && is_hex(s(7), 8, 8)
            && b(8).is_some() =>
        {
            (NotifyShape::Bitcoin, b(8), None)
        }
        8 if is_hex(s(1), 8, 8)
            && is_hex(s(2), 64, 64)
            && is_hex(s(3), 64, 64)
            && is_hex(s(4), 64, 64)
            && is_hex(s(5), 8, 8)
            && is_hex(s(6), 8, 8)
            && b(7).is_some() =>
        {
            (NotifyShape::Equihash, b(7), None)
        }
        4 if is_hex(s(1), 1, 64) && is_hex(s(2), 64, 64) && b(3).is_some() => {
            (NotifyShape::EthStratum, b(3), None)
        }
        7 if is_hex(s(1), 64, 64)
            && is_hex(s(2), 64, 64)
            && is_hex(s(3), 64, 64)
            && b(4).is_some()
            && a.get(5).is_some_and(Json::is_u64) =>
        {
            (NotifyShape::KawPow, b(4), Some(bounded(strip0x(s(3)))))
        }
        3 if a
            .get(1)
            .and_then(Json::as_array)
            .is_some_and(|h| h.len() == 4 && h.iter().all(Json::is_u64))
            && a.get(2).is_some_and(Json::is_u64) =>
        {
            (NotifyShape::Kaspa, None, None)
        }
        2 if is_hex(s(1), 64, 80) => (NotifyShape::Kaspa, None, None),
        _ => return Payload::Unrecognised,
    };
    Payload::Notify(Notify {
        job_id,
        shape,
        clean,
        target,
    })
}

fn hello(params: Option<&Json>) -> Payload {
    match params {
        Some(Json::Object(p)) if p.contains_key("agent") || p.contains_key("proto") => {
            Payload::Hello(Hello {
                agent: opt_str(p.get("agent")),
                host: opt_str(p.get("host")),
                port: opt_str(p.get("port"))
                    .or_else(|| p.get("port").map(|v| bounded(&v.to_string()))),
                proto: opt_str(p.get("proto")),
            })
        }
        _ => Payload::Unrecognised,
    }
}

fn mining_set(params: Option<&Json>) -> Payload {
    match params {
        Some(Json::Object(p))
            if ["epoch", "target", "algo", "extranonce"]
                .iter()
                .any(|k| p.contains_key(k))
                && p.keys()
                    .all(|k| ["epoch", "target", "algo", "extranonce", "timeout"].contains(&k)) =>
        {
            let target = opt_str(p.get("target")).filter(|t| is_hex(t, 1, 64));
            Payload::MiningSet {
                target,
                algo: opt_str(p.get("algo")),
                extranonce: opt_str(p.get("extranonce")),
            }
        }
        _ => Payload::Unrecognised,
    }
}

fn login(params: Option<&Json>, obj: &Obj) -> Payload {
    match params {
        Some(Json::Object(p)) => {
            let Some(Json::String(l)) = p.get("login") else {
                return Payload::Unrecognised;
            };
            // Mining logins carry "pass" (even if empty); a web login uses other keys.
            if l.is_empty() || !p.get("pass").is_some_and(|v| v.is_string() || v.is_null()) {
                return Payload::Unrecognised;
            }
            let algos = p
                .get("algo")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .take(MAX_ALGOS)
                        .map(bounded)
                        .collect()
                })
                .unwrap_or_default();
            Payload::Login(Box::new(Login {
                login: bounded(l),
                pass: opt_str(p.get("pass")),
                agent: opt_str(p.get("agent")),
                rigid: opt_str(p.get("rigid")),
                algos,
            }))
        }
        // Beam: `{"method":"login","api_key":"..."}` with no params.
        None if obj.get("api_key").is_some_and(Json::is_string) => Payload::BeamLogin,
        _ => Payload::Unrecognised,
    }
}

pub(super) fn cn_job(p: &Obj) -> Option<CnJob> {
    let blob = p.get("blob")?.as_str()?;
    let job_id = p.get("job_id")?.as_str()?;
    let target = p.get("target")?.as_str()?;
    if !is_hex(blob, 76, 1024) || job_id.is_empty() || !is_hex(target, 8, 16) {
        return None;
    }
    Some(CnJob {
        job_id: bounded(job_id),
        blob_hex_len: blob.len(),
        target: bounded(target),
        algo: opt_str(p.get("algo")),
        height: p.get("height").and_then(Json::as_u64),
        seed_hash: opt_str(p.get("seed_hash")).filter(|s| is_hex(s, 64, 64)),
    })
}

fn job(params: Option<&Json>, obj: &Obj) -> Payload {
    match params {
        Some(Json::Object(p)) => {
            if let Some(j) = cn_job(p) {
                return Payload::CnJob(Box::new(j));
            }
            match grin_job(p) {
                Some((job_id, difficulty, height)) => Payload::GrinJob {
                    job_id,
                    difficulty,
                    height,
                },
                None => Payload::Unrecognised,
            }
        }
        // Beam: the job's fields sit at the top level.
        None => match (obj.get("input"), obj.get("id")) {
            (Some(Json::String(input)), Some(id)) if is_hex(input, 64, 64) => Payload::BeamJob {
                job_id: bounded(&json_scalar(id)),
                difficulty: obj.get("difficulty").and_then(Json::as_f64),
                height: obj.get("height").and_then(Json::as_u64),
            },
            _ => Payload::Unrecognised,
        },
        _ => Payload::Unrecognised,
    }
}

/// A Grin job `{difficulty, height, job_id, pre_pow}` (pushed as `job`, or the result of
/// `getjobtemplate`): its id, difficulty and height.
fn grin_job(p: &Obj) -> Option<(String, Option<f64>, Option<u64>)> {
    match (p.get("pre_pow"), p.get("job_id"), p.get("height")) {
        (Some(Json::String(pp)), Some(j), Some(h))
            if is_hex(pp, 64, 4096) && (j.is_u64() || j.is_string()) && h.is_u64() =>
        {
            Some((
                bounded(&json_scalar(j)),
                p.get("difficulty").and_then(Json::as_f64),
                h.as_u64(),
            ))
        }
        _ => None,
    }
}

fn cn_or_grin_submit(params: Option<&Json>) -> Payload {
    let Some(Json::Object(p)) = params else {
        return Payload::Unrecognised;
    };
    // CryptoNote: {id, job_id, nonce (8 hex), result (64 hex)(, algo)}.
    if let (Some(Json::String(j)), Some(Json::String(n)), Some(Json::String(r))) =
        (p.get("job_id"), p.get("nonce"), p.get("result"))
    {
        if is_hex(n, 8, 16) && is_hex(r, 64, 64) && !j.is_empty() {
            return Payload::CnSubmit {
                job_id: bounded(j),
                algo: opt_str(p.get("algo")),
            };
        }
    }
    // Grin: {edge_bits, height, job_id, nonce, pow: [42 numbers]}.
    if let (Some(j), Some(Json::Array(pow)), Some(n)) =
        (p.get("job_id"), p.get("pow"), p.get("nonce"))
    {
        if pow.len() == 42 && pow.iter().all(Json::is_u64) && n.is_u64() {
            return Payload::GrinSubmit {
                job_id: bounded(&json_scalar(j)),
            };
        }
    }
    Payload::Unrecognised
}

fn beam_solution(obj: &Obj) -> Payload {
    match (obj.get("id"), obj.get("nonce"), obj.get("output")) {
        (Some(id), Some(Json::String(n)), Some(Json::String(o)))
            if is_hex(n, 16, 16) && is_hex(o, 64, 512) =>
        {
            Payload::BeamSolution {
                job_id: bounded(&json_scalar(id)),
            }
        }
        _ => Payload::Unrecognised,
    }
}

fn json_scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn response(obj: &Obj) -> Response {
    let error = obj.get("error").and_then(rpc_error);
    let result = match obj.get("result") {
        None => ResultShape::Absent,
        Some(v) => result_shape(v),
    };
    Response { result, error }
}

fn rpc_error(v: &Json) -> Option<RpcError> {
    match v {
        Json::Null => None,
        Json::Array(a) => Some(RpcError {
            code: a.first().and_then(Json::as_i64),
            message: bounded(str_at(a, 1).unwrap_or("")),
        }),
        Json::Object(o) => Some(RpcError {
            code: o.get("code").and_then(Json::as_i64),
            message: bounded(o.get("message").and_then(Json::as_str).unwrap_or("")),
        }),
        Json::String(s) => Some(RpcError {
            code: None,
            message: bounded(s),
        }),
        other => Some(RpcError {
            code: other.as_i64(),
            message: String::new(),
        }),
    }
}

fn result_shape(v: &Json) -> ResultShape {
    match v {
        Json::Null => ResultShape::Null,
        Json::Bool(b) => ResultShape::Bool(*b),
        Json::String(s) => ResultShape::Text(bounded(s)),
        Json::Array(a) => array_result(a),
        Json::Object(o) => object_result(o),
        Json::Number(_) => ResultShape::Other,
    }
}

fn array_result(a: &[Json]) -> ResultShape {
    // EthProxy work: at least header, seed, target, all 0x-hex of 64 digits.
    if (3..=4).contains(&a.len())
        && a.iter().take(3).all(|v| {
            v.as_str()
                .is_some_and(|s| s.starts_with("0x") && is_hex(s, 64, 64))
        })
    {
        return ResultShape::EthWork {
            header: bounded(str_at(a, 0).unwrap_or("")),
            target: bounded(strip0x(str_at(a, 2).unwrap_or(""))),
        };
    }
    let subscription_list = |v: &Json| {
        // [["mining.notify","id"],...] or ["mining.notify","id"(, "EthereumStratum/1.0.0")]
        let pair_ok = |p: &Json| {
            p.as_array().is_some_and(|p| {
                p.first()
                    .and_then(Json::as_str)
                    .is_some_and(|m| m.starts_with("mining."))
            })
        };
        match v.as_array() {
            Some(list) if !list.is_empty() && list.iter().all(pair_ok) => true,
            Some(_) => pair_ok(v),
            None => false,
        }
    };
    match a {
        // Bitcoin family: [subscriptions, extranonce1, extranonce2_size]
        [subs, Json::String(e1), size] if subscription_list(subs) && is_hex(e1, 0, 64) => {
            ResultShape::Subscribe {
                extranonce1: Some(bounded(e1)),
                extranonce2_size: size.as_u64(),
                protocol: None,
            }
        }
        // EthereumStratum/1.0.0: [["mining.notify","id","EthereumStratum/1.0.0"], extranonce]
        [subs, Json::String(e1)] if subscription_list(subs) && is_hex(e1, 0, 64) => {
            let protocol = subs
                .as_array()
                .and_then(|s| s.get(2))
                .and_then(Json::as_str)
                .map(bounded);
            ResultShape::Subscribe {
                extranonce1: Some(bounded(e1)),
                extranonce2_size: None,
                protocol,
            }
        }
        // Equihash / KawPow: [session_id|null, extranonce1]
        [sess, Json::String(e1)]
            if (sess.is_null() || sess.as_str().is_some_and(|s| is_hex(s, 1, 64)))
                && is_hex(e1, 2, 64) =>
        {
            ResultShape::Subscribe {
                extranonce1: Some(bounded(e1)),
                extranonce2_size: None,
                protocol: None,
            }
        }
        _ => ResultShape::Other,
    }
}

fn object_result(o: &Obj) -> ResultShape {
    if let Some(job) = o.get("job").and_then(Json::as_object) {
        if let (Some(id), Some(j)) = (o.get("id").and_then(Json::as_str), cn_job(job)) {
            return ResultShape::CnLogin {
                session_id: bounded(id),
                job: Some(Box::new(j)),
                status: opt_str(o.get("status")),
            };
        }
    }
    if let Some(j) = cn_job(o) {
        return ResultShape::CnJob(Box::new(j));
    }
    if let Some((job_id, difficulty, _)) = grin_job(o) {
        return ResultShape::GrinJob { job_id, difficulty };
    }
    if let Some(Json::String(p)) = o.get("proto") {
        if p.starts_with("EthereumStratum/") {
            return ResultShape::Hello { proto: bounded(p) };
        }
    }
    match o.get("status") {
        // "OK" answers nearly every CryptoNote share: the usual statuses are not copied.
        Some(Json::String(s)) if o.len() <= 2 => ResultShape::CnStatus(match *s {
            "OK" => Cow::Borrowed("OK"),
            "KEEPALIVED" => Cow::Borrowed("KEEPALIVED"),
            other => Cow::Owned(bounded(other)),
        }),
        _ => ResultShape::Other,
    }
}

#[cfg(test)]
mod hex_tests {
    use super::all_hex_digits;

    #[test]
    fn hex_digit_check_agrees_with_std_for_every_byte_and_position() {
        for len in [1usize, 15, 16, 17, 33, 64] {
            for pos in [0, len / 2, len - 1] {
                for b in 0..=255u8 {
                    let mut s = vec![b'a'; len];
                    s[pos] = b;
                    assert_eq!(
                        all_hex_digits(&s),
                        s.iter().all(u8::is_ascii_hexdigit),
                        "len {len} pos {pos} byte {b:#04x}"
                    );
                }
            }
        }
        assert!(all_hex_digits(b""));
    }
}
