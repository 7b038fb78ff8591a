//! A JSON value that borrows its strings from the line it was parsed from and its arrays and
//! objects from an arena.
//!
//! Every line of a mining session is parsed, so building a `serde_json::Value` (a `String` per
//! key and per string, a `BTreeMap` per object) dominated the engine's time, and after that
//! the allocator did (a vector per array and object, freed again after each line). [`Json`]
//! is read by the same `serde_json` deserializer for anything but the plain ASCII subset mining
//! lines use, so the grammar, the depth limit, number handling and every error are unchanged;
//! only the tree differs: strings without escapes are slices of the line, arrays and objects
//! are slices in a [`Bump`] arena that the caller resets per line (nothing in the tree needs
//! dropping), and numbers are plain values. Its accessors mirror `serde_json::Value`'s (an
//! object member repeated keeps its last value, as `serde_json::Map::insert` does).

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// A parsed JSON value borrowing from its input and its arena.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Num),
    String(&'a str),
    Array(&'a [Json<'a>]),
    Object(Obj<'a>),
}

/// A JSON number as `serde_json::Number` holds it: non-negative integers as `U`, negative ones
/// as `I`, everything else as a finite `F`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl Num {
    fn from_serde(n: &Number) -> Option<Num> {
        if let Some(u) = n.as_u64() {
            Some(Num::U(u))
        } else if let Some(i) = n.as_i64() {
            Some(Num::I(i))
        } else {
            n.as_f64().map(Num::F)
        }
    }

    fn from_i64(v: i64) -> Num {
        u64::try_from(v).map_or(Num::I(v), Num::U)
    }

    fn to_serde(self) -> Option<Number> {
        match self {
            Num::U(u) => Some(u.into()),
            Num::I(i) => Some(i.into()),
            Num::F(f) => Number::from_f64(f),
        }
    }
}

/// A JSON object's members in the order they came (duplicates kept; lookups take the last).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Obj<'a>(&'a [(&'a str, Json<'a>)]);

impl<'a> Obj<'a> {
    /// The member's value; for a repeated key the last one, like `serde_json::Map`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Json<'a>> {
        self.0.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| *k == key)
    }

    /// Member names (a repeated key appears more than once: use only for `all`/`any`).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().map(|(k, _)| *k)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Distinct keys, as `serde_json::Map::len` counts them.
    pub(crate) fn len(&self) -> usize {
        self.0
            .iter()
            .enumerate()
            .filter(|(i, (k, _))| !self.0[i + 1..].iter().any(|(later, _)| later == k))
            .count()
    }

    fn to_value(self) -> Map<String, Value> {
        let mut map = Map::new();
        for (k, v) in self.0 {
            map.insert(k.to_string(), v.to_value());
        }
        map
    }
}

impl<'a> Json<'a> {
    pub(crate) fn as_str(&self) -> Option<&'a str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&'a [Json<'a>]> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }

    pub(crate) fn as_object(&self) -> Option<&Obj<'a>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(Num::U(u)) => Some(*u as f64),
            Json::Number(Num::I(i)) => Some(*i as f64),
            Json::Number(Num::F(f)) => Some(*f),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(Num::U(u)) => i64::try_from(*u).ok(),
            Json::Number(Num::I(i)) => Some(*i),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(Num::U(u)) => Some(*u),
            _ => None,
        }
    }

    pub(crate) fn is_u64(&self) -> bool {
        matches!(self, Json::Number(Num::U(_)))
    }

    pub(crate) fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    pub(crate) fn is_array(&self) -> bool {
        matches!(self, Json::Array(_))
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    /// The equivalent `serde_json::Value` (for the rare paths that print a value as JSON).
    pub(crate) fn to_value(self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => n.to_serde().map_or(Value::Null, Value::Number),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(|v| v.to_value()).collect()),
            Json::Object(o) => Value::Object(o.to_value()),
        }
    }
}

/// Compact JSON text, exactly as `serde_json::Value` prints it (object keys sorted, repeated
/// keys once).
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Number(n) => match n.to_serde() {
                Some(n) => n.fmt(f),
                None => f.write_str("null"),
            },
            other => other.to_value().fmt(f),
        }
    }
}

/// Parses one JSON text exactly as `serde_json::from_slice` would into this tree: the same
/// tree, and for anything the fast reader does not handle, the same call (so the same errors).
/// Arrays and objects go to `arena`.
///
/// Mining lines are plain ASCII: strings without escapes, small integers, few floats. The fast
/// reader takes only that subset (no escapes, no control or non-ASCII bytes in strings, nesting
/// under 64, integers that fit `u64`/`i64`) and reads it in one pass without serde's visitor
/// machinery or a separate UTF-8 check; a number with a fraction or exponent is handed to
/// serde_json on its own (the same number parser). Whatever else it meets (an escape, a syntax
/// error, a deep nest) makes it give up, and the whole text goes to serde_json.
pub(crate) fn parse<'a>(text: &'a [u8], arena: &'a Bump) -> Result<Json<'a>, serde_json::Error> {
    // One UTF-8 check for the whole line (the fast reader takes only ASCII strings, and slices
    // of a checked `str` need none of their own).
    if let Ok(checked) = std::str::from_utf8(text) {
        let mut r = Fast {
            s: checked,
            i: 0,
            arena,
        };
        if let Some(v) = r.value(0) {
            r.ws();
            if r.i == text.len() {
                return Ok(v);
            }
        }
    }
    with_serde(text, arena)
}

/// serde_json's reading of `text` into this tree (what `serde_json::from_slice` does, with the
/// tree's own visitor).
pub(crate) fn with_serde<'a>(
    text: &'a [u8],
    arena: &'a Bump,
) -> Result<Json<'a>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = Seed(arena).deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// For the differential fuzz target: panics unless the fast reader and serde_json agree on
/// `text` (the same tree or the same error, and the tree prints and converts as
/// `serde_json::Value` does).
pub(crate) fn check_against_serde(text: &[u8]) {
    let case = String::from_utf8_lossy(text);
    let (a, b) = (Bump::new(), Bump::new());
    let ours = parse(text, &a).map_err(|e| e.to_string());
    let theirs = with_serde(text, &b).map_err(|e| e.to_string());
    assert_eq!(
        ours, theirs,
        "fast reader and serde_json into the tree: {case}"
    );
    let value = serde_json::from_slice::<Value>(text).map_err(|e| e.to_string());
    match (&ours, &value) {
        (Ok(o), Ok(v)) => {
            assert_eq!(&o.to_value(), v, "tree and serde_json::Value: {case}");
            assert_eq!(o.to_string(), v.to_string(), "printed texts: {case}");
        }
        (Err(o), Err(v)) => assert_eq!(o, v, "errors: {case}"),
        _ => panic!("{case}: tree {ours:?} but serde_json::Value {value:?}"),
    }
}

/// Deepest nesting the fast reader takes (serde_json's own limit is 128).
const FAST_MAX_DEPTH: usize = 64;

struct Fast<'a> {
    s: &'a str,
    i: usize,
    arena: &'a Bump,
}

impl<'a> Fast<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn ws(&mut self) {
        while let Some(&b) = self.bytes().get(self.i) {
            if matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.i).copied()
    }

    fn value(&mut self, depth: usize) -> Option<Json<'a>> {
        self.ws();
        match self.peek()? {
            b'{' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(Json::Object(Obj(&[])));
                }
                let mut members = BumpVec::with_capacity_in(4, self.arena);
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Json::Object(Obj(members.into_bump_slice())));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                if depth >= FAST_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(Json::Array(&[]));
                }
                let mut items = BumpVec::with_capacity_in(8, self.arena);
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Json::Array(items.into_bump_slice()));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Json::String),
            b't' => self.literal(b"true", Json::Bool(true)),
            b'f' => self.literal(b"false", Json::Bool(false)),
            b'n' => self.literal(b"null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], v: Json<'a>) -> Option<Json<'a>> {
        if self.bytes().get(self.i..)?.starts_with(word) {
            self.i += word.len();
            Some(v)
        } else {
            None
        }
    }

    /// A string without escapes, control or non-ASCII bytes (the cursor is on its quote).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.i + 1;
        let rest = self.bytes().get(start..)?;
        let mut n = 0;
        // Eight bytes at a time: stop at the first quote, backslash, control or non-ASCII byte,
        // which is the lowest byte `special` flags (a borrow only carries upwards).
        while let Some(chunk) = rest.get(n..n + 8) {
            let w = u64::from_le_bytes(chunk.try_into().ok()?);
            let stop = special(w);
            if stop != 0 {
                n += (stop.trailing_zeros() / 8) as usize;
                if *rest.get(n)? != b'"' {
                    return None;
                }
                self.i = start + n + 1;
                return self.s.get(start..start + n);
            }
            n += 8;
        }
        // The last few bytes of the input, one at a time.
        loop {
            let b = *rest.get(n)?;
            if b == b'"' {
                break;
            }
            if b == b'\\' || !(0x20..0x80).contains(&b) {
                return None;
            }
            n += 1;
        }
        self.i = start + n + 1;
        // Both ends are ASCII bytes, so character boundaries.
        self.s.get(start..start + n)
    }

    fn number(&mut self) -> Option<Json<'a>> {
        let start = self.i;
        let bytes = self.bytes().get(start..)?;
        let run = bytes
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(bytes.len());
        let lexeme = bytes.get(..run)?;
        self.i = start + run;
        let (negative, digits) = match lexeme.split_first() {
            Some((b'-', d)) => (true, d),
            _ => (false, lexeme),
        };
        // Plain integers of up to 18 digits (no leading zero) fit both u64 and i64; serde_json
        // reads them as exactly these numbers. "-0" is a float to serde_json: not taken here.
        if !digits.is_empty()
            && digits.len() <= 18
            && digits.iter().all(u8::is_ascii_digit)
            && (digits[0] != b'0' || digits.len() == 1)
        {
            let v = digits
                .iter()
                .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
            return match (negative, v) {
                (false, v) => Some(Json::Number(Num::U(v))),
                (true, 0) => None,
                (true, v) => Some(Json::Number(Num::I(-(v as i64)))),
            };
        }
        // Anything else (fractions, exponents, long integers): serde_json's own number reader.
        match with_serde(lexeme, self.arena) {
            Ok(n @ Json::Number(_)) => Some(n),
            _ => None,
        }
    }
}

/// Nonzero when one of the eight bytes of `w` is a quote, a backslash, below 0x20 or above 0x7f.
fn special(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = has_zero(w ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(w ^ (ONES * u64::from(b'\\')));
    // Bytes below 0x20: subtracting 0x20 borrows into the high bit (for bytes under 0x80).
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    quote | backslash | control | (w & HIGH)
}

/// serde's side: any JSON value into the tree, arrays and objects into the arena, strings
/// borrowed from the input where they have no escapes and copied into the arena where they do.
#[derive(Clone, Copy)]
struct Seed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for Seed<'a> {
    type Value = Json<'a>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Seed<'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'a>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'a>, E> {
        Ok(Json::Number(Num::from_i64(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'a>, E> {
        Ok(Json::Number(Num::U(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'a>, E> {
        // As serde_json::Value: a float it cannot hold (never finite-less from its reader) is
        // null.
        Ok(Number::from_f64(v)
            .and_then(|n| Num::from_serde(&n))
            .map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'a>, E> {
        Ok(Json::String(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'a>, E> {
        Ok(Json::String(self.0.alloc_str(v)))
    }

    fn visit_none<E>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'a>, D::Error> {
        self.deserialize(d)
    }

    fn visit_unit<E>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
        let mut items = BumpVec::new_in(self.0);
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Json::Array(items.into_bump_slice()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
        let mut members = BumpVec::new_in(self.0);
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            members.push((key, map.next_value_seed(self)?));
        }
        Ok(Json::Object(Obj(members.into_bump_slice())))
    }
}

/// An object key, borrowed when it has no escapes, copied into the arena when it has.
struct KeySeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for KeySeed<'a> {
    type Value = &'a str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<&'a str, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for KeySeed<'a> {
    type Value = &'a str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<&'a str, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<&'a str, E> {
        Ok(self.0.alloc_str(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same tree (through `to_value`), same text, same errors as `serde_json::Value`.
    #[test]
    fn agrees_with_serde_json_value() {
        let cases = [
            r#"{"id":1,"method":"mining.notify","params":["a",true,null,1.5,-3,18446744073709551615]}"#,
            r#"{"a":1,"a":2,"b":{"c":[{}],"d":"x\ny\u00e9"}}"#,
            r#"{"k\"ey":"v","z":1e400}"#,
            r#"{"n":-0,"f":0.1,"e":1e21,"big":-9223372036854775809}"#,
            r#"{"x":"\ud800"}"#,
            r#"{"x":1} trailing"#,
            r#"{"x":"ctrl"}"#,
            "{\"x\":\"tab\there\"}",
            r#"{"x":[1,2,]}"#,
            r#"{"#,
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
            &format!("{{\"a\":{}{}}}", "[".repeat(126), "]".repeat(126)),
        ];
        for text in cases {
            check_against_serde(text.as_bytes());
        }
    }

    /// The string scanner reads 8 bytes at a time: for every length around that width
    /// and every position of a byte it must stop at (a quote, a backslash, a control or
    /// non-ASCII byte, also two of them), the fast reader gives serde_json's tree or error.
    #[test]
    fn strings_of_every_length_and_stop_position() {
        let stops: [&[u8]; 6] = [b"\"", b"\\", b"\x01", b"\x1f", "\u{e9}".as_bytes(), b"\x7f"];
        let mut checked = 0;
        for len in 0..40 {
            for at in 0..=len {
                for stop in stops {
                    for second in [None, Some(b'\x02')] {
                        let mut body: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                        body.splice(at..at, stop.iter().copied());
                        if let Some(b) = second {
                            body.push(b);
                        }
                        let mut text = b"[\"".to_vec();
                        text.extend_from_slice(&body);
                        text.extend_from_slice(b"\",1]");
                        let (a, b) = (Bump::new(), Bump::new());
                        let ours = parse(&text, &a).map_err(|e| e.to_string());
                        let theirs = with_serde(&text, &b).map_err(|e| e.to_string());
                        assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&text));
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 820 * 6 * 2);
    }

    /// The fast reader gives serde_json's tree or serde_json's error, for mining lines and for
    /// thousands of mutations of them (bytes replaced, cut, doubled).
    #[test]
    fn fast_reader_agrees_with_serde_json() {
        let seeds: [&[u8]; 12] = [
            br#"{"id":null,"method":"mining.notify","params":["4f2a","00000000deadbeef","01000000010000","ffffffff",["aa","bb"],"20000000","1a0fffff","5f5e1000",true]}"#,
            br#"{"id":4,"method":"mining.submit","params":["w.1","1f","00000001","5f5e1000","9a8b7c6d"]}"#,
            br#"{"id":2,"result":true,"error":null}"#,
            br#"{"id":null,"method":"mining.set_difficulty","params":[0.5]}"#,
            br#"{"jsonrpc":"2.0","method":"job","params":{"blob":"0707","job_id":"q","target":"b88d0600","height":-12,"big":123456789012345678901,"f":1.5e-3,"n":-0}}"#,
            br#"{ "id" : 1 , "result" : [ [ "mining.notify" , "ae6812eb4cd7735a302a8a9dd95cf71f" ] , "f8002c90" , 4 ] , "error" : null }"#,
            "{\"x\":\"caf\u{e9}\",\"y\":\"a\\\"b\",\"z\":\"\\u00e9\"}".as_bytes(),
            br#"{"a":{},"b":[],"c":[{}],"d":false,"e":-9223372036854775808,"f":18446744073709551615}"#,
            br#"{"a":1,"a":2}"#,
            b"{\"t\":\"tab\there\"}",
            br#"{"id":1,"x":[1,2,]}"#,
            b"{\"k\":1}  \n",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"{}[]\",:0123456789-+.eE tfnrul\\\x00\x1f\x7f\xc3\xa9\xff ";
        let mut cases: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
        cases.push(format!("{{\"a\":{}1{}}}", "[".repeat(70), "]".repeat(70)).into_bytes());
        cases.push(format!("{{\"a\":{}1{}}}", "[".repeat(130), "]".repeat(130)).into_bytes());
        for seed in seeds {
            for _ in 0..400 {
                let mut m = seed.to_vec();
                for _ in 0..(next() % 3 + 1) {
                    let pos = (next() as usize) % m.len().max(1);
                    match next() % 4 {
                        0 => m[pos] = alphabet[(next() as usize) % alphabet.len()],
                        1 => m.truncate(pos),
                        2 => m.insert(pos, alphabet[(next() as usize) % alphabet.len()]),
                        _ => {
                            let tail = m[pos..].to_vec();
                            m.extend_from_slice(&tail);
                        }
                    }
                    if m.is_empty() {
                        m.push(b'{');
                    }
                }
                cases.push(m);
            }
        }
        // The mining lines themselves take the fast path.
        for seed in &seeds[..4] {
            let s = std::str::from_utf8(seed).unwrap();
            let arena = Bump::new();
            let mut fast = Fast {
                s,
                i: 0,
                arena: &arena,
            };
            assert!(fast.value(0).is_some());
        }
        let mut fast_ok = 0;
        for text in &cases {
            check_against_serde(text);
            fast_ok += usize::from(parse(text, &Bump::new()).is_ok());
        }
        assert!(fast_ok > 100, "{fast_ok}");
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_repeated_keys_keep_the_last() {
        let arena = Bump::new();
        let text = br#"{"a":"plain","a":"last","b":"e\"sc"}"#;
        let j = with_serde(text, &arena).unwrap();
        assert_eq!(j, parse(text, &arena).unwrap());
        let o = j.as_object().unwrap();
        assert!(matches!(o.get("a"), Some(Json::String("last"))));
        // The plain string is a slice of the line; the escaped one a copy in the arena.
        let within = |s: &str| text.as_ptr_range().contains(&s.as_ptr());
        assert!(within(o.get("a").and_then(Json::as_str).unwrap()));
        assert_eq!(o.get("b").and_then(Json::as_str), Some("e\"sc"));
        assert!(!within(o.get("b").and_then(Json::as_str).unwrap()));
        assert_eq!(o.len(), 2);
        assert!(o.contains_key("b") && !o.contains_key("c"));
        let n = with_serde(b"-5", &arena).unwrap();
        assert_eq!(
            (n.as_i64(), n.as_u64(), n.is_u64()),
            (Some(-5), None, false)
        );
    }
}
