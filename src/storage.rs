//! The state directory (`--storage.path`): per account, what the plan needs and the last reports,
//! so that a restart serves the last values before any upstream call and never fetches a final day
//! again. The file format knows reports and plan, nothing of HTTP; it never holds a token or secret.
//!
//! One file per account, `accounts/<name>.json.gz` (compact JSON, gzipped: `zcat` reads it), so a
//! damaged file costs one account its history and nothing else. Files are replaced atomically
//! (temp file, fsync, rename, fsync of the directory) by a writer thread, only when the account's
//! state changed, so neither a scrape nor a poll round waits on the disk.
//!
//! Format 1 was pretty JSON in `accounts/<name>.json`; such a file is read once, rewritten in
//! format 2 and deleted (`load`).

use std::collections::BTreeMap;
use std::fs;

use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The version of the file format; a file of another version is set aside, not guessed at
/// (but for [`PREVIOUS_VERSION`], which is migrated).
pub const FORMAT_VERSION: u32 = 2;

/// Format 1 (pretty JSON in `<name>.json`, no quota readings): read once and rewritten.
pub const PREVIOUS_VERSION: u32 = 1;

/// The file name's ending in format 2.
const EXTENSION: &str = "json.gz";

/// The file name's ending in format 1.
const PREVIOUS_EXTENSION: &str = "json";

/// A state file never decompresses to more than this: a file that does is not one we wrote
/// (200 articles of per-article windows stay far below a few MB).
const MAX_DECOMPRESSED: u64 = 256 << 20;

/// What the plan of one account remembers across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanState {
    /// Per endpoint name: the day fetched, whether it is retired or stopped by quota, its last rows.
    #[serde(default)]
    pub endpoints: BTreeMap<String, EndpointRecord>,
    /// Per re-polled endpoint name, per send/publish date: the running totals and their day.
    #[serde(default)]
    pub windows: BTreeMap<String, BTreeMap<Date, WindowRecord>>,
    /// The last error per endpoint name, in the words the landing page shows.
    #[serde(default)]
    pub errors: BTreeMap<String, String>,
}

/// One endpoint of [`PlanState`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointRecord {
    /// Day endpoints: the target day fetched. Period endpoints: the period label fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<Date>,
    /// Retired for good (47009 offline, or unauthorized legacy endpoint), with the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<String>,
    /// Stopped by 45009 (daily quota) until this instant (the next UTC+8 midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_until: Option<Timestamp>,
    /// The latest rows and the day they describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<StoredReport>,
}

/// Rows as WeChat's own success body, so they are read back by the same parser as live answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReport {
    /// The China day the rows describe.
    pub date: Date,
    /// `{"list": [...]}`.
    pub body: Body,
}

/// A success body (`{"list": [...]}`) as JSON text, kept as the file holds it: reading a file
/// builds no tree of it, and a restart hands the text to the live parser as it is (a tree, then
/// written out again for that parser, was a third of the restart's time at 5,000 accounts).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Body(Box<serde_json::value::RawValue>);

impl Body {
    /// A body from its JSON text; `None` when it is not JSON.
    pub fn from_json(json: Vec<u8>) -> Option<Body> {
        let text = String::from_utf8(json).ok()?;
        serde_json::value::RawValue::from_string(text)
            .ok()
            .map(Body)
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The body as a JSON tree (for tests and tools).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.json()).expect("a Body holds valid JSON")
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        self.json() == other.json()
    }
}

/// One send/publish date of a re-polled endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    /// The day whose running totals `body` holds.
    pub as_of: Date,
    /// `{"list": [...]}`.
    pub body: Body,
}

/// The account's health when it was saved, so `wechat_mp_up` does not drop on a restart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// The last poll round had no error.
    pub up: bool,
    /// Seconds the last poll round took.
    #[serde(default)]
    pub last_poll_seconds: Option<f64>,
    /// Unix seconds when the last poll round ended.
    #[serde(default)]
    pub last_poll_end: Option<i64>,
    /// Per endpoint name, the last getApiQuota reading, so the `wechat_mp_api_quota_*` gauges
    /// (and the alert on them) do not vanish until the next daily read (format 2).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quota: BTreeMap<String, QuotaRecord>,
    /// The UTC+8 day those readings were taken: a restart the same day does not read them again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_read: Option<Date>,
}

/// One API's daily quota as getApiQuota last reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaRecord {
    /// Calls allowed per day.
    pub daily_limit: u64,
    /// Calls counted that day.
    pub used: u64,
    /// Calls left that day.
    pub remain: u64,
}

/// What one account file holds besides its identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// The plan.
    pub plan: PlanState,
    /// The health.
    #[serde(default)]
    pub status: StatusRecord,
}

/// [`AccountFile`] borrowed, so encoding copies nothing. [`Saved`]'s fields are spelled out,
/// not `#[serde(flatten)]`: flattening buffers the whole file before parsing it (and cannot
/// hold a [`Body`]).
#[derive(Serialize)]
struct AccountFileRef<'a> {
    version: u32,
    account: &'a str,
    app_id: &'a str,
    plan: &'a PlanState,
    status: &'a StatusRecord,
}

/// What is read back.
#[derive(Deserialize)]
struct AccountFile {
    version: Option<u32>,
    account: String,
    /// A state belongs to an AppID: another account under the same name starts fresh.
    app_id: String,
    plan: PlanState,
    #[serde(default)]
    status: StatusRecord,
}

#[derive(Deserialize)]
struct VersionOnly {
    version: Option<u32>,
}

/// The state directory, checked writable.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Creates `root/accounts` if needed and checks it can be written; the error names the flag.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let dir = Self {
            root: root.to_path_buf(),
        };
        let accounts = dir.accounts_dir();
        let check = || -> io::Result<()> {
            fs::create_dir_all(&accounts)?;
            let mut probe = tempfile::NamedTempFile::new_in(&accounts)?;
            probe.write_all(b"probe")?;
            probe.as_file().sync_all()?;
            Ok(())
        };
        check().with_context(|| {
            format!(
                "--storage.path {}: cannot write state there (set --storage.path or WECHAT_MP_EXPORTER_STORAGE_PATH to a writable directory, or to \"\" to keep no state)",
                root.display()
            )
        })?;
        Ok(dir)
    }

    /// The directory given to `open`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn accounts_dir(&self) -> PathBuf {
        self.root.join("accounts")
    }

    /// Where the latest `authorizer_refresh_token` of third-party account `app_id` is kept:
    /// `tokens/<app_id>.refresh_token`, mode 0600, apart from the account files (which never
    /// hold a token), written by `wechat::token::component` when WeChat rotates it.
    pub fn refresh_token_path(&self, app_id: &str) -> PathBuf {
        self.root
            .join("tokens")
            .join(format!("{}.refresh_token", file_stem(app_id)))
    }

    /// The file of account `name`.
    pub fn account_path(&self, name: &str) -> PathBuf {
        self.accounts_dir()
            .join(format!("{}.{EXTENSION}", file_stem(name)))
    }

    /// Where format 1 kept account `name`'s state.
    pub fn previous_path(&self, name: &str) -> PathBuf {
        self.accounts_dir()
            .join(format!("{}.{PREVIOUS_EXTENSION}", file_stem(name)))
    }

    /// The saved state of account `name` with AppID `app_id`, if there is a usable one. A file
    /// that cannot be used is moved aside with a warning naming it and why; this never fails.
    /// A format 1 file (`<name>.json`) is read, rewritten as `<name>.json.gz` and deleted.
    pub fn load(&self, name: &str, app_id: &str) -> Option<Saved> {
        let previous = self.previous_path(name);
        if let Some(saved) = self.load_file(name, app_id, &self.account_path(name)) {
            // A format 1 file beside a format 2 one: a migration stopped between the two
            // steps; the new file has everything the old one had.
            remove_previous(name, &previous);
            return Some(saved);
        }
        let saved = self.load_file(name, app_id, &previous)?;
        match self.write(name, &encode(name, app_id, &saved)) {
            Ok(()) => {
                tracing::info!(
                    account = name,
                    from = %previous.display(),
                    to = %self.account_path(name).display(),
                    "migrated the saved state to format {FORMAT_VERSION}"
                );
                remove_previous(name, &previous);
            }
            // The old file stays, so nothing is lost; the next save writes the new one.
            Err(e) => tracing::warn!(
                account = name,
                file = %self.account_path(name).display(),
                error = %e,
                "cannot write the migrated state; keeping the format 1 file until the next save"
            ),
        }
        Some(saved)
    }

    fn load_file(&self, name: &str, app_id: &str, path: &Path) -> Option<Saved> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.set_aside(name, path, &format!("cannot be read: {e}"));
                return None;
            }
        };
        match decode(&bytes, name, app_id) {
            Ok(saved) => {
                tracing::info!(account = name, file = %path.display(), "loaded the saved state");
                Some(saved)
            }
            Err(why) => {
                self.set_aside(name, path, &why);
                None
            }
        }
    }

    /// Renames `path` to `<path>.corrupt-<unix seconds>` (`-2`, `-3`, ... after it when a file
    /// of that name exists: two restarts in one second) so nothing overwrites it silently.
    fn set_aside(&self, account: &str, path: &Path, why: &str) {
        let stem = format!(
            "{}.corrupt-{}",
            path.display(),
            Timestamp::now().as_second()
        );
        let aside = std::iter::once(PathBuf::from(&stem))
            .chain((2..).map(|n| PathBuf::from(format!("{stem}-{n}"))))
            .find(|p| fs::symlink_metadata(p).is_err())
            .unwrap_or_else(|| PathBuf::from(&stem));
        match fs::rename(path, &aside) {
            Ok(()) => tracing::warn!(
                account,
                file = %path.display(),
                moved_to = %aside.display(),
                reason = why,
                "state file not usable, moved aside; the account starts fresh"
            ),
            Err(e) => tracing::warn!(
                account,
                file = %path.display(),
                reason = why,
                error = %e,
                "state file not usable and cannot be moved aside; the account starts fresh and will replace it"
            ),
        }
    }

    /// Writes account `name`'s file atomically: temp file, fsync, rename, fsync of the directory.
    pub fn write(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let dir = self.accounts_dir();
        let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.account_path(name)).map_err(|e| e.error)?;
        fs::File::open(&dir)?.sync_all()
    }

    /// Deletes the files of accounts not in `names` (removed from the config), in either
    /// format. Set-aside files are left for the operator.
    pub fn retain(&self, names: &[String]) {
        let keep: Vec<String> = names
            .iter()
            .flat_map(|n| {
                let stem = file_stem(n);
                [
                    format!("{stem}.{EXTENSION}"),
                    format!("{stem}.{PREVIOUS_EXTENSION}"),
                ]
            })
            .collect();
        let Ok(entries) = fs::read_dir(self.accounts_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let state = [EXTENSION, PREVIOUS_EXTENSION]
                .iter()
                .any(|ext| file.ends_with(&format!(".{ext}")));
            if state && !keep.contains(&file) {
                match fs::remove_file(entry.path()) {
                    Ok(()) => {
                        tracing::info!(file = %entry.path().display(), "dropped the state of a removed account")
                    }
                    Err(e) => {
                        tracing::warn!(file = %entry.path().display(), error = %e, "cannot drop the state of a removed account")
                    }
                }
            }
        }
    }
}

/// Deletes the format 1 file `path` of account `name` once its state is in format 2.
fn remove_previous(name: &str, path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(
            account = name,
            file = %path.display(),
            error = %e,
            "cannot delete the format 1 state file; delete it by hand (the .json.gz file replaces it)"
        ),
    }
}

/// One account's file as compact JSON, before compression (what the writer compares).
fn encode_json(name: &str, app_id: &str, saved: &Saved) -> Vec<u8> {
    let file = AccountFileRef {
        version: FORMAT_VERSION,
        account: name,
        app_id,
        plan: &saved.plan,
        status: &saved.status,
    };
    serde_json::to_vec(&file).expect("the state always serialises")
}

/// Gzips `json` (the default level: the state is written once per change of an account, so
/// a few milliseconds buy a file several times smaller than the fastest level's).
fn compress(json: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(json.len() / 4),
        flate2::Compression::default(),
    );
    gz.write_all(json).expect("writing to memory cannot fail");
    gz.finish().expect("writing to memory cannot fail")
}

/// Serialises one account's file: format 2, compact JSON, gzipped.
pub fn encode(name: &str, app_id: &str, saved: &Saved) -> Vec<u8> {
    compress(&encode_json(name, app_id, saved))
}

/// Serialises one account's file in format 1 (pretty JSON, uncompressed), as exporters before
/// format 2 wrote it: for the tests of the migration.
#[cfg(test)]
fn encode_previous(name: &str, app_id: &str, saved: &Saved) -> Vec<u8> {
    let mut value = serde_json::to_value(AccountFileRef {
        version: PREVIOUS_VERSION,
        account: name,
        app_id,
        plan: &saved.plan,
        status: &saved.status,
    })
    .expect("the state always serialises");
    if let Some(status) = value.get_mut("status").and_then(|s| s.as_object_mut()) {
        status.remove("quota");
        status.remove("quota_read");
    }
    serde_json::to_vec_pretty(&value).expect("the state always serialises")
}

/// The JSON inside `bytes`: gunzipped when they start with gzip's magic bytes (format 2), as
/// they are otherwise (format 1, or a file edited by hand).
fn json_of(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut json = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("not a state file: damaged gzip data: {e}"))?;
    if json.len() as u64 > MAX_DECOMPRESSED {
        return Err(format!(
            "not a state file: it decompresses to more than {} MiB",
            MAX_DECOMPRESSED >> 20
        ));
    }
    Ok(std::borrow::Cow::Owned(json))
}

/// Reads one account's file (format 2, or format 1 to migrate), or says in words why it cannot
/// be used.
pub fn decode(bytes: &[u8], name: &str, app_id: &str) -> Result<Saved, String> {
    let json = json_of(bytes)?;
    let file = serde_json::from_slice::<AccountFile>(&json);
    // One parse for a good file; a file that does not parse is read again for its version
    // alone, so another version says so instead of "damaged".
    let version = match &file {
        Ok(file) => file.version,
        Err(_) => {
            serde_json::from_slice::<VersionOnly>(&json)
                .map_err(|e| format!("not a state file: {e}"))?
                .version
        }
    };
    match version {
        // Format 2 only added fields (with defaults), so format 1 reads through the same types.
        Some(FORMAT_VERSION | PREVIOUS_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "format version {v}, this exporter reads version {FORMAT_VERSION} (and migrates version {PREVIOUS_VERSION})"
            ));
        }
        None => return Err("no format version".into()),
    }
    let file = file.map_err(|e| format!("damaged state file: {e}"))?;
    if file.account != name {
        return Err(format!("it belongs to account {:?}", file.account));
    }
    if file.app_id != app_id {
        return Err(format!(
            "it belongs to app_id {}, the account is now {app_id}",
            file.app_id
        ));
    }
    Ok(Saved {
        plan: file.plan,
        status: file.status,
    })
}

/// A file name for any account name: ASCII letters, digits, `-` and `_` as they are, every other
/// byte as `%XX` (names are free text; a `/` must not reach the path).
fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

mod writer;
pub use writer::StateWriter;

#[cfg(test)]
mod tests;
