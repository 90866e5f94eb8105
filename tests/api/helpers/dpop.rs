//! DPoP proofs (RFC 9449 §4.2) built the way a client builds them, with josekit keys and
//! every header member and claim under the test's control, so a test can break any one.

use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jwk::alg::ec::EcCurve;
use josekit::jws::{ES256, ES384, EdDSA, JwsSigner, PS256, RS256};
use serde_json::{Value, json};
use sha2::Digest;

use crate::helpers::assertions::now;
use crate::helpers::{TestApp, TestClient};

/// A client's DPoP key pair.
pub struct DpopKey {
    pub private: Jwk,
    pub alg: &'static str,
}

impl DpopKey {
    pub fn es256() -> DpopKey {
        DpopKey {
            private: Jwk::generate_ec_key(EcCurve::P256).unwrap(),
            alg: "ES256",
        }
    }

    pub fn es384() -> DpopKey {
        DpopKey {
            private: Jwk::generate_ec_key(EcCurve::P384).unwrap(),
            alg: "ES384",
        }
    }

    pub fn ed25519() -> DpopKey {
        DpopKey {
            private: Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519).unwrap(),
            alg: "EdDSA",
        }
    }

    pub fn rsa(alg: &'static str) -> DpopKey {
        DpopKey {
            private: Jwk::generate_rsa_key(2048).unwrap(),
            alg,
        }
    }

    /// The public half, as the `jwk` header member carries it.
    pub fn public(&self) -> Value {
        serde_json::to_value(self.private.to_public_key().unwrap().as_ref()).unwrap()
    }

    /// RFC 7638 thumbprint, computed here independently of Warden.
    pub fn jkt(&self) -> String {
        let public = self.public();
        let members: &[&str] = match public["kty"].as_str().unwrap() {
            "EC" => &["crv", "kty", "x", "y"],
            "RSA" => &["e", "kty", "n"],
            _ => &["crv", "kty", "x"],
        };
        let canonical = members
            .iter()
            .map(|m| format!("\"{m}\":\"{}\"", public[*m].as_str().unwrap()))
            .collect::<Vec<_>>()
            .join(",");
        b64(sha2::Sha256::digest(format!("{{{canonical}}}")))
    }

    fn signer(&self) -> Box<dyn JwsSigner> {
        match self.alg {
            "ES256" => Box::new(ES256.signer_from_jwk(&self.private).unwrap()),
            "ES384" => Box::new(ES384.signer_from_jwk(&self.private).unwrap()),
            "EdDSA" => Box::new(EdDSA.signer_from_jwk(&self.private).unwrap()),
            "RS256" => Box::new(RS256.signer_from_jwk(&self.private).unwrap()),
            "PS256" => Box::new(PS256.signer_from_jwk(&self.private).unwrap()),
            other => panic!("no signer for {other}"),
        }
    }

    /// A correct proof for POST `htu` at `iat`, with `nonce` when given.
    pub fn proof(&self, htu: &str, iat: i64, nonce: Option<&str>) -> String {
        self.build(Proof::new(self, htu, iat, nonce))
    }

    /// Signs whatever `proof` says, header and claims as given.
    pub fn build(&self, proof: Proof) -> String {
        let input = format!(
            "{}.{}",
            b64(proof.header.to_string().as_bytes()),
            b64(proof.claims.to_string().as_bytes())
        );
        self.sign(&input)
    }

    /// Signs a JWS signing input of any content: `{input}.{signature}`.
    pub fn sign(&self, input: &str) -> String {
        let signature = self.signer().sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    }
}

/// A proof's header and claims, to be changed before signing.
pub struct Proof {
    pub header: Value,
    pub claims: Value,
}

impl Proof {
    pub fn new(key: &DpopKey, htu: &str, iat: i64, nonce: Option<&str>) -> Proof {
        let mut claims = json!({
            "htm": "POST",
            "htu": htu,
            "iat": iat,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        Proof {
            header: json!({"typ": "dpop+jwt", "alg": key.alg, "jwk": key.public()}),
            claims,
        }
    }
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TestApp {
    /// The token endpoint, as `htu` names it.
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    /// The nonce Warden would hand out now (any node derives the same).
    pub fn dpop_nonce(&self) -> String {
        warden::oauth::dpop::nonce::issue(self.state.master_key.dpop_nonce_key(), now(self))
    }

    /// A proof by `key` for the token endpoint, now, with the current nonce.
    pub fn token_proof(&self, key: &DpopKey) -> String {
        key.proof(&self.token_endpoint(), now(self), Some(&self.dpop_nonce()))
    }

    /// POSTs `form` to /token with each of `proofs` as a `DPoP` header, authenticating as
    /// `client` (Basic when it has a secret, else `client_id` in the body).
    pub async fn token_with_proofs(
        &self,
        form: &[(&str, &str)],
        client: &TestClient,
        proofs: &[&str],
    ) -> reqwest::Response {
        let mut form = form.to_vec();
        let mut request = self.http.post(format!("{}/token", self.base));
        if client.client_secret.is_empty() {
            form.push(("client_id", client.client_id.as_str()));
        } else {
            request = request.basic_auth(&client.client_id, Some(&client.client_secret));
        }
        for proof in proofs {
            request = request.header("DPoP", *proof);
        }
        request.form(&form).send().await.unwrap()
    }

    /// How many DPoP proof ids Warden remembers.
    pub async fn remembered_proofs(&self) -> i64 {
        crate::helpers::scalar(&self.db, "SELECT COUNT(*) FROM dpop_proofs").await
    }
}
