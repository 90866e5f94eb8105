//! User codes (RFC 8628 §6.1): eight characters from twenty consonants, shown as
//! `XXXX-XXXX`. No vowels (no words), no digits or letters that read alike. Compared
//! without regard to case, dashes or spaces, and stored as a SHA-256 of the normalised form.
//! 20^8 ≈ 2.6 × 10^10 codes; guessing is bounded by `limits::admit_user_code_guess`.

use crate::crypto::random;

/// RFC 8628 §6.1's base-20 alphabet.
pub const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
pub const LENGTH: usize = 8;
/// The longest input read as a code: room for spaces and dashes a person may type.
pub const MAX_INPUT_CHARS: usize = 32;

/// A fresh user code, as shown: `XXXX-XXXX`.
pub fn generate() -> String {
    let mut code = String::with_capacity(LENGTH + 1);
    for i in 0..LENGTH {
        if i == LENGTH / 2 {
            code.push('-');
        }
        code.push(char::from(ALPHABET[rand::random_range(0..ALPHABET.len())]));
    }
    code
}

/// What a person typed, as the eight characters it names; `None` when it cannot be a code
/// (then nothing is looked up).
pub fn normalise(input: &str) -> Option<String> {
    if input.chars().count() > MAX_INPUT_CHARS {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// What the database keeps of a normalised code.
pub fn hash(normalised: &str) -> String {
    random::sha256_b64(normalised)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_are_two_groups_of_four_from_the_alphabet() {
        for _ in 0..200 {
            let code = generate();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert_eq!(normalise(&code).unwrap(), code.replace('-', ""));
        }
        assert_ne!(generate(), generate());
    }

    #[test]
    fn codes_compare_without_case_dashes_or_spaces() {
        assert_eq!(normalise("bcdf-ghjk").unwrap(), "BCDFGHJK");
        assert_eq!(normalise(" BCDF GHJK ").unwrap(), "BCDFGHJK");
        assert_eq!(normalise("BCDFGHJK").unwrap(), "BCDFGHJK");
        assert_eq!(hash("BCDFGHJK"), hash(&normalise("bcdf-ghjk").unwrap()));
    }

    #[test]
    fn what_cannot_be_a_code_is_refused() {
        for bad in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "ABCD-EFGH",
            "BCDF-GHJ0",
            "BCDF-GHJ\u{c9}",
            &"B".repeat(1000),
            "BCDF-\u{0}GHJK",
        ] {
            assert_eq!(normalise(bad), None, "{bad:?}");
        }
    }
}
