//! The EncodingAESKey format: 43 base64 characters that decode to a 32-byte AES key. Parsed once,
//! when the config is read (a key that is not one is a config error); the probe and the
//! simulator's callback server encrypt with the parsed key (`probe/crypto.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use secrecy::{ExposeSecret, SecretSlice};

/// The 43 characters leave 2 bits over after 32 bytes; keys from the console need not have them
/// zero, so they are ignored as WeChat's own code does.
const KEY_DECODER: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// A decoded EncodingAESKey (kept secret: never printed).
#[derive(Clone)]
pub struct AesKey(SecretSlice<u8>);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey([REDACTED])")
    }
}

impl PartialEq for AesKey {
    fn eq(&self, other: &AesKey) -> bool {
        self.bytes() == other.bytes()
    }
}

impl AesKey {
    /// The key of a 43-character EncodingAESKey, `None` if it is not one.
    pub fn parse(encoding_aes_key: &str) -> Option<AesKey> {
        if encoding_aes_key.len() != 43 {
            return None;
        }
        let bytes = KEY_DECODER.decode(format!("{encoding_aes_key}=")).ok()?;
        (bytes.len() == 32).then(|| AesKey(SecretSlice::from(bytes)))
    }

    /// The 32 key bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}
