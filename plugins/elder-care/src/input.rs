//! Checks on command input beyond its JSON shape, failing with an error that
//! names the field.

use linli_sdk::Error;

/// `Error::Invalid` naming the input field.
pub fn invalid(field: &str, why: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("command input at `{field}`: {why}"))
}

/// A skill or need: 1-32 of a-z, 0-9 and '-' (`shopping`, `tech-help`).
pub fn skill(field: &str, name: &str) -> Result<(), Error> {
    name_of(field, name, 32)
}

/// A client's idempotency key: 1-64 of a-z, 0-9, '-' and '_'.
pub fn key(field: &str, key: &str) -> Result<(), Error> {
    if !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(invalid(
            field,
            "must be 1-64 characters of a-z, 0-9, '-' or '_'",
        ))
    }
}

/// A minute count within `1..=most`.
pub fn minutes(field: &str, minutes: i64, most: i64) -> Result<(), Error> {
    if (1..=most).contains(&minutes) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{minutes} is not between 1 and {most} minutes"),
        ))
    }
}

/// Free text up to `most` characters.
pub fn text(field: &str, text: &str, most: usize) -> Result<(), Error> {
    if text.chars().count() <= most {
        Ok(())
    } else {
        Err(invalid(field, format!("longer than {most} characters")))
    }
}

fn name_of(field: &str, name: &str, most: usize) -> Result<(), Error> {
    if !name.is_empty()
        && name.len() <= most
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{name:?} is not a name of 1-{most} characters of a-z, 0-9 or '-'"),
        ))
    }
}
