//! A bounded newline splitter for one direction of a flow.

use minetrace_proto::mining::MAX_LINE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    /// Nothing seen yet in this direction.
    #[default]
    Start,
    /// Collecting a line.
    InLine,
    /// Skipping to the next newline (mid-line pickup, overlong line, or a gap).
    Discard,
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
    mode: Mode,
    /// Lines dropped for exceeding [`MAX_LINE`].
    pub oversize: u64,
}

impl LineSplitter {
    /// Feeds bytes; calls `on_line` for each complete line (without the newline).
    pub fn push(&mut self, mut data: &[u8], mut on_line: impl FnMut(&[u8])) {
        if self.mode == Mode::Start {
            let Some(first) = data
                .iter()
                .position(|&b| !(b == 0 || b.is_ascii_whitespace()))
            else {
                return;
            };
            // The first captured byte of a direction may sit in the middle of a message:
            // only a `{` can start one; anything else waits for the next newline.
            self.mode = if data.get(first) == Some(&b'{') {
                Mode::InLine
            } else {
                Mode::Discard
            };
        }
        while !data.is_empty() {
            let newline = memchr::memchr(b'\n', data);
            match self.mode {
                Mode::Discard => match newline {
                    Some(i) => {
                        data = data.get(i + 1..).unwrap_or_default();
                        self.mode = Mode::InLine;
                    }
                    None => return,
                },
                Mode::Start | Mode::InLine => match newline {
                    Some(i) => {
                        let segment = data.get(..i).unwrap_or_default();
                        if self.buf.len() + segment.len() > MAX_LINE {
                            self.oversize += 1;
                            self.buf.clear();
                        } else if self.buf.is_empty() {
                            on_line(segment);
                        } else {
                            self.buf.extend_from_slice(segment);
                            on_line(&self.buf);
                            self.buf.clear();
                        }
                        data = data.get(i + 1..).unwrap_or_default();
                    }
                    None => {
                        if self.buf.len() + data.len() > MAX_LINE {
                            self.oversize += 1;
                            self.buf = Vec::new();
                            self.mode = Mode::Discard;
                        } else {
                            self.buf.extend_from_slice(data);
                        }
                        return;
                    }
                },
            }
        }
    }

    /// Bytes of this direction were lost: the partial line is dropped and the splitter waits for
    /// the next newline.
    pub fn gap(&mut self) {
        self.buf = Vec::new();
        self.mode = Mode::Discard;
    }

    /// End of flow: a final line without its newline is still offered.
    pub fn flush(&mut self, mut on_line: impl FnMut(&[u8])) {
        if self.mode == Mode::InLine && !self.buf.is_empty() {
            on_line(&self.buf);
        }
        self.buf = Vec::new();
    }

    pub fn memory(&self) -> usize {
        self.buf.capacity()
    }
}

/// `line` without leading NUL bytes and whitespace.
pub fn trim_start(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|&b| !(b == 0 || b.is_ascii_whitespace()))
        .unwrap_or(line.len());
    line.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, |l| out.push(String::from_utf8_lossy(l).into_owned()));
        }
        out
    }

    #[test]
    fn splits_and_joins() {
        assert_eq!(collect(&[b"{a}\n{b", b"}\n{c}\n"]), ["{a}", "{b}", "{c}"]);
        assert_eq!(collect(&[b"{", b"a", b"}", b"\n"]), ["{a}"]);
    }

    #[test]
    fn mid_line_start_resyncs() {
        assert_eq!(collect(&[b"d\":1}\n{x}\n"]), ["{x}"]);
        assert_eq!(collect(&[b"  \0", b"tail\n{x}\n"]), ["{x}"]);
    }

    #[test]
    fn overlong_lines_are_dropped() {
        let mut s = LineSplitter::default();
        let mut out = 0;
        let big = vec![b'a'; MAX_LINE + 5];
        s.push(b"{", |_| out += 1);
        s.push(&big, |_| out += 1);
        s.push(b"still the same line\n{ok}\n", |_| out += 1);
        assert_eq!(out, 1);
        assert_eq!(s.oversize, 1);
        assert!(s.memory() <= MAX_LINE + 64);
    }

    #[test]
    fn gap_discards_partial_line() {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        s.push(b"{partial", |l| out.push(l.to_vec()));
        s.gap();
        s.push(b"rest}\n{whole}\n", |l| out.push(l.to_vec()));
        assert_eq!(out, vec![b"{whole}".to_vec()]);
    }
}
