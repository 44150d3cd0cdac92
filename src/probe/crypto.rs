//! WeChat's safe-mode (安全模式) message encryption: AES-256-CBC with the EncodingAESKey.
//!
//! The key is `base64(EncodingAESKey + "=")`, the IV its first 16 bytes; the plaintext is 16
//! random bytes, the message length (4 bytes, big-endian), the message and the AppID, padded
//! PKCS#7-style to a multiple of 32 bytes (not AES's 16: WeChat's own choice).

use aws_lc_rs::cipher::{
    AES_256, DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub use crate::config::AesKey;

/// WeChat pads to 32-byte blocks.
const BLOCK: usize = 32;

/// Why a reply could not be decrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptError;

impl AesKey {
    fn iv(&self) -> [u8; 16] {
        let mut iv = [0; 16];
        iv.copy_from_slice(&self.bytes()[..16]);
        iv
    }

    /// The base64 `Encrypt` field of `msg` from `app_id`, with `random` as the 16-byte prefix.
    pub fn encrypt(&self, random: [u8; 16], msg: &[u8], app_id: &str) -> String {
        let mut plain = Vec::with_capacity(20 + msg.len() + app_id.len() + BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(app_id.as_bytes());
        let pad = BLOCK - plain.len() % BLOCK;
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let key = EncryptingKey::cbc(
            UnboundCipherKey::new(&AES_256, self.bytes()).expect("a 32-byte key"),
        )
        .expect("AES-256-CBC is available");
        key.less_safe_encrypt(
            &mut plain,
            EncryptionContext::Iv128(FixedLength::from(self.iv())),
        )
        .expect("the input is a whole number of blocks");
        STANDARD.encode(plain)
    }

    /// The message and AppID inside a base64 `Encrypt` field.
    pub fn decrypt(&self, encrypt: &str) -> Result<(Vec<u8>, String), DecryptError> {
        let mut data = STANDARD.decode(encrypt.trim()).map_err(|_| DecryptError)?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(DecryptError);
        }
        let key = DecryptingKey::cbc(
            UnboundCipherKey::new(&AES_256, self.bytes()).map_err(|_| DecryptError)?,
        )
        .map_err(|_| DecryptError)?;
        let plain = key
            .decrypt(
                &mut data,
                DecryptionContext::Iv128(FixedLength::from(self.iv())),
            )
            .map_err(|_| DecryptError)?;
        let pad = usize::from(*plain.last().ok_or(DecryptError)?);
        if !(1..=BLOCK).contains(&pad) || pad > plain.len() {
            return Err(DecryptError);
        }
        let plain = &plain[..plain.len() - pad];
        if plain.len() < 20 {
            return Err(DecryptError);
        }
        let len = u32::from_be_bytes(plain[16..20].try_into().map_err(|_| DecryptError)?) as usize;
        let rest = &plain[20..];
        if len > rest.len() {
            return Err(DecryptError);
        }
        let app_id = String::from_utf8(rest[len..].to_vec()).map_err(|_| DecryptError)?;
        Ok((rest[..len].to_vec(), app_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::signature::hex;

    /// A made-up EncodingAESKey (43 characters) for the tests.
    pub(crate) const TEST_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn parses_only_43_character_keys() {
        assert!(AesKey::parse(TEST_KEY).is_some());
        assert!(AesKey::parse(&TEST_KEY[..42]).is_none());
        assert!(AesKey::parse(&format!("{TEST_KEY}H")).is_none());
        assert!(AesKey::parse("!bcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").is_none());
        assert_eq!(
            format!("{:?}", AesKey::parse(TEST_KEY).unwrap()),
            "AesKey([REDACTED])"
        );
    }

    #[test]
    fn round_trips_and_pads_to_32_bytes() {
        let key = AesKey::parse(TEST_KEY).unwrap();
        for len in [0, 1, 11, 12, 43, 100] {
            let msg = vec![b'x'; len];
            let enc = key.encrypt([7; 16], &msg, "wx0123456789abcdef");
            let raw = STANDARD.decode(&enc).unwrap();
            assert_eq!(raw.len() % 32, 0, "len {len}");
            assert_eq!(
                key.decrypt(&enc).unwrap(),
                (msg, "wx0123456789abcdef".to_string())
            );
        }
        assert_eq!(key.decrypt("bm90IGJsb2Nrcw=="), Err(DecryptError));
    }

    /// The ciphertext decrypts with openssl's own AES (not this code): key and IV as the
    /// EncodingAESKey rule says, no padding removed by openssl, so WeChat's 32-byte padding is
    /// checked here too.
    #[test]
    fn openssl_decrypts_the_safe_mode_message() {
        let key = AesKey::parse(TEST_KEY).unwrap();
        let msg = b"<xml><Content><![CDATA[probe]]></Content></xml>";
        let enc = key.encrypt([0x42; 16], msg, "wx0123456789abcdef");
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("enc.bin");
        std::fs::write(&input, STANDARD.decode(&enc).unwrap()).unwrap();
        // The key bytes computed independently of AesKey::parse, by python3's base64.
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import base64,sys; print(base64.b64decode(sys.argv[1] + '=').hex())",
                TEST_KEY,
            ])
            .output()
            .expect("python3 runs");
        let key_hex = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(key_hex, hex(key.bytes()));
        let out = std::process::Command::new("openssl")
            .args(["enc", "-d", "-aes-256-cbc", "-nopad", "-K", &key_hex, "-iv"])
            .arg(&key_hex[..32])
            .arg("-in")
            .arg(&input)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plain = out.stdout;
        let mut expected = vec![0x42; 16];
        expected.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        expected.extend_from_slice(msg);
        expected.extend_from_slice(b"wx0123456789abcdef");
        let pad = 32 - expected.len() % 32;
        expected.extend(std::iter::repeat_n(pad as u8, pad));
        assert_eq!(plain, expected);
    }
}
