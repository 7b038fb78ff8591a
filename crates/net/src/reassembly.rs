//! In-order delivery of one TCP direction's bytes: retransmissions and overlaps trimmed,
//! out-of-order segments held (bounded), holes reported as gaps, and pickup in the middle of a
//! connection (no SYN seen: the first segment sets the starting sequence number).

/// Bytes of out-of-order data held per direction before giving up on a hole.
pub const MAX_PENDING_BYTES: usize = 64 * 1024;
/// Segments held per direction.
pub const MAX_PENDING_SEGMENTS: usize = 64;
/// A segment further ahead than this is taken as a jump (capture loss), not reordering.
const MAX_AHEAD: u32 = 1 << 20;

/// What the reassembler hands on, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data(&'a [u8]),
    /// This many bytes were never seen.
    Gap(u64),
}

#[derive(Debug, Default)]
pub struct Reassembler {
    next: Option<u32>,
    /// Held segments, sorted by sequence number relative to `next`.
    pending: Vec<(u32, Vec<u8>)>,
    pending_bytes: usize,
}

impl Reassembler {
    /// A SYN was seen: data starts at `isn + 1`.
    pub fn syn(&mut self, isn: u32) {
        if self.next.is_none() {
            self.next = Some(isn.wrapping_add(1));
        }
    }

    pub fn memory(&self) -> usize {
        self.pending_bytes + self.pending.len() * 32
    }

    /// Accepts a segment and emits whatever became deliverable.
    pub fn push(&mut self, seq: u32, data: &[u8], out: &mut impl FnMut(Chunk<'_>)) {
        if data.is_empty() {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        let ahead = seq.wrapping_sub(next);
        if ahead == 0 || ahead > u32::MAX / 2 {
            // In order, or starting before `next` (retransmission/overlap): trim what was delivered.
            let behind = next.wrapping_sub(seq) as usize;
            if behind >= data.len() {
                return;
            }
            let fresh = &data[behind..];
            self.next = Some(next.wrapping_add(fresh.len() as u32));
            out(Chunk::Data(fresh));
            self.drain(out);
            return;
        }
        if ahead > MAX_AHEAD {
            // Far ahead: the capture lost data; skip to it.
            self.flush(out);
            out(Chunk::Gap(u64::from(
                seq.wrapping_sub(self.next.unwrap_or(seq)),
            )));
            self.next = Some(seq.wrapping_add(data.len() as u32));
            out(Chunk::Data(data));
            return;
        }
        self.hold(seq, data);
        if self.pending_bytes > MAX_PENDING_BYTES || self.pending.len() > MAX_PENDING_SEGMENTS {
            self.skip_hole(out);
        }
    }

    fn hold(&mut self, seq: u32, data: &[u8]) {
        let next = self.next.unwrap_or(seq);
        let rel = seq.wrapping_sub(next);
        let pos = self
            .pending
            .partition_point(|(s, _)| s.wrapping_sub(next) <= rel);
        // An identical retransmission of a held segment adds nothing.
        if pos > 0 {
            let (s, d) = &self.pending[pos - 1];
            if *s == seq && d.len() >= data.len() {
                return;
            }
        }
        self.pending_bytes += data.len();
        self.pending.insert(pos, (seq, data.to_vec()));
    }

    /// Delivers held segments that now continue the stream.
    fn drain(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while let Some((seq, _)) = self.pending.first() {
            let Some(next) = self.next else { return };
            let ahead = seq.wrapping_sub(next);
            if ahead != 0 && ahead <= u32::MAX / 2 {
                return;
            }
            let (seq, data) = self.pending.remove(0);
            self.pending_bytes -= data.len();
            let behind = next.wrapping_sub(seq) as usize;
            if behind < data.len() {
                let fresh = &data[behind..];
                self.next = Some(next.wrapping_add(fresh.len() as u32));
                out(Chunk::Data(fresh));
            }
        }
    }

    /// Gives up on the first hole: reports it as a gap and continues from the next held segment.
    fn skip_hole(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        if let (Some(next), Some((seq, _))) = (self.next, self.pending.first()) {
            let missing = seq.wrapping_sub(next);
            out(Chunk::Gap(u64::from(missing)));
            self.next = Some(*seq);
            self.drain(out);
        }
    }

    /// End of the flow: deliver everything held, with gaps for the holes.
    pub fn flush(&mut self, out: &mut impl FnMut(Chunk<'_>)) {
        while !self.pending.is_empty() {
            self.skip_hole(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(segs: &[(u32, &[u8])]) -> (Vec<u8>, u64) {
        let mut r = Reassembler::default();
        let mut data = Vec::new();
        let mut gaps = 0;
        let mut out = |c: Chunk<'_>| match c {
            Chunk::Data(d) => data.extend_from_slice(d),
            Chunk::Gap(n) => gaps += n,
        };
        for (seq, d) in segs {
            r.push(*seq, d, &mut out);
        }
        r.flush(&mut out);
        (data, gaps)
    }

    #[test]
    fn in_order() {
        assert_eq!(
            run(&[(100, b"abc"), (103, b"def")]),
            (b"abcdef".to_vec(), 0)
        );
    }

    #[test]
    fn out_of_order_is_reordered() {
        assert_eq!(
            run(&[(100, b"abc"), (106, b"ghi"), (103, b"def")]),
            (b"abcdefghi".to_vec(), 0)
        );
    }

    #[test]
    fn retransmissions_and_overlaps_are_trimmed() {
        assert_eq!(
            run(&[(100, b"abc"), (100, b"abc"), (101, b"bcde"), (105, b"f")]),
            (b"abcdef".to_vec(), 0)
        );
    }

    #[test]
    fn a_hole_becomes_a_gap_at_the_end() {
        assert_eq!(
            run(&[(100, b"abc"), (110, b"xyz")]),
            (b"abcxyz".to_vec(), 7)
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let start = u32::MAX - 1;
        assert_eq!(
            run(&[(start, b"ab"), (start.wrapping_add(2), b"cd")]),
            (b"abcd".to_vec(), 0)
        );
    }

    #[test]
    fn held_bytes_are_bounded() {
        let mut r = Reassembler::default();
        let mut gaps = 0u64;
        let mut delivered = 0usize;
        let seg = vec![b'x'; 1000];
        r.push(0, b"a", &mut |_| {});
        // Never fill the hole at 1..2: the reassembler must give up and move on.
        for i in 0..200u32 {
            r.push(2 + i * 1000, &seg, &mut |c| match c {
                Chunk::Data(d) => delivered += d.len(),
                Chunk::Gap(n) => gaps += n,
            });
            assert!(r.memory() <= MAX_PENDING_BYTES + 2000 + MAX_PENDING_SEGMENTS * 32 + 64);
        }
        assert_eq!(gaps, 1);
        assert!(delivered > 100_000);
    }

    #[test]
    fn syn_sets_the_start() {
        let mut r = Reassembler::default();
        r.syn(99);
        let mut data = Vec::new();
        r.push(103, b"def", &mut |c| {
            if let Chunk::Data(d) = c {
                data.extend_from_slice(d)
            }
        });
        r.push(100, b"abc", &mut |c| {
            if let Chunk::Data(d) = c {
                data.extend_from_slice(d)
            }
        });
        assert_eq!(data, b"abcdef");
    }
}
