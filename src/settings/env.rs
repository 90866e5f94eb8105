//! Reading one declared variable: unset or empty means its declared default, and a bad value
//! becomes one `SettingsError` naming the variable.

use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use super::declared::{Kind, Setting, or_list};
use super::{Secret, SettingsError, bad};

pub trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

/// The variables, read through a lookup; an empty value counts as unset.
pub struct Env<F>(pub F);

/// A reader used on a setting declared as another kind: a mistake in this crate, reported
/// like a bad value so it cannot pass unnoticed (every reader runs in the unit tests).
fn misdeclared(s: &Setting, reader: &str) -> SettingsError {
    bad(
        s.var,
        format!("is declared as {:?}, not read as {reader}", s.kind),
    )
}

impl<F: Lookup> Env<F> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// The value, or the declared default of a [`Kind::Text`].
    pub fn text(&self, s: &Setting) -> Option<String> {
        let default = match s.kind {
            Kind::Text(default) => default,
            _ => None,
        };
        self.get(s.var).or(default.map(str::to_owned))
    }

    /// `parse`d when set; its complaint is reported against the variable.
    pub fn parsed<T>(
        &self,
        s: &Setting,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        self.text(s)
            .map(|raw| parse(&raw).map_err(|p| bad(s.var, p)))
            .transpose()
    }

    /// One of the declared words, as the value at the same position of `values`; the
    /// message lists the words ("a, b or c").
    pub fn choice<T: Copy, const N: usize>(
        &self,
        s: &Setting,
        values: [T; N],
    ) -> Result<T, SettingsError> {
        let words: &[&str] = match s.kind {
            Kind::Choice(words) => words,
            Kind::Flag(_) => &["0", "1"],
            _ => return Err(misdeclared(s, "a choice")),
        };
        let raw = match (self.get(s.var), s.kind) {
            (Some(raw), _) => raw,
            (None, Kind::Flag(on)) => u8::from(on).to_string(),
            (None, _) => words.first().map(|w| (*w).to_owned()).unwrap_or_default(),
        };
        match words.iter().position(|w| *w == raw) {
            Some(i) => values
                .get(i)
                .copied()
                .ok_or_else(|| misdeclared(s, "this choice")),
            None => Err(bad(s.var, format!("{raw:?} is not {}", or_list(words)))),
        }
    }

    pub fn flag(&self, s: &Setting) -> Result<bool, SettingsError> {
        self.choice(s, [false, true])
    }

    /// The variable or the contents of the file named by its `_FILE` twin (not both).
    pub fn secret(&self, s: &Setting) -> Result<Option<Secret>, SettingsError> {
        let (name, file_name) = (s.var, s.file_var);
        if !matches!(s.kind, Kind::Secret) {
            return Err(misdeclared(s, "a secret"));
        }
        match (self.get(name), self.get(file_name)) {
            (Some(_), Some(_)) => Err(bad(
                name,
                format!("set either {name} or {file_name}, not both"),
            )),
            (Some(v), None) => Ok(Some(Secret(v))),
            (None, Some(path)) => {
                let content = std::fs::read_to_string(&path)
                    .map_err(|e| bad(file_name, format!("cannot read {path:?}: {e}")))?;
                let trimmed = content.trim_end_matches(['\n', '\r']).to_owned();
                if trimmed.is_empty() {
                    return Err(bad(file_name, format!("{path:?} is empty")));
                }
                Ok(Some(Secret(trimmed)))
            }
            (None, None) => Ok(None),
        }
    }

    pub fn duration(&self, s: &Setting) -> Result<Duration, SettingsError> {
        Ok(Duration::from_secs(self.seconds(s)? as u64))
    }

    /// A duration in seconds within its declared range.
    pub fn seconds(&self, s: &Setting) -> Result<i64, SettingsError> {
        self.seconds_within(s, ..)
    }

    /// A duration in seconds within its declared range narrowed by `bounds`, which another
    /// setting sets: a bare number, or a number with `s`, `m`, `h` or `d`.
    pub fn seconds_within(
        &self,
        s: &Setting,
        bounds: impl RangeBounds<i64>,
    ) -> Result<i64, SettingsError> {
        let Kind::Seconds { default, min, max } = s.kind else {
            return Err(misdeclared(s, "a duration"));
        };
        let range = match bounds.start_bound() {
            Bound::Included(&n) => n.max(min),
            Bound::Excluded(&n) => n.saturating_add(1).max(min),
            Bound::Unbounded => min,
        }..=match bounds.end_bound() {
            Bound::Included(&n) => n.min(max),
            Bound::Excluded(&n) => n.saturating_sub(1).min(max),
            Bound::Unbounded => max,
        };
        let Some(raw) = self.get(s.var) else {
            return Ok(default);
        };
        let (digits, unit) = match raw.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
            _ => (raw.as_str(), 's'),
        };
        let multiplier = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(bad(
                    s.var,
                    format!("{raw:?} has an unknown unit (use s, m, h or d)"),
                ));
            }
        };
        let value = digits
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(multiplier))
            .ok_or_else(|| {
                bad(
                    s.var,
                    format!("{raw:?} is not a duration like 600, 10m or 1h"),
                )
            })?;
        if !range.contains(&value) {
            return Err(bad(
                s.var,
                format!(
                    "{raw:?} is out of range ({}s to {}s)",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }

    /// A whole number within its declared range, or its declared default.
    pub fn number<T>(&self, s: &Setting) -> Result<T, SettingsError>
    where
        T: std::str::FromStr + TryFrom<i64> + TryInto<i64> + Copy,
    {
        let Kind::Number {
            default: Some(default),
            ..
        } = s.kind
        else {
            return Err(misdeclared(s, "a number with a default"));
        };
        match self.optional_number(s)? {
            Some(value) => Ok(value),
            None => T::try_from(default).map_err(|_| misdeclared(s, "this type")),
        }
    }

    /// A whole number within its declared range; `None` when unset.
    pub fn optional_number<T>(&self, s: &Setting) -> Result<Option<T>, SettingsError>
    where
        T: std::str::FromStr + TryInto<i64> + Copy,
    {
        let Kind::Number { min, max, .. } = s.kind else {
            return Err(misdeclared(s, "a number"));
        };
        let Some(raw) = self.get(s.var) else {
            return Ok(None);
        };
        let value: T = raw
            .parse()
            .map_err(|_| bad(s.var, format!("{raw:?} is not a whole number")))?;
        if !value
            .try_into()
            .is_ok_and(|v: i64| (min..=max).contains(&v))
        {
            return Err(bad(
                s.var,
                format!("{raw:?} is out of range ({min} to {max})"),
            ));
        }
        Ok(Some(value))
    }
}
