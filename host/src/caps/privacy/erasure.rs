//! Erasure at a person's request (PIPL art. 47): what the host holds about
//! them goes, in one transaction, and what cannot go is left pseudonymous.
//!
//! - **Deleted**: their map record (name, birth year, links, roles, contact
//!   details) and the `family-of` links others had to them; their devices
//!   (retired) and those devices' readings; their inbox (deliveries to them,
//!   the messages only they received, their broadcast inbox) and their
//!   notification preferences; their consents; their tokens (revoked);
//!   every plugin state key whose last `/` segment is their id.
//! - **Scrubbed**: in what the host keeps as text for others — messages
//!   sent to others, alarm details and notes, the community feed, dead
//!   letters — their phone, postal address and channel addresses are
//!   replaced by `[erased]` wherever they appear, and their name wherever
//!   it appears in a row that is about them (that names their id, as a
//!   scene's alert does in its data, or an alarm they originate): names
//!   are not unique — Sunny Garden has two Xu Fangs — and a neighbour's
//!   messages must keep theirs.
//! - **Kept, pseudonymous**: ledger entries cannot change (an append-only
//!   log that could would not be worth verifying), so they name people by
//!   their map id only, never by name; once the map record is gone the id
//!   maps to no one, and receipts still verify. The id is never given to
//!   anyone again (`erased_people`). The access log of reads of their data
//!   stays until its retention, under the id, as the handler's record.
//! - **Plugins** receive `person-erased` through the community feed and drop
//!   the rest of what they keep. The erasure is complete once every
//!   installation of the community has handled it; then, on SQLite, the
//!   write-ahead log is truncated, so that no copy of a deleted page stays
//!   in it (deleted rows are zeroed in the database file itself:
//!   `secure_delete` is on for every connection).

use std::collections::HashSet;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;
use sqlx::Row;

use super::containing;
use crate::caps::map::geojson::MapFeature;
use crate::caps::map::model::{Link, Person};
use crate::caps::map::{rows as map_rows, MapService};
use crate::caps::sensor;
use crate::clock::Millis;
use crate::db::{self, Db, Tx};
use crate::feed::{self, Feed, FeedKind};
use crate::ids::{CommunityId, DeviceId, PersonId};

/// What replaces a person's identifiers in text kept for others.
pub const ERASED: &str = "[erased]";
/// Identifiers shorter than this are not scrubbed from free text: a
/// one-letter name would blank unrelated words.
const SHORTEST_SCRUBBED: usize = 2;
/// How often the host looks for erasures that plugins have caught up with.
const FINISH_EVERY: Duration = Duration::from_secs(1);

/// Why a person cannot be erased.
#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("no person {0} on the community map")]
    NotFound(PersonId),
    #[error("person {0} was erased already")]
    AlreadyErased(PersonId),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// Who asks for an erasure, and why.
pub struct EraseRequest<'a> {
    pub person: &'a PersonId,
    /// The token subject of the admin acting on the request.
    pub by: &'a str,
    /// The person's request, as the admin records it (a ticket, a form).
    pub reason: &'a str,
    pub at: Millis,
}

/// An erasure and how far it has got.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Erasure {
    #[schema(value_type = String)]
    pub person: PersonId,
    pub erased_by: String,
    pub reason: String,
    pub erased_at: Millis,
    /// When every installation had handled `person-erased`; `None` until then.
    pub completed_at: Option<Millis>,
    /// Installations that have yet to handle `person-erased` (a suspended
    /// one handles it when resumed).
    pub pending_installations: Vec<String>,
    /// Ledger entries whose body still holds one of the person's
    /// identifiers (a scene that wrote a name where it should have written
    /// the id): they cannot change, and the handler should know.
    pub ledger_entries_naming_them: i64,
}

/// Erases `request.person` from `community`.
pub async fn erase(
    db: &Db,
    maps: &MapService,
    feed: &Feed,
    community: &CommunityId,
    request: &EraseRequest<'_>,
) -> Result<Erasure, EraseError> {
    let person = request.person;
    let mut tx = db::begin(db).await?;
    if erased_ids(&mut tx, community)
        .await?
        .contains(person.as_str())
    {
        return Err(EraseError::AlreadyErased(person.clone()));
    }
    let map = maps.get(community).await?;
    let mut map = map.write().await;
    let Some(erased) = map.person(person).cloned() else {
        return Err(EraseError::NotFound(person.clone()));
    };
    let family: Vec<Person> = map
        .people()
        .filter(|p| p.links.contains(&Link::FamilyOf(person.clone())))
        .map(|p| {
            let mut p = p.clone();
            p.links.retain(|l| l != &Link::FamilyOf(person.clone()));
            p
        })
        .collect();
    for relative in &family {
        map_rows::put(&mut tx, community, &MapFeature::Person(relative.clone())).await?;
    }
    map_rows::delete(&mut tx, community, person.as_str()).await?;
    retire_devices(&mut tx, community, person, request.at).await?;
    delete_inbox(&mut tx, community, person).await?;
    delete_rows_of(&mut tx, community, person, request.at).await?;
    let identifiers = identifiers(&erased);
    for (i, identifier) in identifiers.iter().enumerate() {
        // The first is the name: only where the row is about them.
        let about = (i == 0).then_some(person);
        scrub(&mut tx, community, identifier, about).await?;
    }
    sqlx::query(
        "INSERT INTO erased_people (community_id, person_id, erased_by, reason, erased_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .bind(request.by)
    .bind(request.reason)
    .bind(request.at)
    .execute(&mut *tx)
    .await?;
    feed::append(
        &mut tx,
        community,
        FeedKind::PersonErased,
        person.as_str(),
        &json!({ "person": person }),
        request.at,
    )
    .await?;
    tx.commit().await?;
    map.remove_person(person);
    map.consents_mut().forget(person);
    for relative in family {
        map.put_person(relative);
    }
    drop(map);
    feed.published(community);
    tracing::info!(%community, %person, by = request.by, "erased a person at their request");
    let mut erasure = status(db, community, person)
        .await?
        .ok_or_else(|| EraseError::NotFound(person.clone()))?;
    erasure.ledger_entries_naming_them = ledger_entries_naming(db, community, &identifiers).await?;
    Ok(erasure)
}

/// The ids erased in `community`: such an id names no one, ever again.
pub async fn erased_ids(
    conn: &mut sqlx::AnyConnection,
    community: &CommunityId,
) -> Result<HashSet<String>, sqlx::Error> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT person_id FROM erased_people WHERE community_id = $1")
            .bind(community.as_str())
            .fetch_all(conn)
            .await?;
    Ok(ids.into_iter().collect())
}

/// The texts by which someone could recognise the person in what others
/// were sent: their name (first) and every way to reach them.
fn identifiers(person: &Person) -> Vec<String> {
    let contact = &person.contact;
    std::iter::once(person.name.clone())
        .chain(contact.phone.clone())
        .chain(contact.address.clone())
        .chain(contact.channels.iter().map(|c| c.address.clone()))
        .filter(|i| i.chars().count() >= SHORTEST_SCRUBBED)
        .collect()
}

/// Retires the person's own devices (a wearable's wearer is gone) and deletes their readings.
async fn retire_devices(
    tx: &mut Tx,
    community: &CommunityId,
    person: &PersonId,
    at: Millis,
) -> Result<(), sqlx::Error> {
    let devices: Vec<String> =
        sqlx::query_scalar("SELECT id FROM devices WHERE community_id = $1 AND person_id = $2")
            .bind(community.as_str())
            .bind(person.as_str())
            .fetch_all(&mut **tx)
            .await?;
    for device in devices {
        let statements = [
            format!(
                "DELETE FROM readings WHERE seq IN ({})",
                sensor::DEVICE_SEQS
            ),
            "DELETE FROM reading_history WHERE community_id = $1 AND device_id = $2".to_owned(),
        ];
        for statement in statements {
            sqlx::query(&statement)
                .bind(community.as_str())
                .bind(&device)
                .execute(&mut **tx)
                .await?;
        }
        let device: DeviceId = device
            .parse()
            .map_err(|e: crate::ids::InvalidId| sqlx::Error::Decode(e.to_string().into()))?;
        crate::devices::retire(tx, community, &device, at).await?;
    }
    Ok(())
}

/// Deletes what was sent to the person: the messages no one else received,
/// their deliveries and their broadcast inbox.
async fn delete_inbox(
    tx: &mut Tx,
    community: &CommunityId,
    person: &PersonId,
) -> Result<(), sqlx::Error> {
    let statements = [
        "DELETE FROM notify_messages WHERE community_id = $1 \
         AND id IN (SELECT message_id FROM notify_deliveries WHERE community_id = $1 AND person_id = $2) \
         AND NOT EXISTS (SELECT 1 FROM notify_deliveries o WHERE o.message_id = notify_messages.id AND o.person_id <> $2)",
        "DELETE FROM notify_deliveries WHERE community_id = $1 AND person_id = $2",
        "DELETE FROM notify_broadcast_inbox WHERE person_id = $2 \
         AND message_id IN (SELECT id FROM notify_messages WHERE community_id = $1)",
        "DELETE FROM notify_preferences WHERE community_id = $1 AND person_id = $2",
    ];
    for statement in statements {
        sqlx::query(statement)
            .bind(community.as_str())
            .bind(person.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Deletes the person's consents and plugin state keys, and revokes their tokens.
async fn delete_rows_of(
    tx: &mut Tx,
    community: &CommunityId,
    person: &PersonId,
    at: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM consent_records WHERE community_id = $1 AND person_id = $2")
        .bind(community.as_str())
        .bind(person.as_str())
        .execute(&mut **tx)
        .await?;
    // A key is the person's when its last `/` segment is their id.
    sqlx::query(
        "DELETE FROM plugin_state WHERE community_id = $1 \
         AND (key = $2 OR SUBSTR(key, LENGTH(key) - LENGTH($3) + 1) = $3)",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .bind(format!("/{person}"))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE community_id = $2 AND person_id = $3 AND revoked_at IS NULL",
    )
    .bind(at)
    .bind(community.as_str())
    .bind(person.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Replaces `identifier` with [`ERASED`] in the community's text kept for
/// others; with `about`, only in rows that name that person's id.
async fn scrub(
    tx: &mut Tx,
    community: &CommunityId,
    identifier: &str,
    about: Option<&PersonId>,
) -> Result<(), sqlx::Error> {
    // (table, its text columns, how its rows belong to the community, how
    // a row is about the person)
    let places: [(&str, &[&str], &str, About); 5] = [
        (
            "notify_messages",
            &["title", "body", "data"],
            "community_id = $1",
            About::Mentions("data"),
        ),
        (
            "alarms",
            &["details"],
            "community_id = $1",
            About::Id("originator = $5"),
        ),
        (
            "alarm_audit",
            &["note"],
            "alarm_id IN (SELECT id FROM alarms WHERE community_id = $1)",
            About::Id("alarm_id IN (SELECT id FROM alarms WHERE originator = $5)"),
        ),
        (
            "community_events",
            &["data"],
            "community_id = $1",
            About::Mentions("data"),
        ),
        (
            "dead_letters",
            &["event", "error"],
            "installation_id IN (SELECT id FROM installations WHERE community_id = $1)",
            About::Mentions("event"),
        ),
    ];
    for (table, columns, belongs, about_them) in places {
        let set: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} = REPLACE({c}, $2, $3)"))
            .collect();
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("{c} LIKE $4 ESCAPE '\\'"))
            .collect();
        let scope = match (about, about_them) {
            (None, _) => String::new(),
            (Some(_), About::Mentions(column)) => format!(" AND {column} LIKE $5 ESCAPE '\\'"),
            (Some(_), About::Id(condition)) => format!(" AND {condition}"),
        };
        let sql = format!(
            "UPDATE {table} SET {} WHERE {belongs} AND ({}){scope}",
            set.join(", "),
            any.join(" OR ")
        );
        let mut query = sqlx::query(&sql)
            .bind(community.as_str())
            .bind(identifier)
            .bind(ERASED)
            .bind(containing(identifier));
        if let Some(person) = about {
            query = query.bind(match about_them {
                About::Mentions(_) => containing(&format!("\"{person}\"")),
                About::Id(_) => person.to_string(),
            });
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// How a row of text kept for others shows that it is about a person.
#[derive(Clone, Copy)]
enum About {
    /// The column holds their id as a JSON string.
    Mentions(&'static str),
    /// The condition, on their bare id as `$5`, holds.
    Id(&'static str),
}

/// How many ledger entries of the community hold any of `identifiers`.
async fn ledger_entries_naming(
    db: &Db,
    community: &CommunityId,
    identifiers: &[String],
) -> Result<i64, sqlx::Error> {
    let mut count = 0;
    for identifier in identifiers {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ledger_entries WHERE community_id = $1 AND body LIKE $2 ESCAPE '\\'",
        )
        .bind(community.as_str())
        .bind(containing(identifier))
        .fetch_one(db)
        .await?;
        count += n;
    }
    Ok(count)
}

/// The erasure of `person` in `community`, if there was one.
pub async fn status(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Option<Erasure>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT erased_by, reason, erased_at, completed_at FROM erased_people \
         WHERE community_id = $1 AND person_id = $2",
    )
    .bind(community.as_str())
    .bind(person.as_str())
    .fetch_optional(db)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Erasure {
        person: person.clone(),
        erased_by: row.try_get("erased_by")?,
        reason: row.try_get("reason")?,
        erased_at: row.try_get("erased_at")?,
        completed_at: row.try_get("completed_at")?,
        pending_installations: pending(db, community, person).await?,
        ledger_entries_naming_them: 0,
    }))
}

/// The installations of the community whose feed cursor is before the
/// person's `person-erased` event.
async fn pending(
    db: &Db,
    community: &CommunityId,
    person: &PersonId,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.id FROM installations i WHERE i.community_id = $1 AND i.feed_cursor < \
         (SELECT MAX(e.seq) FROM community_events e WHERE e.community_id = $1 AND e.kind = $2 AND e.topic = $3) \
         ORDER BY i.id",
    )
    .bind(community.as_str())
    .bind(FeedKind::PersonErased.as_str())
    .bind(person.as_str())
    .fetch_all(db)
    .await
}

/// Marks complete the erasures every installation has handled, and then
/// (on SQLite) truncates the write-ahead log, which may still hold pages
/// from before the deletions.
pub async fn finish_caught_up(db: &Db, now: Millis) -> Result<usize, sqlx::Error> {
    let open: Vec<(String, String)> = sqlx::query_as(
        "SELECT community_id, person_id FROM erased_people WHERE completed_at IS NULL",
    )
    .fetch_all(db)
    .await?;
    let mut finished = 0;
    for (community, person) in open {
        let (Ok(community), Ok(person)) =
            (community.parse::<CommunityId>(), person.parse::<PersonId>())
        else {
            continue;
        };
        if !pending(db, &community, &person).await?.is_empty() {
            continue;
        }
        db::truncate_log(db).await?;
        sqlx::query(
            "UPDATE erased_people SET completed_at = $1 WHERE community_id = $2 AND person_id = $3",
        )
        .bind(now)
        .bind(community.as_str())
        .bind(person.as_str())
        .execute(db)
        .await?;
        tracing::info!(%community, %person, "erasure complete: every installation has forgotten the person");
        finished += 1;
    }
    Ok(finished)
}

/// Finishes erasures in the background as plugins catch up.
pub fn spawn_finisher(db: Db, clock: crate::clock::SharedClock) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(FINISH_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = finish_caught_up(&db, clock.now()).await {
                tracing::warn!("cannot finish erasures: {e}");
            }
        }
    })
}
