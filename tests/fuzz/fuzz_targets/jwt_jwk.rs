//! JWTs and JWK sets from others (client assertions, external subject tokens, upstream ID
//! tokens): the first line is a JWT, the rest a JWKS. Header and issuer peeking, key
//! parsing and verifier selection never panic, and `none`/HMAC never get a verifier.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (token, jwks) = text.split_once('\n').unwrap_or((text, ""));
    let _ = warden::crypto::foreign_jwt::unverified_issuer(token);
    let alg = josekit::jwt::decode_header(token)
        .ok()
        .and_then(|h| h.claim("alg").and_then(|a| a.as_str()).map(str::to_owned))
        .unwrap_or_default();
    if let Ok(set) = josekit::jwk::JwkSet::from_bytes(jwks.as_bytes()) {
        for jwk in set.keys() {
            let verifier = warden::crypto::foreign_jwt::verifier(&alg, jwk);
            if alg == "none" || alg.starts_with("HS") {
                assert!(verifier.is_none());
            }
            if let Some(v) = verifier {
                let _ = josekit::jwt::decode_with_verifier(token, &*v);
            }
        }
    }
});
