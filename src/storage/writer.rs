//! The state directory's writer thread: queued account states are coalesced, compared with what
//! was last written by digest, and written atomically only when they changed.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash as _, Hasher as _};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::{Saved, StateDir, compress, encode_json};

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

/// A digest of an account's encoded state: the writer keeps this, not the bytes, to tell an
/// unchanged state (16 bytes an account instead of its whole file, at thousands of accounts).
pub(super) fn digest(json: &[u8]) -> u128 {
    // Two SipHash passes with different prefixes: a 128-bit digest, so that skipping a write
    // because two different states collide is out of the question.
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        json.hash(&mut h);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

fn write_loop(dir: &StateDir, rx: &mpsc::Receiver<Message>) {
    let mut last: HashMap<String, u128> = HashMap::new();
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
            let json = encode_json(&name, &app_id, &saved);
            // Compared before compressing: an unchanged state costs neither gzip nor disk.
            let sum = digest(&json);
            if last.get(&name) == Some(&sum) {
                continue;
            }
            match dir.write(&name, &compress(&json)) {
                Ok(()) => {
                    last.insert(name, sum);
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
