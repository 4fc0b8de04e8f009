//! Identifier newtypes. Ids are parsed once at the edge (API, manifest,
//! ingest) and trusted inside; every kind of id has its own type so that a
//! device id can never be passed where a community id is expected.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(String);

/// Checks the shape shared by every human-chosen id: 1–64 characters of
/// lowercase ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit.
fn check_slug(what: &str, s: &str) -> Result<(), InvalidId> {
    let well_formed = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if well_formed {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "{what} id {s:?} must be 1-64 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                check_slug($what, &s)?;
                Ok(Self(s))
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::try_from(s.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A community, unique on a host.
    CommunityId,
    "community"
);
slug_id!(
    /// A device, unique within its community.
    DeviceId,
    "device"
);
slug_id!(
    /// A plugin, unique on a host across vendors.
    PluginId,
    "plugin"
);
slug_id!(
    /// A person, unique within its community.
    PersonId,
    "person"
);

slug_id!(
    /// A place of a community's map (grid cell, building, floor, unit,
    /// household or point of interest), unique within its community.
    PlaceId,
    "place"
);

/// A random id with a readable prefix, for things the host names itself
/// (installations, alarms, messages, tokens).
pub fn generated(prefix: &str) -> String {
    let bytes: [u8; 12] = rand::random();
    format!("{prefix}_{}", hex::encode(bytes))
}

macro_rules! host_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        ///
        /// The host names these itself, so any text read back from the
        /// database or a request path is taken as it is: an unknown one is
        /// simply not found.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = String)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self(generated($prefix))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self(s.to_owned()))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

host_id!(
    /// An installation: a plugin version enabled in a community.
    InstallationId,
    "ins"
);
host_id!(
    /// An alarm, raised by a plugin or the platform.
    AlarmId,
    "alm"
);
host_id!(
    /// A message sent through `notify`.
    MessageId,
    "msg"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_checked() {
        assert!("block-3".parse::<CommunityId>().is_ok());
        assert!("Block3".parse::<CommunityId>().is_err());
        assert!("".parse::<DeviceId>().is_err());
        assert!("-x".parse::<DeviceId>().is_err());
        assert!("x".repeat(65).parse::<PluginId>().is_err());
        let err = "a b".parse::<DeviceId>().unwrap_err().to_string();
        assert!(err.contains("device id"), "{err}");
    }
}
