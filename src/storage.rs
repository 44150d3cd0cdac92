//! The state directory (`--storage.path`): per account, what the plan needs and the last reports,
//! so that a restart serves the last values before any upstream call and never fetches a final day
//! again. The file format knows reports and plan, nothing of HTTP; it never holds a token or secret.
//!
//! One file per account, `accounts/<name>.json`, so a damaged file costs one account its history
//! and nothing else. Files are replaced atomically (temp file, fsync, rename, fsync of the
//! directory) by a writer thread, so neither a scrape nor a poll round waits on the disk.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::Context as _;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The version of the file format; a file of another version is set aside, not guessed at.
pub const FORMAT_VERSION: u32 = 1;

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
    pub body: serde_json::Value,
}

/// One send/publish date of a re-polled endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowRecord {
    /// The day whose running totals `body` holds.
    pub as_of: Date,
    /// `{"list": [...]}`.
    pub body: serde_json::Value,
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

#[derive(Serialize, Deserialize)]
struct AccountFile {
    version: u32,
    account: String,
    /// A state belongs to an AppID: another account under the same name starts fresh.
    app_id: String,
    #[serde(flatten)]
    saved: Saved,
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
            .join(format!("{}.json", file_stem(name)))
    }

    /// The saved state of account `name` with AppID `app_id`, if there is a usable one. A file
    /// that cannot be used is moved aside with a warning naming it and why; this never fails.
    pub fn load(&self, name: &str, app_id: &str) -> Option<Saved> {
        let path = self.account_path(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.set_aside(name, &path, &format!("cannot be read: {e}"));
                return None;
            }
        };
        match decode(&bytes, name, app_id) {
            Ok(saved) => {
                tracing::info!(account = name, file = %path.display(), "loaded the saved state");
                Some(saved)
            }
            Err(why) => {
                self.set_aside(name, &path, &why);
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

    /// Deletes the files of accounts not in `names` (removed from the config). Set-aside files
    /// are left for the operator.
    pub fn retain(&self, names: &[String]) {
        let keep: Vec<String> = names
            .iter()
            .map(|n| format!("{}.json", file_stem(n)))
            .collect();
        let Ok(entries) = fs::read_dir(self.accounts_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".json") && !keep.contains(&file) {
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

/// Serialises one account's file.
pub fn encode(name: &str, app_id: &str, saved: &Saved) -> Vec<u8> {
    let file = AccountFile {
        version: FORMAT_VERSION,
        account: name.to_string(),
        app_id: app_id.to_string(),
        saved: saved.clone(),
    };
    serde_json::to_vec_pretty(&file).expect("the state always serialises")
}

/// Reads one account's file, or says in words why it cannot be used.
pub fn decode(bytes: &[u8], name: &str, app_id: &str) -> Result<Saved, String> {
    let version: VersionOnly =
        serde_json::from_slice(bytes).map_err(|e| format!("not a state file: {e}"))?;
    match version.version {
        Some(FORMAT_VERSION) => {}
        Some(v) => {
            return Err(format!(
                "format version {v}, this exporter reads version {FORMAT_VERSION}"
            ));
        }
        None => return Err("no format version".into()),
    }
    let file: AccountFile =
        serde_json::from_slice(bytes).map_err(|e| format!("damaged state file: {e}"))?;
    if file.account != name {
        return Err(format!("it belongs to account {:?}", file.account));
    }
    if file.app_id != app_id {
        return Err(format!(
            "it belongs to app_id {}, the account is now {app_id}",
            file.app_id
        ));
    }
    Ok(file.saved)
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

enum Message {
    Save {
        name: String,
        app_id: String,
        saved: Box<Saved>,
    },
    Retain(Vec<String>),
    Sync(mpsc::Sender<()>),
}

/// Writes account states on a thread of its own, only when they changed.
#[derive(Debug)]
pub struct StateWriter {
    tx: Option<mpsc::Sender<Message>>,
    thread: Option<JoinHandle<()>>,
}

impl StateWriter {
    /// Starts the writer thread over `dir`.
    pub fn start(dir: StateDir) -> Self {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("state-writer".into())
            .spawn(move || write_loop(&dir, &rx))
            .expect("the state writer thread starts");
        Self {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    fn send(&self, message: Message) {
        if let Some(tx) = &self.tx {
            // The thread only stops when this writer is dropped.
            let _ = tx.send(message);
        }
    }

    /// Queues account `name`'s state (written unless it equals what was last written).
    pub fn save(&self, name: &str, app_id: &str, saved: Saved) {
        self.send(Message::Save {
            name: name.to_string(),
            app_id: app_id.to_string(),
            saved: Box::new(saved),
        });
    }

    /// Queues dropping every account's state but `names`'.
    pub fn retain(&self, names: Vec<String>) {
        self.send(Message::Retain(names));
    }

    /// Waits until everything queued so far is on disk.
    pub fn sync(&self) {
        let (done, wait) = mpsc::channel();
        self.send(Message::Sync(done));
        let _ = wait.recv();
    }
}

impl Drop for StateWriter {
    /// Writes what is queued before the process goes on to exit (graceful shutdown).
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(dir: &StateDir, rx: &mpsc::Receiver<Message>) {
    let mut last: HashMap<String, Vec<u8>> = HashMap::new();
    while let Ok(first) = rx.recv() {
        // Coalesce what queued meanwhile: only the newest state of each account is encoded and
        // written (encoding is most of the writer's work; a superseded state is not worth it).
        let mut pending: BTreeMap<String, (String, Box<Saved>)> = BTreeMap::new();
        let mut syncs = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Save {
                    name,
                    app_id,
                    saved,
                } => {
                    pending.insert(name, (app_id, saved));
                }
                Message::Retain(names) => {
                    pending.retain(|n, _| names.contains(n));
                    last.retain(|n, _| names.contains(n));
                    dir.retain(&names);
                }
                Message::Sync(done) => syncs.push(done),
            }
            next = rx.try_recv().ok();
        }
        for (name, (app_id, saved)) in pending {
            let bytes = encode(&name, &app_id, &saved);
            if last.get(&name) == Some(&bytes) {
                continue;
            }
            match dir.write(&name, &bytes) {
                Ok(()) => {
                    last.insert(name, bytes);
                }
                Err(e) => {
                    tracing::warn!(account = %name, file = %dir.account_path(&name).display(), error = %e, "cannot save the account's state; will try again after its next poll");
                }
            }
        }
        for done in syncs {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests;
