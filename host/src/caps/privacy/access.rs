//! The access log: every read of a person's contact details, health or
//! presence readings through the API by someone other than the person —
//! staff, admins, operators, family — with who, when, what and why. Staff
//! must give a reason (`reason`) for such reads; family reading a relative's
//! wearable are logged with the reason `family-of`. A person reads the log
//! of their own data (`GET /api/v1/me/access-log`), so they can see who
//! looked (PIPL art. 45); it is kept for the community's
//! `access_log_retention_days` (365 by default).

use serde::Serialize;
use sqlx::Row;

use crate::clock::Millis;
use crate::db::multi_row::{multi_row_insert, INSERT_CHUNK};
use crate::db::Db;
use crate::ids::{CommunityId, PersonId};
use crate::validation::Invalid;

/// Longest reason kept.
pub const MAX_REASON: usize = 500;
/// Most entries one listing returns.
pub const MAX_LISTED: i64 = 1000;

/// What was read about a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Phone, postal address, channels.
    Contact,
    /// Readings of a health kind.
    Health,
    /// Readings that show when someone is home.
    Presence,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Contact => "contact",
            Category::Health => "health",
            Category::Presence => "presence",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [Category::Contact, Category::Health, Category::Presence]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

impl From<super::Sensitivity> for Category {
    fn from(sensitivity: super::Sensitivity) -> Self {
        match sensitivity {
            super::Sensitivity::Health => Category::Health,
            super::Sensitivity::Presence => Category::Presence,
        }
    }
}

/// Who read: the token's subject, role and person.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub subject: &'a str,
    pub role: &'a str,
    pub person: Option<&'a str>,
}

/// One read through the API: by whom, why, of what and where.
#[derive(Debug, Clone, Copy)]
pub struct Read<'a> {
    pub reader: Reader<'a>,
    pub reason: &'a str,
    pub category: Category,
    /// The API path read.
    pub resource: &'a str,
    pub at: Millis,
}

/// One read of one person's data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessEntry {
    #[schema(value_type = String)]
    pub person: PersonId,
    pub category: Category,
    /// What was read: the API path.
    pub resource: String,
    /// The reader's token subject, role and person.
    pub reader: String,
    pub reader_role: String,
    pub reader_person: Option<String>,
    pub reason: String,
    pub at: Millis,
}

/// The reason a staff member gave for a sensitive read.
pub fn check_reason(reason: Option<&str>) -> Result<String, Invalid> {
    match reason.map(str::trim) {
        None | Some("") => Err(Invalid::new(
            "reason",
            "required when reading people's contact details, health or presence readings: \
             say why (it is shown to the person)",
        )),
        Some(r) if r.chars().count() > MAX_REASON => Err(Invalid::new(
            "reason",
            format!("at most {MAX_REASON} characters"),
        )),
        Some(r) => Ok(r.to_owned()),
    }
}

/// Logs `read` of the data of each of `people`. A person reading their
/// own data is not logged.
pub async fn record(
    db: &Db,
    community: &CommunityId,
    read: &Read<'_>,
    people: &[PersonId],
) -> Result<(), sqlx::Error> {
    let reader = read.reader;
    let others: Vec<&PersonId> = people
        .iter()
        .filter(|p| Some(p.as_str()) != reader.person)
        .collect();
    if others.is_empty() {
        return Ok(());
    }
    let mut conn = db.acquire().await?;
    for chunk in others.chunks(INSERT_CHUNK) {
        let statement = multi_row_insert(
            &conn,
            "personal_data_access (community_id, person_id, category, resource, reader, reader_role, reader_person, reason, at)",
            9,
            chunk.len(),
        );
        let mut query = sqlx::query(&statement);
        for person in chunk {
            query = query
                .bind(community.as_str())
                .bind(person.as_str())
                .bind(read.category.as_str())
                .bind(read.resource)
                .bind(reader.subject)
                .bind(reader.role)
                .bind(reader.person)
                .bind(read.reason)
                .bind(read.at);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Who read `person`'s data, newest first, at most [`MAX_LISTED`].
pub async fn about(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Vec<AccessEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT person_id, category, resource, reader, reader_role, reader_person, reason, at \
         FROM personal_data_access WHERE community_id = $1 AND person_id = $2 ORDER BY seq DESC LIMIT $3",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .bind(MAX_LISTED)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            let decode = |e: String| sqlx::Error::Decode(e.into());
            let person: String = row.try_get("person_id")?;
            let category: String = row.try_get("category")?;
            Ok(AccessEntry {
                person: person
                    .parse()
                    .map_err(|e: crate::ids::InvalidId| decode(e.to_string()))?,
                category: Category::parse(&category)
                    .ok_or_else(|| decode(format!("unknown category {category}")))?,
                resource: row.try_get("resource")?,
                reader: row.try_get("reader")?,
                reader_role: row.try_get("reader_role")?,
                reader_person: row.try_get("reader_person")?,
                reason: row.try_get("reason")?,
                at: row.try_get("at")?,
            })
        })
        .collect()
}
