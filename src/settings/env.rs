//! Reading one variable: unset or empty means the default, and a bad value becomes one
//! `SettingsError` naming the variable.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use super::{Secret, SettingsError, bad};

pub const DAY: i64 = 86_400;

pub trait Lookup: Fn(&str) -> Option<String> {}
impl<F: Fn(&str) -> Option<String>> Lookup for F {}

/// The variables, read through a lookup; an empty value counts as unset.
pub struct Env<F>(pub F);

impl<F: Lookup> Env<F> {
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// `parse`d when set; its complaint is reported against `name`.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        self.get(name)
            .map(|raw| parse(&raw).map_err(|p| bad(name, p)))
            .transpose()
    }

    /// One of a few words; the message lists them ("a, b or c").
    pub fn choice<T: Copy>(
        &self,
        name: &'static str,
        default: T,
        options: &[(&str, T)],
    ) -> Result<T, SettingsError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        if let Some((_, value)) = options.iter().find(|(word, _)| *word == raw) {
            return Ok(*value);
        }
        let words: Vec<&str> = options.iter().map(|(word, _)| *word).collect();
        let list = match words.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Err(bad(name, format!("{raw:?} is not {list}")))
    }

    /// `0` or `1`.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, SettingsError> {
        self.choice(name, default, &[("0", false), ("1", true)])
    }

    /// `NAME` or the contents of the file named by `NAME_FILE` (not both).
    pub fn secret(
        &self,
        name: &'static str,
        file_name: &'static str,
    ) -> Result<Option<Secret>, SettingsError> {
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

    pub fn duration(
        &self,
        name: &'static str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<Duration, SettingsError> {
        Ok(Duration::from_secs(
            self.seconds(name, default, range)? as u64
        ))
    }

    /// A duration in seconds: a bare number, or a number with `s`, `m`, `h` or `d`.
    pub fn seconds(
        &self,
        name: &'static str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, SettingsError> {
        let Some(raw) = self.get(name) else {
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
            'd' => DAY,
            _ => {
                return Err(bad(
                    name,
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
                    name,
                    format!("{raw:?} is not a duration like 600, 10m or 1h"),
                )
            })?;
        if !range.contains(&value) {
            return Err(bad(
                name,
                format!(
                    "{raw:?} is out of range ({}s to {}s)",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }

    pub fn number<T>(
        &self,
        name: &'static str,
        default: T,
        range: RangeInclusive<T>,
    ) -> Result<T, SettingsError>
    where
        T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
    {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: T = raw
            .parse()
            .map_err(|_| bad(name, format!("{raw:?} is not a whole number")))?;
        if !range.contains(&value) {
            return Err(bad(
                name,
                format!(
                    "{raw:?} is out of range ({} to {})",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(value)
    }
}
