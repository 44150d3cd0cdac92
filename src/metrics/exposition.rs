//! The `/metrics` bodies as blocks, each encoded at most once per format, on the first scrape that
//! asks for it, and sent side by side.
//!
//! Three blocks, each a whole number of families (a family is never split across two):
//! - the business block: every account's report families; rebuilt only when business data
//!   changes (a poll round's end, an exclusion, an account leaving), so the bulk of the body is
//!   encoded and compressed once per business change;
//! - the live block: what changes between business updates, in three parts rebuilt apart, each
//!   only when one of its series changed and at most once per scrape: the accounts' health
//!   (`wechat_mp_up`, quota, data dates), the exporter's counters (calls, tokens, OTLP, build
//!   and reload info), the callback probes' series;
//! - the `process_*` block, read from /proc at most once a second.
//!
//! Compressed, each block is its own gzip member (RFC 1952 section 2.2: a gzip file is a series
//! of members; Go's reader, the one Prometheus uses, and flate2's `MultiGzDecoder` read them all),
//! so a probe result or a call never compresses the business block again. OpenMetrics ends with
//! one `# EOF` after the last block; protobuf bodies are length-delimited messages, which concatenate.

use std::fmt;
use std::io::Write as _;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;

use super::SelfMetrics;
use super::catalogue as m;
use super::text::{self, Families, Format};

/// The gzip level: 1 compresses a 270 MB body (1000 accounts) to about a tenth several times
/// faster than the default 6, whose output is only a little smaller (docs/benchmarks.md,
/// "Compressed scrapes").
pub const GZIP_LEVEL: u32 = 1;

const EOF: &[u8] = b"# EOF\n";

/// One block's bodies: each format plain and gzipped, encoded on first use.
pub(super) struct Block {
    families: Families,
    plain: [OnceLock<Bytes>; 3],
    gzip: [OnceLock<Bytes>; 3],
    /// Where each encoding of this block is counted (the business block's only).
    counted: Option<Arc<SelfMetrics>>,
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("families", &self.families)
            .finish()
    }
}

impl Block {
    pub fn new(families: Families, counted: Option<Arc<SelfMetrics>>) -> Self {
        Self {
            families,
            plain: Default::default(),
            gzip: Default::default(),
            counted,
        }
    }

    fn count(&self, format: Format) {
        if let Some(metrics) = &self.counted {
            metrics.add_exporter_count(
                m::EXPORTER_BUSINESS_ENCODES_TOTAL.name,
                ("format", format.label()),
                1,
            );
        }
    }

    /// The plain body of `format`.
    pub fn plain(&self, format: Format) -> Bytes {
        self.plain[format.index()]
            .get_or_init(|| {
                self.count(format);
                text::encode(format, self.families.clone())
            })
            .clone()
    }

    /// The gzip member of `format`: from the plain body when it exists, else encoded straight
    /// into the compressor (an exporter only Prometheus scrapes keeps just the compressed bytes).
    pub fn gzipped(&self, format: Format) -> Bytes {
        self.gzip[format.index()]
            .get_or_init(|| {
                let size = self.families.series() * 112;
                if let Some(plain) = self.plain[format.index()].get() {
                    return gzip([&plain[..]], size);
                }
                self.count(format);
                let mut encoder = GzEncoder::new(
                    Vec::with_capacity(size / 8 + 64),
                    Compression::new(GZIP_LEVEL),
                );
                // Writing into a Vec cannot fail.
                let _ = text::encode_into(format, self.families.clone(), &mut encoder);
                let mut out = encoder.finish().unwrap_or_default();
                out.shrink_to_fit();
                Bytes::from(out)
            })
            .clone()
    }

    /// The body a scrape of `format` sends, plain or compressed.
    pub fn body(&self, format: Format, compressed: bool) -> Bytes {
        if compressed {
            self.gzipped(format)
        } else {
            self.plain(format)
        }
    }

    /// Whether [`Block::body`] is already encoded.
    pub fn is_ready(&self, format: Format, compressed: bool) -> bool {
        let cells = if compressed { &self.gzip } else { &self.plain };
        cells[format.index()].get().is_some()
    }
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

/// Plain answers up to this size go out as one buffer, joined once per change of one of their
/// chunks; larger ones go out as their blocks. Plain answers over 1 MiB are the body of hundreds
/// of accounts (23 MB at 100): held twice they would cost more memory than their frames cost time.
pub const JOIN_PLAIN_BELOW: usize = 1 << 20;

/// [`JOIN_PLAIN_BELOW`] for gzip answers, which are about a twelfth of their plain size, so a
/// join costs less memory for the same body: at 100 accounts (1.9 MB) seven gzip members cost
/// about a tenth of the scrape rate one buffer reaches; at 1000 (18 MB) the blocks already keep
/// up with the bare server and a join would copy 18 MB after every probe result
/// (docs/benchmarks.md).
pub const JOIN_GZIP_BELOW: usize = 4 << 20;

/// The joined small answer of each format, plain and gzipped, with the chunks it was joined
/// from: holding them keeps their bytes alive, so equal pointers mean equal chunks.
#[derive(Debug, Default)]
pub(super) struct Joined {
    cells: [Mutex<Option<JoinedAnswer>>; 6],
}

/// The chunks of an answer and the one buffer they were joined into.
type JoinedAnswer = (Vec<Bytes>, Bytes);

impl Joined {
    /// `chunks` as one buffer, joined again only when one of them is new.
    fn join(&self, format: Format, gzip: bool, chunks: Vec<Bytes>) -> Bytes {
        let same = |a: &[Bytes], b: &[Bytes]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(a, b)| a.as_ptr() == b.as_ptr() && a.len() == b.len())
        };
        let cell = &self.cells[format.index() * 2 + usize::from(gzip)];
        let mut cell = cell.lock().unwrap_or_else(|e| e.into_inner());
        match cell.as_ref() {
            Some((from, joined)) if same(from, &chunks) => joined.clone(),
            _ => {
                let joined = Bytes::from(chunks.concat());
                *cell = Some((chunks, joined.clone()));
                joined
            }
        }
    }
}

/// The blocks of one moment, as `Store::exposition` hands them out.
#[derive(Debug)]
pub struct Exposition {
    /// The whole text 0.0.4 body without `process_*` (for tests and tools; a scrape sends the
    /// blocks as they are).
    pub text: PlainText,
    joined: Arc<Joined>,
}

/// The text body of the business and live blocks, joined on first use. Not `Clone`, so
/// `exposition.text.clone()` is the body's `Bytes`.
#[derive(Debug)]
pub struct PlainText {
    /// The business block's parts, in order.
    business: Arc<Vec<Arc<Block>>>,
    /// The live block's parts (`store::Live`), in order.
    live: [Arc<Block>; 3],
    joined: OnceLock<Bytes>,
}

impl Deref for PlainText {
    type Target = Bytes;
    fn deref(&self) -> &Bytes {
        self.joined.get_or_init(|| {
            let mut body = Vec::new();
            for part in self.business.iter() {
                body.extend_from_slice(&part.plain(Format::Text));
            }
            for part in &self.live {
                body.extend_from_slice(&part.plain(Format::Text));
            }
            Bytes::from(body)
        })
    }
}

impl Exposition {
    pub(super) fn new(
        business: Arc<Vec<Arc<Block>>>,
        live: [Arc<Block>; 3],
        joined: Arc<Joined>,
    ) -> Self {
        Self {
            text: PlainText {
                business,
                live,
                joined: OnceLock::new(),
            },
            joined,
        }
    }

    fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.text
            .business
            .iter()
            .map(|b| &**b)
            .chain(self.text.live.iter().map(|b| &**b))
    }

    /// The business block's first part (tests check it is the same one across probe results).
    #[cfg(test)]
    pub(super) fn business(&self) -> &Arc<Block> {
        &self.text.business[0]
    }

    /// The whole OpenMetrics body without `process_*`, `# EOF` included (for tests and tools).
    pub fn openmetrics(&self) -> Bytes {
        let mut body = Vec::new();
        for block in self.blocks() {
            body.extend_from_slice(&block.plain(Format::OpenMetrics));
        }
        body.extend_from_slice(EOF);
        Bytes::from(body)
    }

    /// Whether what a scrape of `format` (gzipped or not) sends is already encoded; if not,
    /// [`Exposition::response`] encodes it: call it where blocking is fine.
    pub fn is_ready(&self, format: Format, gzip: bool) -> bool {
        self.blocks().all(|b| b.is_ready(format, gzip))
    }

    /// What a scrape sends: the business, live and process blocks (OpenMetrics then `# EOF`),
    /// plain or as gzip members, as chunks that share the stored bytes; an answer under
    /// [`JOIN_PLAIN_BELOW`] or [`JOIN_GZIP_BELOW`] as one chunk, joined once per change.
    pub fn response(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        let chunks = self.blocks_of(format, gzip);
        let below = if gzip {
            JOIN_GZIP_BELOW
        } else {
            JOIN_PLAIN_BELOW
        };
        if chunks.len() > 1 && chunks.iter().map(Bytes::len).sum::<usize>() <= below {
            return vec![self.joined.join(format, gzip, chunks)];
        }
        chunks
    }

    /// The answer's blocks as they are, never joined.
    pub(super) fn blocks_of(&self, format: Format, gzip: bool) -> Vec<Bytes> {
        // The business block's parts encode side by side, one per core (the first encoding
        // after a restart or a poll round: seconds at thousands of accounts).
        if self.text.business.len() > 1 && !self.is_ready(format, gzip) {
            self.text.business.par_iter().for_each(|part| {
                part.body(format, gzip);
            });
        }
        let mut chunks: Vec<Bytes> = self.blocks().map(|b| b.body(format, gzip)).collect();
        chunks.push(super::process::process_block(format, gzip));
        if format == Format::OpenMetrics {
            chunks.push(if gzip {
                gzip_eof()
            } else {
                Bytes::from_static(EOF)
            });
        }
        // An empty plain block adds nothing (an empty gzip member still decodes to nothing).
        chunks.retain(|c| !c.is_empty());
        chunks
    }
}

#[cfg(test)]
mod tests;
