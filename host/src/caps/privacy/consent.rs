//! Consent records: a person's separate consent to each purpose that needs
//! it (PIPL art. 29), given by them or by their guardian — a family member
//! on the map, for an elderly resident represented by family — with the
//! time, who gave it, who recorded it and the text shown. Withdrawal is a
//! record too (art. 15), so the history says what was in force when. The
//! latest record of a (person, purpose) decides; the map holds that in
//! memory (`caps::map::consents`) for the filter plugins' readings pass
//! through.

use serde::Serialize;
use sqlx::Row;

use crate::caps::map::consents::Purpose;
use crate::clock::Millis;
use crate::db::{Db, Tx};
use crate::ids::{CommunityId, PersonId};

/// Longest consent text kept: the whole text a form showed.
pub const MAX_TEXT: usize = 10_000;

/// One consent given or withdrawn.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentRecord {
    #[schema(value_type = String)]
    pub person: PersonId,
    pub purpose: Purpose,
    /// `true` when given, `false` when withdrawn.
    pub given: bool,
    /// The person who decided: the person themselves or their guardian.
    pub given_by: String,
    /// The token subject that recorded it (staff recording a signed form, or the person).
    pub recorded_by: String,
    /// The text the person was shown.
    pub text: String,
    pub at: Millis,
}

/// A person's consents now, with how each came about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConsentState {
    pub purpose: Purpose,
    pub given: bool,
    /// The record in force, if any was ever made.
    pub record: Option<ConsentRecord>,
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<ConsentRecord, sqlx::Error> {
    let decode = |e: String| sqlx::Error::Decode(e.into());
    let person: String = row.try_get("person_id")?;
    let purpose: String = row.try_get("purpose")?;
    Ok(ConsentRecord {
        person: person
            .parse()
            .map_err(|e: crate::ids::InvalidId| decode(e.to_string()))?,
        purpose: Purpose::parse(&purpose)
            .ok_or_else(|| decode(format!("unknown purpose {purpose}")))?,
        given: row.try_get::<i64, _>("given")? != 0,
        given_by: row.try_get("given_by")?,
        recorded_by: row.try_get("recorded_by")?,
        text: row.try_get("text")?,
        at: row.try_get("at")?,
    })
}

const COLUMNS: &str = "person_id, purpose, given, given_by, recorded_by, text, at";

/// Stores a record in `tx`; the book changes once it commits.
pub async fn record(
    tx: &mut Tx,
    community: &CommunityId,
    record: &ConsentRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO consent_records (community_id, person_id, purpose, given, given_by, recorded_by, text, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(community.as_str())
    .bind(record.person.as_str())
    .bind(record.purpose.as_str())
    .bind(i64::from(record.given))
    .bind(&record.given_by)
    .bind(&record.recorded_by)
    .bind(&record.text)
    .bind(record.at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every record about `person`, oldest first.
pub async fn history(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Vec<ConsentRecord>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM consent_records WHERE community_id = $1 AND person_id = $2 ORDER BY seq"
    ))
    .bind(community.as_str())
    .bind(person.as_str())
    .fetch_all(db)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Each purpose's state for a person, from their history.
pub fn states(history: &[ConsentRecord]) -> Vec<ConsentState> {
    Purpose::ALL
        .into_iter()
        .map(|purpose| {
            let record = history.iter().rev().find(|r| r.purpose == purpose).cloned();
            ConsentState {
                purpose,
                given: record.as_ref().is_some_and(|r| r.given),
                record,
            }
        })
        .collect()
}
