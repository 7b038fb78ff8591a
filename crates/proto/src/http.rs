//! Bounded HTTP/1.x head parser: request line or status line, headers, and the body slice when
//! `Content-Length` says it lies within the buffer.
//!
//! ```
//! use minetrace_proto::http::{parse_head, Head};
//! let raw = b"POST / HTTP/1.1\r\nUser-Agent: cgminer/4.11.1\r\nContent-Length: 2\r\n\r\n{}";
//! let Head::Request(req) = parse_head(raw).unwrap() else { panic!() };
//! assert_eq!(req.method, "POST");
//! assert_eq!(req.header("user-agent"), Some("cgminer/4.11.1"));
//! assert_eq!(req.body, Some(&b"{}"[..]));
//! ```

/// Longest head (request line + headers) accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers kept.
pub const MAX_HEADERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The head has not ended within the buffer (more bytes may complete it).
    #[error("incomplete HTTP head ({have} bytes, no blank line yet)")]
    Incomplete { have: usize },
    #[error("HTTP head longer than {max} bytes")]
    TooLong { max: usize },
    #[error("not an HTTP/1.x start line at byte 0")]
    NotHttp,
    #[error("malformed header at byte {offset}")]
    BadHeader { offset: usize },
    #[error("more than {max} headers")]
    TooManyHeaders { max: usize },
}

/// A parsed header (name as sent, value trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub target: &'a str,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub version: &'a str,
    pub headers: Vec<Header<'a>>,
    /// Bytes after the head, when the whole body (per Content-Length) is in the buffer.
    pub body: Option<&'a [u8]>,
    /// Length of the head including the blank line.
    pub head_len: usize,
    pub content_length: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status<'a> {
    pub version: &'a str,
    pub code: u16,
    pub reason: &'a str,
    pub headers: Vec<Header<'a>>,
    pub body: Option<&'a [u8]>,
    pub head_len: usize,
    pub content_length: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Head<'a> {
    Request(Request<'a>),
    Status(Status<'a>),
}

fn find_header<'a>(headers: &[Header<'a>], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

impl<'a> Request<'a> {
    /// First header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        find_header(&self.headers, name)
    }
}

impl<'a> Status<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        find_header(&self.headers, name)
    }
}

const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

/// True when `buf` begins like an HTTP/1.x request or status line (cheap prefilter).
pub fn looks_like_http(buf: &[u8]) -> bool {
    buf.starts_with(b"HTTP/1.")
        || METHODS.iter().any(|m| {
            buf.len() > m.len() && buf.starts_with(m.as_bytes()) && buf.get(m.len()) == Some(&b' ')
        })
}

/// Parses an HTTP/1.x head at the start of `buf`.
pub fn parse_head(buf: &[u8]) -> Result<Head<'_>, HttpError> {
    if !looks_like_http(buf) {
        return Err(HttpError::NotHttp);
    }
    let window = &buf[..buf.len().min(MAX_HEAD)];
    let head_end = match find(window, b"\r\n\r\n") {
        Some(i) => i + 4,
        None => match find(window, b"\n\n") {
            Some(i) => i + 2,
            None if buf.len() > MAX_HEAD => return Err(HttpError::TooLong { max: MAX_HEAD }),
            None => return Err(HttpError::Incomplete { have: buf.len() }),
        },
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|e| HttpError::BadHeader {
        offset: e.valid_up_to(),
    })?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next().ok_or(HttpError::NotHttp)?;
    let mut headers = Vec::new();
    let mut offset = start.len() + 1;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(HttpError::TooManyHeaders { max: MAX_HEADERS });
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::BadHeader { offset })?;
        if name.is_empty()
            || name
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(HttpError::BadHeader { offset });
        }
        headers.push(Header {
            name,
            value: value.trim(),
        });
        offset += line.len() + 1;
    }
    let content_length = find_header(&headers, "content-length").and_then(|v| v.parse().ok());
    let rest = &buf[head_end..];
    let body = match content_length {
        Some(n) if n <= rest.len() => Some(&rest[..n]),
        Some(_) => None,
        None if !rest.is_empty() => Some(rest),
        None => None,
    };
    let mut parts = start.splitn(3, ' ');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    if a.starts_with("HTTP/1.") {
        let code = b.parse::<u16>().map_err(|_| HttpError::NotHttp)?;
        Ok(Head::Status(Status {
            version: a,
            code,
            reason: c,
            headers,
            body,
            head_len: head_end,
            content_length,
        }))
    } else {
        if !c.starts_with("HTTP/1.") || b.is_empty() {
            return Err(HttpError::NotHttp);
        }
        Ok(Head::Request(Request {
            method: a,
            target: b,
            version: c,
            headers,
            body,
            head_len: head_end,
            content_length,
        }))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bfgminer_getblocktemplate_post() {
        let body = br#"{"id": 0, "method": "getblocktemplate", "params": [{"capabilities": ["coinbasetxn"]}]}"#;
        let raw = format!(
            "POST / HTTP/1.1\r\nHost: us1.bitminter.com:3333\r\nAuthorization: Basic Qmlnc2t5OjEyMw==\r\nContent-type: application/json\r\nX-Mining-Extensions: longpoll midstate rollntime submitold\r\nContent-Length: {}\r\nUser-Agent: bfgminer/5.2.0\r\n\r\n",
            body.len()
        );
        let mut buf = raw.into_bytes();
        // Head alone: body not yet there.
        let Head::Request(r) = parse_head(&buf).unwrap() else {
            panic!()
        };
        assert_eq!(r.body, None);
        assert_eq!(
            r.header("x-mining-extensions"),
            Some("longpoll midstate rollntime submitold")
        );
        buf.extend_from_slice(body);
        let Head::Request(r) = parse_head(&buf).unwrap() else {
            panic!()
        };
        assert_eq!(r.body, Some(&body[..]));
        assert_eq!(r.header("USER-AGENT"), Some("bfgminer/5.2.0"));
        assert_eq!(r.target, "/");
    }

    #[test]
    fn status_line_with_x_stratum() {
        let raw = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nX-Stratum: stratum+tcp://litecoinpool.org:3333\r\n\r\n{}";
        let Head::Status(s) = parse_head(raw).unwrap() else {
            panic!()
        };
        assert_eq!(s.code, 200);
        assert_eq!(
            s.header("x-stratum"),
            Some("stratum+tcp://litecoinpool.org:3333")
        );
        assert_eq!(s.body, Some(&b"{}"[..]));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_head(b"{\"id\":1}"), Err(HttpError::NotHttp));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nHost: a"),
            Err(HttpError::Incomplete { .. })
        ));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nbad header\r\n\r\n"),
            Err(HttpError::BadHeader { .. })
        ));
        assert!(matches!(
            parse_head(b"GET /\r\n\r\n"),
            Err(HttpError::NotHttp)
        ));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..100 {
            many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(
            parse_head(&many),
            Err(HttpError::TooManyHeaders { .. })
        ));
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(matches!(parse_head(&long), Err(HttpError::TooLong { .. })));
        assert!(parse_head(b"GET / HTTP/1.1\r\n\xff: x\r\n\r\n").is_err());
        // Content-Length larger than the buffer: no body, no panic.
        let Head::Request(r) =
            parse_head(b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\nab").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.body, None);
    }
}
