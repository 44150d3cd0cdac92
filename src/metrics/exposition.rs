//! The pre-encoded `/metrics` bodies of one snapshot: the classic text body, the OpenMetrics body
//! as slices of it, and the gzip of each, compressed at most once per snapshot.
//!
//! The sample lines of both formats are byte-identical (only the `# HELP`/`# TYPE` heads and the
//! `# EOF` trailer differ), so the OpenMetrics body is the OpenMetrics heads interleaved with
//! slices of the text body: one stored copy of the lines, not two. The gzip of a body is made on
//! the first scrape that asks for it (Prometheus asks for one format only) and then reused until
//! the snapshot changes. The per-scrape `process_*` block goes out as a second gzip member
//! (RFC 1952 section 2.2: a gzip file is a series of members; Go's reader, the one Prometheus
//! uses, and flate2's `MultiGzDecoder` read them all), so the big part is never compressed again.

use std::io::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::process;
use super::text::Format;

/// The gzip level: 1 compresses a 270 MB body (1000 accounts) to about a tenth several times
/// faster than the default 6, whose output is only a little smaller (docs/benchmarks.md,
/// "Compressed scrapes").
pub const GZIP_LEVEL: u32 = 1;

const EOF: &[u8] = b"# EOF\n";

/// The bodies of one snapshot, as `Store::exposition` hands them out.
#[derive(Debug, Default)]
pub struct Exposition {
    /// The classic text format 0.0.4 body.
    pub text: Bytes,
    /// The OpenMetrics body without its `# EOF` line: heads and slices of `text`.
    openmetrics: Vec<Bytes>,
    gzip_text: OnceLock<Bytes>,
    gzip_openmetrics: OnceLock<Bytes>,
}

/// Gzips `chunks` as one member.
pub fn gzip<'a>(chunks: impl IntoIterator<Item = &'a [u8]>, size_hint: usize) -> Bytes {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(size_hint / 8 + 64),
        Compression::new(GZIP_LEVEL),
    );
    for chunk in chunks {
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(chunk);
    }
    let mut out = encoder.finish().unwrap_or_default();
    out.shrink_to_fit();
    Bytes::from(out)
}

/// The gzip member of `# EOF\n`, the last member of every compressed OpenMetrics answer.
fn gzip_eof() -> Bytes {
    static EOF_MEMBER: OnceLock<Bytes> = OnceLock::new();
    EOF_MEMBER.get_or_init(|| gzip([EOF], EOF.len())).clone()
}

impl Exposition {
    /// Both bodies from the text body and the OpenMetrics chunks (without `# EOF`).
    pub(super) fn new(text: Bytes, openmetrics: Vec<Bytes>) -> Self {
        Self {
            text,
            openmetrics,
            gzip_text: OnceLock::new(),
            gzip_openmetrics: OnceLock::new(),
        }
    }

    /// The whole OpenMetrics body, `# EOF` included (a copy: for tests and tools, not scrapes).
    pub fn openmetrics(&self) -> Bytes {
        let mut body = Vec::with_capacity(self.openmetrics_len() + EOF.len());
        for chunk in &self.openmetrics {
            body.extend_from_slice(chunk);
        }
        body.extend_from_slice(EOF);
        Bytes::from(body)
    }

    fn openmetrics_len(&self) -> usize {
        self.openmetrics.iter().map(Bytes::len).sum()
    }

    /// Whether the gzip of `format` is already made (if not, [`Exposition::gzipped`] makes it:
    /// call it where blocking is fine).
    pub fn is_compressed(&self, format: Format) -> bool {
        match format {
            Format::Text => self.gzip_text.get().is_some(),
            Format::OpenMetrics => self.gzip_openmetrics.get().is_some(),
        }
    }

    /// The gzip of the body of `format` (OpenMetrics without `# EOF`), compressed on the first
    /// call; CPU-heavy for large bodies.
    pub fn gzipped(&self, format: Format) -> Bytes {
        match format {
            Format::Text => self
                .gzip_text
                .get_or_init(|| gzip([&self.text[..]], self.text.len())),
            Format::OpenMetrics => self.gzip_openmetrics.get_or_init(|| {
                gzip(
                    self.openmetrics.iter().map(|c| &c[..]),
                    self.openmetrics_len(),
                )
            }),
        }
        .clone()
    }

    /// What a scrape sends: the body of `format` and the process block (OpenMetrics keeps
    /// `# EOF` last), plain or as gzip members, as chunks that share the stored bytes.
    pub fn response(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        let openmetrics = format == Format::OpenMetrics;
        let block = process::process_block(openmetrics, gzip);
        match (format, gzip) {
            (Format::Text, false) => vec![self.text.clone(), block],
            (Format::Text, true) => vec![self.gzipped(format), block],
            (Format::OpenMetrics, false) => {
                let mut chunks = self.openmetrics.clone();
                chunks.push(block);
                chunks.push(Bytes::from_static(EOF));
                chunks
            }
            (Format::OpenMetrics, true) => vec![self.gzipped(format), block, gzip_eof()],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use flate2::read::MultiGzDecoder;

    use super::*;

    fn exposition() -> Exposition {
        let text = Bytes::from_static(b"# HELP x X.\n# TYPE x gauge\nx 1\n");
        let openmetrics = vec![
            Bytes::from_static(b"# HELP x X.\n# TYPE x gauge\n"),
            text.slice(27..),
        ];
        Exposition::new(text, openmetrics)
    }

    fn inflate(chunks: &[Bytes]) -> String {
        let mut out = String::new();
        MultiGzDecoder::new(&chunks.concat()[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_members_decode_to_the_plain_answer() {
        let e = exposition();
        for format in [Format::Text, Format::OpenMetrics] {
            assert!(!e.is_compressed(format));
            let plain = e.response(format, false).concat();
            let zipped = e.response(format, true);
            assert!(e.is_compressed(format));
            // Text: body + process block; OpenMetrics: body + process block + `# EOF`.
            let members = if format == Format::Text { 2 } else { 3 };
            assert_eq!(zipped.len(), members);
            assert!(zipped.iter().all(|m| m.starts_with(&[0x1f, 0x8b])));
            let text = inflate(&zipped);
            assert_eq!(text.as_bytes(), &plain[..]);
            assert!(text.contains("\nprocess_"), "{text}");
            assert!(text.starts_with("# HELP x X.\n"));
            if format == Format::OpenMetrics {
                assert!(text.ends_with("\n# EOF\n") && text.matches("# EOF").count() == 1);
            } else {
                assert!(!text.contains("# EOF"));
            }
        }
        assert_eq!(
            &e.openmetrics()[..],
            b"# HELP x X.\n# TYPE x gauge\nx 1\n# EOF\n"
        );
    }

    #[test]
    fn a_body_is_compressed_once() {
        let e = exposition();
        let first = e.gzipped(Format::Text);
        let again = e.gzipped(Format::Text);
        // The same allocation handed out again, not a second compression.
        assert_eq!(first.as_ptr(), again.as_ptr());
        assert_eq!(e.response(Format::Text, true)[0].as_ptr(), first.as_ptr());
    }
}
