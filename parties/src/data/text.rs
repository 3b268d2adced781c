//! Bounded line reading shared by the text parsers.

use std::io::{self, BufRead, Read};

use super::MAX_LINE_BYTES;

/// Why a line could not be read.
#[derive(Debug)]
pub(crate) enum LineError {
    /// The underlying reader failed.
    Io(io::Error),
    /// The line exceeds [`MAX_LINE_BYTES`].
    TooLong,
    /// The line is not UTF-8.
    NotUtf8,
}

/// Reads lines of at most [`MAX_LINE_BYTES`], stripping `\n` and `\r\n`, counting from 1.
pub(crate) struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            line_no: 0,
        }
    }

    /// The number of the line last returned (0 before the first).
    pub(crate) fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line and its number, or `None` at the end of input. After an error,
    /// [`LineReader::line_no`] is the number of the offending line.
    pub(crate) fn next_line(&mut self) -> Result<Option<(u64, &str)>, LineError> {
        self.buf.clear();
        let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(LineError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else if n >= MAX_LINE_BYTES {
            return Err(LineError::TooLong);
        } else if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        core::str::from_utf8(&self.buf)
            .map(|line| Some((self.line_no, line)))
            .map_err(|_| LineError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_terminators_and_counts() {
        let mut r = LineReader::new(&b"a\r\nb\n\nc"[..]);
        assert_eq!(r.next_line().unwrap(), Some((1, "a")));
        assert_eq!(r.next_line().unwrap(), Some((2, "b")));
        assert_eq!(r.next_line().unwrap(), Some((3, "")));
        assert_eq!(r.next_line().unwrap(), Some((4, "c")));
        assert_eq!(r.line_no(), 4);
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn rejects_long_lines() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut r = LineReader::new(&long[..]);
        assert!(matches!(r.next_line(), Err(LineError::TooLong)));
    }
}
