//! The `/metrics` bodies of one snapshot, each encoded at most once, on the first scrape that asks
//! for it: the classic text body with the OpenMetrics body as slices of it, and the gzip of each.
//!
//! The sample lines of both formats are byte-identical (only the `# HELP`/`# TYPE` heads and the
//! `# EOF` trailer differ), so the OpenMetrics body is the OpenMetrics heads interleaved with
//! slices of the text body: one stored copy of the lines, not two. A gzip body is encoded straight
//! into the compressor when no plain body exists, so an exporter that only Prometheus scrapes
//! (it always asks for gzip) keeps just the compressed bytes (a tenth of the plain ones). Each is
//! then reused until the snapshot changes. The per-scrape `process_*` block goes out as a second gzip member
//! (RFC 1952 section 2.2: a gzip file is a series of members; Go's reader, the one Prometheus
//! uses, and flate2's `MultiGzDecoder` read them all), so the big part is never compressed again.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;

use super::text::{self, Format};
use super::{Sample, Snapshot, process};

/// The gzip level: 1 compresses a 270 MB body (1000 accounts) to about a tenth several times
/// faster than the default 6, whose output is only a little smaller (docs/benchmarks.md,
/// "Compressed scrapes").
pub const GZIP_LEVEL: u32 = 1;

const EOF: &[u8] = b"# EOF\n";

/// What the bodies are encoded from: the accounts' snapshots (shared, not copied) and the
/// exporter's own samples of that moment.
#[derive(Default)]
pub(super) struct Source {
    pub accounts: Vec<Arc<Snapshot>>,
    pub own: Vec<(&'static str, Sample)>,
}

impl Source {
    fn families(&self) -> BTreeMap<&'static str, Vec<&Sample>> {
        super::merged_families(&self.accounts, &self.own)
    }

    fn series(&self) -> usize {
        let accounts: usize = self
            .accounts
            .iter()
            .map(|a| a.families.values().map(Vec::len).sum::<usize>())
            .sum();
        accounts + self.own.len()
    }
}

struct Plain {
    source: Source,
    /// The text body and the OpenMetrics chunks (without `# EOF`), once encoded.
    bodies: OnceLock<(Bytes, Vec<Bytes>)>,
}

/// The plain bodies, encoded on first use; derefs to the text body (which it then encodes).
/// Not `Clone`, so `exposition.text.clone()` is the text body's `Bytes`.
pub struct PlainBodies(Arc<Plain>);

impl Default for PlainBodies {
    fn default() -> Self {
        Self(Arc::new(Plain {
            source: Source::default(),
            bodies: OnceLock::new(),
        }))
    }
}

impl PlainBodies {
    fn get(&self) -> &(Bytes, Vec<Bytes>) {
        self.0.bodies.get_or_init(|| {
            // About 110 bytes a series: no growing by doubling to twice the size.
            let families = self.0.source.families();
            text::encode_both(&families, self.0.source.series() * 112)
        })
    }

    fn is_made(&self) -> bool {
        self.0.bodies.get().is_some()
    }
}

impl Deref for PlainBodies {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        &self.get().0
    }
}

impl fmt::Debug for PlainBodies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainBodies")
            .field("made", &self.is_made())
            .finish()
    }
}

/// The bodies of one snapshot, as `Store::exposition` hands them out.
#[derive(Debug, Default)]
pub struct Exposition {
    /// The classic text format 0.0.4 body (encoded on first use).
    pub text: PlainBodies,
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
    /// The bodies of `source`, none encoded yet.
    pub(super) fn new(source: Source) -> Self {
        Self {
            text: PlainBodies(Arc::new(Plain {
                source,
                bodies: OnceLock::new(),
            })),
            gzip_text: OnceLock::new(),
            gzip_openmetrics: OnceLock::new(),
        }
    }

    /// The whole OpenMetrics body, `# EOF` included (a copy: for tests and tools, not scrapes).
    pub fn openmetrics(&self) -> Bytes {
        let chunks = &self.text.get().1;
        let mut body = Vec::with_capacity(chunks.iter().map(Bytes::len).sum::<usize>() + 6);
        for chunk in chunks {
            body.extend_from_slice(chunk);
        }
        body.extend_from_slice(EOF);
        Bytes::from(body)
    }

    /// Whether what a scrape of `format` (gzipped or not) sends is already encoded; if not,
    /// [`Exposition::response`] encodes it: call it where blocking is fine.
    pub fn is_ready(&self, format: Format, gzip: bool) -> bool {
        match (format, gzip) {
            (_, false) => self.text.is_made(),
            (Format::Text, true) => self.gzip_text.get().is_some(),
            (Format::OpenMetrics, true) => self.gzip_openmetrics.get().is_some(),
        }
    }

    /// The gzip of the body of `format` (OpenMetrics without `# EOF`), compressed on the first
    /// call, from the plain body when it exists, else encoded straight into the compressor;
    /// CPU-heavy for large bodies.
    pub fn gzipped(&self, format: Format) -> Bytes {
        let cell = match format {
            Format::Text => &self.gzip_text,
            Format::OpenMetrics => &self.gzip_openmetrics,
        };
        cell.get_or_init(|| {
            let size = self.text.0.source.series() * 112;
            if self.text.is_made() {
                let (text, openmetrics) = self.text.get();
                return match format {
                    Format::Text => gzip([&text[..]], size),
                    Format::OpenMetrics => gzip(openmetrics.iter().map(|c| &c[..]), size),
                };
            }
            let mut encoder = GzEncoder::new(
                Vec::with_capacity(size / 8 + 64),
                Compression::new(GZIP_LEVEL),
            );
            let families = self.text.0.source.families();
            text::encode_streamed(format, &families, |piece| {
                // Writing into a Vec cannot fail.
                let _ = encoder.write_all(piece);
            });
            let mut out = encoder.finish().unwrap_or_default();
            out.shrink_to_fit();
            Bytes::from(out)
        })
        .clone()
    }

    /// What a scrape sends: the body of `format` and the process block (OpenMetrics keeps
    /// `# EOF` last), plain or as gzip members, as chunks that share the stored bytes.
    pub fn response(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        let openmetrics = format == Format::OpenMetrics;
        let block = process::process_block(openmetrics, gzip);
        match (format, gzip) {
            (Format::Text, false) => vec![self.text.get().0.clone(), block],
            (Format::Text, true) => vec![self.gzipped(format), block],
            (Format::OpenMetrics, false) => {
                let mut chunks = self.text.get().1.clone();
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
        let up = |account: &str| Sample {
            name: "wechat_mp_up",
            labels: vec![("account", account.into())].into(),
            value: super::super::Value::Int(1),
        };
        let snapshot = Snapshot::new(vec![up("a"), up("b")]);
        Exposition::new(Source {
            accounts: vec![Arc::new(snapshot)],
            own: Vec::new(),
        })
    }

    const HEAD: &str = "# HELP wechat_mp_up ";

    fn inflate(chunks: &[Bytes]) -> String {
        let mut out = String::new();
        MultiGzDecoder::new(&chunks.concat()[..])
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn gzip_members_decode_to_the_plain_answer() {
        // Compressed first (streamed: no plain body made), then plain: the same bytes.
        let e = exposition();
        for format in [Format::Text, Format::OpenMetrics] {
            assert!(!e.is_ready(format, true));
            let zipped = e.response(format, true);
            assert!(e.is_ready(format, true));
            if format == Format::Text {
                assert!(
                    !e.is_ready(format, false),
                    "gzip did not need the plain body"
                );
            }
            let plain = e.response(format, false).concat();
            // Text: body + process block; OpenMetrics: body + process block + `# EOF`.
            let members = if format == Format::Text { 2 } else { 3 };
            assert_eq!(zipped.len(), members);
            assert!(zipped.iter().all(|m| m.starts_with(&[0x1f, 0x8b])));
            let text = inflate(&zipped);
            assert_eq!(text.as_bytes(), &plain[..]);
            assert!(text.contains("\nprocess_"), "{text}");
            assert!(text.starts_with(HEAD), "{text}");
            assert!(text.contains("\nwechat_mp_up{account=\"b\"} 1\n"), "{text}");
            if format == Format::OpenMetrics {
                assert!(text.ends_with("\n# EOF\n") && text.matches("# EOF").count() == 1);
            } else {
                assert!(!text.contains("# EOF"));
            }
        }
        let om = e.openmetrics();
        assert!(om.starts_with(HEAD.as_bytes()) && om.ends_with(b"} 1\n# EOF\n"));
        // Plain first, then compressed from the plain body: the same bytes again.
        let e = exposition();
        let plain = e.response(Format::OpenMetrics, false).concat();
        assert!(e.is_ready(Format::Text, false));
        assert_eq!(
            inflate(&e.response(Format::OpenMetrics, true)).as_bytes(),
            &plain[..]
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
