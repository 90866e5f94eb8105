//! The server's master secret (`WARDEN_SECRET_KEY`) and the keys derived from it.
//!
//! Private signing keys are stored as compact JWE (`dir` + `A256GCM`, RFC 7516/7518 §4.5,
//! §5.3) under a key derived from the master secret; the JWE protected header carries the
//! key id, so a ciphertext moved to another row fails authentication.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use hmac::{Hmac, KeyInit, Mac};
use josekit::jwe::{self, Dir, JweHeader};
use sha2::Sha256;

use crate::crypto::random;

#[derive(Clone)]
pub struct MasterKey {
    encryption: [u8; 32],
    pepper: [u8; 32],
    dpop_nonce: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    pub fn from_secret(secret: &str) -> MasterKey {
        MasterKey {
            encryption: derive(secret, b"warden/v1/signing-key-encryption"),
            pepper: derive(secret, b"warden/v1/secret-hash-pepper"),
            dpop_nonce: derive(secret, b"warden/v1/dpop-nonce"),
        }
    }

    /// Encrypts `plaintext` for storage; `kid` is bound into the authenticated header.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> anyhow::Result<String> {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_key_id(kid);
        let encrypter = Dir.encrypter_from_bytes(self.encryption)?;
        Ok(jwe::serialize_compact(plaintext, &header, &encrypter)?)
    }

    pub fn open(&self, kid: &str, sealed: &str) -> anyhow::Result<Vec<u8>> {
        let decrypter = Dir.decrypter_from_bytes(self.encryption)?;
        let (plaintext, header) =
            jwe::deserialize_compact(sealed, &decrypter).context("decryption failed")?;
        if header.key_id() != Some(kid) {
            bail!("the ciphertext belongs to another key");
        }
        Ok(plaintext)
    }

    /// The key DPoP nonces are made with (`oauth::dpop::nonce`): every node derives the
    /// same one, so a nonce from one node is good at another.
    pub fn dpop_nonce_key(&self) -> &[u8; 32] {
        &self.dpop_nonce
    }

    /// HMAC-SHA-256 under the server pepper, base64url: how high-entropy secrets generated
    /// by Warden (client secrets) are stored. Fast, unlike argon2, and useless without the
    /// master secret.
    pub fn keyed_hash(&self, value: &str) -> String {
        use base64::Engine;
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.pepper)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }
}

fn derive(secret: &str, label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Reads the embedded-mode key file, or creates it (owner-only) when `may_create`.
pub fn load_or_create_key_file(path: &Path, may_create: bool) -> anyhow::Result<String> {
    match fs::read_to_string(path) {
        Ok(content) => {
            let secret = content.trim().to_owned();
            if secret.len() < 32 {
                bail!("the key file {} is too short or corrupt", path.display());
            }
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !may_create {
                bail!(
                    "the database holds signing keys but the key file {} is missing and \
                     WARDEN_SECRET_KEY is not set; restore the file or set the key",
                    path.display()
                );
            }
            let secret = random::token();
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options
                .open(path)
                .with_context(|| format!("cannot create the key file {}", path.display()))?;
            file.write_all(secret.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the key file {}", path.display()))?;
            Ok(secret)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the key file {}", path.display())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_secret_and_kid() {
        let key = MasterKey::from_secret("a secret of more than thirty-two characters");
        let sealed = key.seal("kid-1", b"private").unwrap();
        assert_eq!(key.open("kid-1", &sealed).unwrap(), b"private");
        assert!(key.open("kid-2", &sealed).is_err());
        let other = MasterKey::from_secret("another secret of more than thirty-two chars");
        assert!(other.open("kid-1", &sealed).is_err());
    }

    #[test]
    fn keyed_hash_depends_on_the_secret() {
        let a = MasterKey::from_secret("a secret of more than thirty-two characters");
        let b = MasterKey::from_secret("another secret of more than thirty-two chars");
        assert_eq!(a.keyed_hash("x"), a.keyed_hash("x"));
        assert_ne!(a.keyed_hash("x"), b.keyed_hash("x"));
    }
}
