//! WeChat's callback signatures: the hex SHA-1 of the sorted, concatenated parts.

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

/// The hex SHA-1 of `parts` sorted lexicographically (as bytes) and concatenated. With the Token,
/// timestamp and nonce it is the URL check's `signature`; with the `Encrypt` field added it is a
/// safe-mode message's `msg_signature`.
pub fn sorted_sha1(parts: &[&str]) -> String {
    let mut sorted = parts.to_vec();
    sorted.sort_unstable();
    let joined = sorted.concat();
    hex(digest(&SHA1_FOR_LEGACY_USE_ONLY, joined.as_bytes()).as_ref())
}

/// `signature` of the URL check and of a plain-mode message.
pub fn signature(token: &str, timestamp: &str, nonce: &str) -> String {
    sorted_sha1(&[token, timestamp, nonce])
}

/// `msg_signature` of a safe-mode message.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    sorted_sha1(&[token, timestamp, nonce, encrypt])
}

/// Lower-case hex, as WeChat sends it.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inputs sorted: "1700000000" < "424242" < "probetoken"; the digest was computed outside Rust:
    /// `printf '1700000000424242probetoken' | sha1sum`.
    #[test]
    fn signature_matches_sha1sum_on_a_worked_example() {
        assert_eq!(
            signature("probetoken", "1700000000", "424242"),
            "f8b140d991d82501028f1133d9ae9a7ca356dd8e"
        );
        // The order of the arguments does not matter: WeChat sorts them.
        assert_eq!(
            sorted_sha1(&["424242", "probetoken", "1700000000"]),
            signature("probetoken", "1700000000", "424242")
        );
    }

    /// Same check against python3's hashlib, a second independent implementation.
    #[test]
    fn msg_signature_matches_python_hashlib() {
        let (token, ts, nonce, encrypt) = ("Tok3n", "1714000000", "99", "QUJD+/=");
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import hashlib,sys; print(hashlib.sha1(''.join(sorted(sys.argv[1:])).encode()).hexdigest())",
                token,
                ts,
                nonce,
                encrypt,
            ])
            .output()
            .expect("python3 runs");
        assert!(out.status.success());
        let expected = String::from_utf8(out.stdout).unwrap();
        assert_eq!(msg_signature(token, ts, nonce, encrypt), expected.trim());
    }
}
