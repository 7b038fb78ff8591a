//! A JSON value that borrows its strings from the line it was parsed from.
//!
//! Every line of a mining session is parsed, so building a `serde_json::Value` (a `String` per
//! key and per string, a `BTreeMap` per object) dominated the engine's time. [`Json`] is read by
//! the same `serde_json` deserializer, so the grammar, the depth limit, number handling and every
//! error are unchanged; only the tree differs: strings without escapes are slices of the line
//! and objects are small vectors of members. Its accessors mirror `serde_json::Value`'s (an
//! object member repeated keeps its last value, as `serde_json::Map::insert` does).

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::fmt;

/// A parsed JSON value borrowing from its input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Obj<'a>),
}

/// A JSON object's members in the order they came (duplicates kept; lookups take the last).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Obj<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Obj<'a> {
    /// The member's value; for a repeated key the last one, like `serde_json::Map`.
    pub(crate) fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k.as_ref() == key)
            .map(|(_, v)| v)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k.as_ref() == key)
    }

    /// Member names (a repeated key appears more than once: use only for `all`/`any`).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_ref())
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

    fn to_value(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (k, v) in &self.0 {
            map.insert(k.to_string(), v.to_value());
        }
        map
    }
}

impl<'a> Json<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&Vec<Json<'a>>> {
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
            Json::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub(crate) fn is_u64(&self) -> bool {
        matches!(self, Json::Number(n) if n.is_u64())
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
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::String(s) => Value::String(s.to_string()),
            Json::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Object(o) => Value::Object(o.to_value()),
        }
    }
}

/// Compact JSON text, exactly as `serde_json::Value` prints it (object keys sorted, repeated
/// keys once).
impl fmt::Display for Json<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Number(n) => n.fmt(f),
            other => other.to_value().fmt(f),
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            members.push((key, map.next_value()?));
        }
        Ok(Json::Object(Obj(members)))
    }
}

/// An object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(text: &str) -> (Result<Json<'_>, String>, Result<Value, String>) {
        (
            serde_json::from_str::<Json>(text).map_err(|e| e.to_string()),
            serde_json::from_str::<Value>(text).map_err(|e| e.to_string()),
        )
    }

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
            let (ours, theirs) = both(text);
            match (&ours, &theirs) {
                (Ok(o), Ok(t)) => {
                    assert_eq!(&o.to_value(), t, "{text}");
                    assert_eq!(o.to_string(), t.to_string(), "{text}");
                }
                (Err(o), Err(t)) => assert_eq!(o, t, "{text}"),
                _ => panic!("{text}: {ours:?} vs {theirs:?}"),
            }
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed_and_repeated_keys_keep_the_last() {
        let j: Json = serde_json::from_str(r#"{"a":"plain","a":"last","b":"e\"sc"}"#).unwrap();
        let o = j.as_object().unwrap();
        assert!(matches!(
            o.get("a"),
            Some(Json::String(Cow::Borrowed("last")))
        ));
        assert!(matches!(o.get("b"), Some(Json::String(Cow::Owned(_)))));
        assert_eq!(o.len(), 2);
        assert!(o.contains_key("b") && !o.contains_key("c"));
        let n: Json = serde_json::from_str("-5").unwrap();
        assert_eq!(
            (n.as_i64(), n.as_u64(), n.is_u64()),
            (Some(-5), None, false)
        );
    }
}
