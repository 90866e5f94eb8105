//! Signing keys: generation, the JWKS (RFC 7517 §5), JWS compact signing (RFC 7515 §7.1)
//! and rotation.
//!
//! Rotation rule: a key is published from the moment it is stored; it signs from its
//! `activate_at`; once a newer key has activated, the older one stays published for
//! `retention` seconds (the longest access-token lifetime plus skew) and then disappears.
//! Every process re-reads the table periodically, so rotation needs no restart.

use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jwk::alg::ed::EdCurve;
use josekit::jws::{ES256, EdDSA, JwsSigner, JwsVerifier, RS256};
use serde::Serialize;

use crate::clock::UnixTime;
use crate::crypto::master_key::MasterKey;
use crate::store::signing_keys::SigningKeyRow;

/// JWS algorithms Warden can sign with (RFC 7518 §3.1, RFC 8037 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlg {
    Es256,
    EdDsa,
    Rs256,
}

impl SigningAlg {
    pub fn parse(value: &str) -> Option<SigningAlg> {
        match value {
            "ES256" => Some(SigningAlg::Es256),
            "EdDSA" => Some(SigningAlg::EdDsa),
            "RS256" => Some(SigningAlg::Rs256),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Es256 => "ES256",
            SigningAlg::EdDsa => "EdDSA",
            SigningAlg::Rs256 => "RS256",
        }
    }

    fn generate(self) -> anyhow::Result<Jwk> {
        Ok(match self {
            SigningAlg::Es256 => Jwk::generate_ec_key(EcCurve::P256)?,
            SigningAlg::EdDsa => Jwk::generate_ed_key(EdCurve::Ed25519)?,
            SigningAlg::Rs256 => Jwk::generate_rsa_key(2048)?,
        })
    }

    fn signer(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsSigner>> {
        Ok(match self {
            SigningAlg::Es256 => Box::new(ES256.signer_from_jwk(jwk)?),
            SigningAlg::EdDsa => Box::new(EdDSA.signer_from_jwk(jwk)?),
            SigningAlg::Rs256 => Box::new(RS256.signer_from_jwk(jwk)?),
        })
    }

    fn verifier(self, jwk: &Jwk) -> anyhow::Result<Box<dyn JwsVerifier>> {
        Ok(match self {
            SigningAlg::Es256 => Box::new(ES256.verifier_from_jwk(jwk)?),
            SigningAlg::EdDsa => Box::new(EdDSA.verifier_from_jwk(jwk)?),
            SigningAlg::Rs256 => Box::new(RS256.verifier_from_jwk(jwk)?),
        })
    }
}

/// The `typ` header of what we sign: RFC 9068 §2.1 for access tokens, plain `JWT` for
/// OpenID Connect ID tokens (OIDC Core §2 sets none; RFC 9068 resource servers refuse a
/// token without `at+jwt`, so an ID token never passes for an access token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtType {
    AccessToken,
    IdToken,
    /// draft-ietf-oauth-identity-assertion-authz-grant §3: an ID-JAG.
    IdJag,
}

impl JwtType {
    const ALL: [JwtType; 3] = [JwtType::AccessToken, JwtType::IdToken, JwtType::IdJag];

    pub fn as_str(self) -> &'static str {
        match self {
            JwtType::AccessToken => "at+jwt",
            JwtType::IdToken => "JWT",
            JwtType::IdJag => "oauth-id-jag+jwt",
        }
    }
}

/// A freshly generated key, ready to be stored.
pub struct NewSigningKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub public_jwk: String,
    pub private_jwe: String,
}

impl NewSigningKey {
    /// The key as stored: created at `created_at`, signing from `activate_at`.
    pub fn row(&self, created_at: UnixTime, activate_at: UnixTime) -> SigningKeyRow {
        SigningKeyRow {
            kid: self.kid.clone(),
            alg: self.alg.as_str().to_owned(),
            public_jwk: self.public_jwk.clone(),
            private_jwe: self.private_jwe.clone(),
            created_at,
            activate_at,
        }
    }
}

/// Generates a key and seals its private part under the master key. RSA generation takes
/// up to a second: call this from a blocking context.
pub fn generate(alg: SigningAlg, master: &MasterKey) -> anyhow::Result<NewSigningKey> {
    let kid = uuid::Uuid::now_v7().simple().to_string();
    let mut private = alg.generate()?;
    private.set_key_id(&kid);
    private.set_key_use("sig");
    private.set_algorithm(alg.as_str());
    // josekit's public-key export drops these members, so set them on both halves.
    let mut public = private.to_public_key()?;
    public.set_key_id(&kid);
    public.set_key_use("sig");
    public.set_algorithm(alg.as_str());
    let private_json = serde_json::to_vec(private.as_ref())?;
    Ok(NewSigningKey {
        private_jwe: master.seal(&kid, &private_json)?,
        public_jwk: serde_json::to_string(public.as_ref())?,
        kid,
        alg,
    })
}

/// One usable key: its signer, its verifier and its precomputed headers.
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub activate_at: UnixTime,
    /// When the key was made: its age is what rotation policy watches.
    pub created_at: UnixTime,
    public_jwk: serde_json::Value,
    signer: Box<dyn JwsSigner>,
    verifier: Box<dyn JwsVerifier>,
    headers_b64: [String; JwtType::ALL.len()],
}

impl LoadedKey {
    fn open(row: &SigningKeyRow, master: &MasterKey) -> anyhow::Result<LoadedKey> {
        let alg = SigningAlg::parse(&row.alg)
            .with_context(|| format!("unknown algorithm {:?}", row.alg))?;
        let private_json = master.open(&row.kid, &row.private_jwe).with_context(|| {
            format!(
                "signing key {} cannot be decrypted with the configured WARDEN_SECRET_KEY \
                 (wrong key, or corrupt data)",
                row.kid
            )
        })?;
        let private = Jwk::from_bytes(&private_json)?;
        let public = Jwk::from_bytes(row.public_jwk.as_bytes())?;
        if private.key_id() != Some(&row.kid) || public.key_id() != Some(&row.kid) {
            bail!("signing key {} has mismatched key ids", row.kid);
        }
        let headers_b64 = JwtType::ALL.map(|typ| {
            let header =
                serde_json::json!({"alg": alg.as_str(), "typ": typ.as_str(), "kid": row.kid});
            URL_SAFE_NO_PAD.encode(header.to_string())
        });
        Ok(LoadedKey {
            kid: row.kid.clone(),
            alg,
            activate_at: row.activate_at,
            created_at: row.created_at,
            public_jwk: serde_json::to_value(public.as_ref())?,
            signer: alg.signer(&private)?,
            verifier: alg.verifier(&public)?,
            headers_b64,
        })
    }

    /// Checks a compact JWS signed by this key and returns its payload bytes.
    pub fn verify_compact(&self, token: &str) -> Option<Vec<u8>> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.verifier
            .verify(signing_input.as_bytes(), &signature)
            .ok()?;
        let (_, payload) = signing_input.split_once('.')?;
        URL_SAFE_NO_PAD.decode(payload).ok()
    }
}

struct Snapshot {
    /// Published keys, oldest activation first.
    keys: Vec<Arc<LoadedKey>>,
    jwks: Bytes,
    /// Strong entity tag of `jwks` (RFC 9110 §8.8.3), computed once per reload.
    etag: Arc<str>,
}

fn etag_of(body: &[u8]) -> Arc<str> {
    use sha2::Digest;
    let digest = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(body));
    format!("\"{}\"", &digest[..22]).into()
}

/// The keys of this process: reloaded from the database, read on every signature.
pub struct KeySet {
    master: MasterKey,
    retention: i64,
    snapshot: RwLock<Arc<Snapshot>>,
}

impl KeySet {
    pub fn new(master: MasterKey, retention: i64) -> KeySet {
        KeySet {
            master,
            retention,
            snapshot: RwLock::new(Arc::new(Snapshot {
                keys: Vec::new(),
                jwks: Bytes::from_static(b"{\"keys\":[]}"),
                etag: etag_of(b"{\"keys\":[]}"),
            })),
        }
    }

    /// Rebuilds the published set from `rows` (every stored key). Keys already loaded are
    /// reused; a key that fails to open is an error and leaves the current set in place.
    pub fn install(&self, mut rows: Vec<SigningKeyRow>, now: UnixTime) -> anyhow::Result<()> {
        rows.sort_by(|a, b| (a.activate_at, &a.kid).cmp(&(b.activate_at, &b.kid)));
        let current = self.current();
        let mut keys = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let successor_active_since = rows[i + 1..]
                .iter()
                .map(|r| r.activate_at)
                .find(|&at| at <= now);
            let retired_long_enough =
                successor_active_since.is_some_and(|at| at + self.retention <= now);
            if retired_long_enough {
                continue;
            }
            match current.keys.iter().find(|k| k.kid == row.kid) {
                Some(loaded) => keys.push(loaded.clone()),
                None => keys.push(Arc::new(LoadedKey::open(row, &self.master)?)),
            }
        }
        let jwks = serde_json::to_vec(&serde_json::json!({
            "keys": keys.iter().map(|k| &k.public_jwk).collect::<Vec<_>>()
        }))?;
        let snapshot = Arc::new(Snapshot {
            keys,
            etag: etag_of(&jwks),
            jwks: Bytes::from(jwks),
        });
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
        Ok(())
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The serialized JWK Set, built at the last reload, and its entity tag.
    pub fn jwks(&self) -> (Bytes, Arc<str>) {
        let current = self.current();
        (current.jwks.clone(), current.etag.clone())
    }

    /// The key that signs at `now`: the most recently activated one.
    pub fn signing_key(&self, now: UnixTime) -> Option<Arc<LoadedKey>> {
        self.current()
            .keys
            .iter()
            .rev()
            .find(|k| k.activate_at <= now)
            .cloned()
    }

    /// A published key by id (to verify our own tokens).
    pub fn published(&self, kid: &str) -> Option<Arc<LoadedKey>> {
        self.current().keys.iter().find(|k| k.kid == kid).cloned()
    }

    /// Signs `claims` as a compact JWT with the key active at `now`.
    pub fn sign<C: Serialize>(
        &self,
        now: UnixTime,
        typ: JwtType,
        claims: &C,
    ) -> anyhow::Result<String> {
        let key = self.signing_key(now).context("no active signing key")?;
        compact(&key.headers_b64[typ as usize], key.signer.as_ref(), claims)
    }

    /// Signs with the active key but a `typ` header Warden never issues. Only the resource
    /// check does this, to see that an MCP server refuses a JWT that is not an access token
    /// (RFC 9068 §4); its tokens expire within seconds and name no grant.
    pub fn sign_with_foreign_typ<C: Serialize>(
        &self,
        now: UnixTime,
        typ: &str,
        claims: &C,
    ) -> anyhow::Result<String> {
        let key = self.signing_key(now).context("no active signing key")?;
        let header = serde_json::json!({"alg": key.alg.as_str(), "typ": typ, "kid": key.kid});
        compact(
            &URL_SAFE_NO_PAD.encode(header.to_string()),
            key.signer.as_ref(),
            claims,
        )
    }
}

/// Signs an access token with a key made for this one signature and never published, under
/// a key id nobody knows: what a forger would send. RSA generation takes up to a second:
/// call this from a blocking context.
pub fn sign_with_unknown_key<C: Serialize>(alg: SigningAlg, claims: &C) -> anyhow::Result<String> {
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let private = alg.generate()?;
    let signer = alg.signer(&private)?;
    let header = serde_json::json!({
        "alg": alg.as_str(),
        "typ": JwtType::AccessToken.as_str(),
        "kid": kid,
    });
    compact(
        &URL_SAFE_NO_PAD.encode(header.to_string()),
        signer.as_ref(),
        claims,
    )
}

/// `header.payload.signature`, each part base64url without padding (RFC 7515 §7.1).
fn compact<C: Serialize>(
    header_b64: &str,
    signer: &dyn JwsSigner,
    claims: &C,
) -> anyhow::Result<String> {
    let payload = serde_json::to_vec(claims)?;
    let mut token = String::with_capacity(header_b64.len() + payload.len() * 4 / 3 + 100);
    token.push_str(header_b64);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn row(key: &NewSigningKey, activate_at: UnixTime) -> SigningKeyRow {
        key.row(activate_at, activate_at)
    }

    #[test]
    fn every_algorithm_signs_and_verifies() {
        let master = MasterKey::from_secret("a secret of more than thirty-two characters");
        for alg in [SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256] {
            let key = generate(alg, &master).unwrap();
            let set = KeySet::new(master.clone(), 100);
            set.install(vec![row(&key, 0)], 10).unwrap();
            let jwt = set
                .sign(10, JwtType::AccessToken, &serde_json::json!({"sub": "x"}))
                .unwrap();
            let payload = set
                .published(&key.kid)
                .unwrap()
                .verify_compact(&jwt)
                .unwrap();
            assert_eq!(payload, br#"{"sub":"x"}"#);
        }
    }

    #[test]
    fn a_new_key_is_published_before_it_signs_and_the_old_one_lingers() {
        let master = MasterKey::from_secret("a secret of more than thirty-two characters");
        let old = generate(SigningAlg::Es256, &master).unwrap();
        let new = generate(SigningAlg::Es256, &master).unwrap();
        let set = KeySet::new(master, 100);
        let rows = || vec![row(&old, 0), row(&new, 50)];
        set.install(rows(), 10).unwrap();
        assert_eq!(set.signing_key(10).unwrap().kid, old.kid);
        assert!(set.published(&new.kid).is_some());
        assert_eq!(set.signing_key(50).unwrap().kid, new.kid);
        set.install(rows(), 149).unwrap();
        assert!(set.published(&old.kid).is_some());
        set.install(rows(), 150).unwrap();
        assert!(set.published(&old.kid).is_none());
    }
}
