//! Tokens and what they may do: the roles, the principal a token stands
//! for, the role checks every entry point makes (HTTP and MQTT alike), and
//! issuing and looking up tokens.
//!
//! Tokens are random 32-byte secrets shown once when issued; the store keeps
//! only their SHA-256 (a fast hash is right for high-entropy secrets). Each
//! token has one role, and every role but platform-admin and vendor is bound
//! to one community: asking about another community is refused.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::clock::Millis;
use crate::db::Db;
use crate::ids::{self, CommunityId};

/// A token asked for what its role or community does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Forbidden(pub String);

impl Forbidden {
    fn new(why: impl Into<String>) -> Self {
        Self(why.into())
    }
}

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Runs the host: every community, plugin and token.
    PlatformAdmin,
    /// Manages one community: devices, installations, its tokens.
    CommunityAdmin,
    /// Staff of one community: grid worker, property staff, security, doctor.
    Operator,
    /// Lives in one community and uses its scenes.
    Resident,
    /// Uploads plugin packages under its own vendor name.
    Vendor,
    /// A device of one community, sending readings.
    Device,
}

impl Role {
    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform-admin",
            Role::CommunityAdmin => "community-admin",
            Role::Operator => "operator",
            Role::Resident => "resident",
            Role::Vendor => "vendor",
            Role::Device => "device",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Role::PlatformAdmin,
            Role::CommunityAdmin,
            Role::Operator,
            Role::Resident,
            Role::Vendor,
            Role::Device,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// Whether tokens of this role belong to one community.
    pub fn is_community_bound(self) -> bool {
        !matches!(self, Role::PlatformAdmin | Role::Vendor)
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    pub community: Option<CommunityId>,
    /// Who the token stands for: a person, a device, a vendor or an admin's name.
    pub subject: String,
    pub person: Option<String>,
}

impl Principal {
    /// Only platform admins.
    pub fn require_platform_admin(&self) -> Result<(), Forbidden> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(Forbidden::new("only a platform admin may do this"))
        }
    }

    /// Platform admins, and admins of `community`.
    pub fn require_community_admin(&self, community: &CommunityId) -> Result<(), Forbidden> {
        match self.role {
            Role::PlatformAdmin => Ok(()),
            Role::CommunityAdmin if self.community.as_ref() == Some(community) => Ok(()),
            _ => Err(Forbidden::new(format!(
                "this token may not manage community {community}"
            ))),
        }
    }

    /// Platform admins, and the admins and operators of `community`: the
    /// people who watch and handle its alarms.
    pub fn require_staff(&self, community: &CommunityId) -> Result<(), Forbidden> {
        self.require_member(community)?;
        if self.role == Role::Resident {
            return Err(Forbidden::new(
                "only admins and operators of this community may do this",
            ));
        }
        Ok(())
    }

    /// Platform admins, and people (admins, operators, residents) of `community`.
    pub fn require_member(&self, community: &CommunityId) -> Result<(), Forbidden> {
        match self.role {
            Role::PlatformAdmin => Ok(()),
            Role::CommunityAdmin | Role::Operator | Role::Resident
                if self.community.as_ref() == Some(community) =>
            {
                Ok(())
            }
            _ => Err(Forbidden::new(format!(
                "this token has no access to community {community}"
            ))),
        }
    }
}

/// The SHA-256 of a token secret, as stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh token secret.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("lnl_{}", hex::encode(bytes))
}

/// What a new token is for.
pub struct TokenSpec<'a> {
    pub role: Role,
    pub community: Option<&'a CommunityId>,
    pub subject: &'a str,
    pub person: Option<&'a str>,
}

/// Stores a token for `secret`; returns its id. The one way tokens are created.
pub async fn store_token<'e, E>(
    executor: E,
    spec: &TokenSpec<'_>,
    secret: &str,
    now: Millis,
) -> Result<String, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let id = ids::generated("tok");
    sqlx::query(
        "INSERT INTO tokens (id, secret_hash, role, community_id, subject, person_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(hash_secret(secret))
    .bind(spec.role.as_str())
    .bind(spec.community.map(|c| c.as_str()))
    .bind(spec.subject)
    .bind(spec.person)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(id)
}

/// Looks up the live token whose secret is `secret`.
pub async fn authenticate(db: &Db, secret: &str) -> Result<Option<Principal>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, role, community_id, subject, person_id FROM tokens \
         WHERE secret_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash_secret(secret))
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = row.try_get("role")?;
    let community: Option<String> = row.try_get("community_id")?;
    Ok(Some(Principal {
        token_id: row.try_get("id")?,
        role: Role::parse(&role)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role}").into()))?,
        community: community.and_then(|c| c.parse().ok()),
        subject: row.try_get("subject")?,
        person: row.try_get("person_id")?,
    }))
}
