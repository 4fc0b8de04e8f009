//! Residents' rights over their personal information, over HTTP: consents
//! (given or withdrawn by the person, their guardian, or staff recording a
//! signed form), the log of who read their data, the archive of everything
//! held about them, and erasure. The rules are [`crate::caps::privacy`]'s;
//! `docs/privacy.md` is the handler's guide.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::caps::map::model::{Link, Person};
use crate::caps::privacy::access::{self, AccessEntry, Category, Read, Reader};
use crate::caps::privacy::consent::{self, ConsentRecord, ConsentState, MAX_TEXT};
use crate::caps::privacy::erasure::{self, EraseError, EraseRequest, Erasure};
use crate::caps::privacy::export::{self, ExportError, PersonalData};
use crate::caps::privacy::{self, Purpose};
use crate::ids::{CommunityId, PersonId};
use crate::validation::Invalid;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(my_consents))
        .routes(routes!(consents_of))
        .routes(routes!(decide_consent))
        .routes(routes!(my_access_log))
        .routes(routes!(access_log_of))
        .routes(routes!(my_data))
        .routes(routes!(data_of))
        .routes(routes!(erase_person, erasure_of))
}

/// Who read, as the access log records them.
pub(super) fn reader(principal: &Principal) -> Reader<'_> {
    Reader {
        subject: &principal.subject,
        role: principal.role.as_str(),
        person: principal.person.as_deref(),
    }
}

/// Why a sensitive read is made: staff must say; a relative reading a
/// family member's device is logged as `family-of` unless they say more.
pub(super) fn reason_for(principal: &Principal, given: Option<&str>) -> ApiResult<String> {
    match (principal.role, given) {
        (Role::Resident, None) => Ok("family-of".to_owned()),
        _ => Ok(access::check_reason(given)?),
    }
}

/// The reason given for reading contact details, checked; `None` when
/// none was given, and then people are shown without them: most reads (the
/// console's map, a list of volunteers) need no phone numbers.
pub(super) fn contact_reason(reason: Option<&str>) -> ApiResult<Option<String>> {
    Ok(reason.map(|r| access::check_reason(Some(r))).transpose()?)
}

/// The people among `people` whose contact details an answer shows.
pub(super) fn with_contact<'p>(people: impl Iterator<Item = &'p Person>) -> Vec<PersonId> {
    people
        .filter(|p| p.contact != Default::default())
        .map(|p| p.id.clone())
        .collect()
}

/// Logs that `principal` read each of `categories` of the data of `people`
/// at `resource`, for `reason`. Called after the map's lock is let go: the
/// log is a write, and a writer of the map holds the store while it waits
/// for that lock.
pub(super) async fn log_read(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    reason: &str,
    categories: &[Category],
    people: &[PersonId],
    resource: &str,
) -> ApiResult<()> {
    for &category in categories {
        let read = Read {
            reader: reader(principal),
            reason,
            category,
            resource,
            at: state.services.clock.now(),
        };
        access::record(&state.services.db, community, &read, people).await?;
    }
    Ok(())
}

/// The `reason` a sensitive read takes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReasonQuery {
    /// Why the data is read; shown to the person in their access log.
    pub reason: Option<String>,
}

/// A person's consents now and every record behind them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Consents {
    pub states: Vec<ConsentState>,
    pub history: Vec<ConsentRecord>,
}

/// A decision on one purpose.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentDecision {
    /// `true` gives consent, `false` withdraws it.
    pub given: bool,
    /// The text the person was shown (the form, the screen).
    pub text: String,
    /// Who decided: the person or a family member (`family-of` them) as
    /// guardian. Staff recording a signed form must name them; residents
    /// decide as themselves.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub given_by: Option<PersonId>,
}

/// Whether `by` may decide for `person`: themselves, or family of them.
async fn speaks_for(
    state: &AppState,
    community: &CommunityId,
    by: &PersonId,
    person: &PersonId,
) -> ApiResult<bool> {
    let map = super::map::read(state, community).await?;
    if map.person(person).is_none() {
        return Err(ApiError::not_found(format!(
            "no person {person} on the community map"
        )));
    }
    Ok(by == person
        || map
            .person(by)
            .is_some_and(|p| p.links.contains(&Link::FamilyOf(person.clone()))))
}

/// Who may see and decide a person's consents: staff, the person, their family.
async fn check_decides(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    person: &PersonId,
) -> ApiResult<()> {
    principal.require_member(community)?;
    if principal.role != Role::Resident {
        return Ok(());
    }
    let caller: Option<PersonId> = principal.person.as_deref().and_then(|p| p.parse().ok());
    match caller {
        Some(caller) if speaks_for(state, community, &caller, person).await? => Ok(()),
        _ => Err(ApiError::forbidden(
            "a person's consents are theirs and their family's to give",
        )),
    }
}

async fn consents(
    state: &AppState,
    community: &CommunityId,
    person: &PersonId,
) -> ApiResult<Consents> {
    let history = consent::history(&state.services.db, community, person).await?;
    Ok(Consents {
        states: consent::states(&history),
        history,
    })
}

/// The caller's own consents.
#[utoipa::path(get, path = "/api/v1/me/consents", tag = "privacy",
    responses((status = 200, body = Consents), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn my_consents(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Consents>> {
    let (community, person) = super::notify::me(&principal)?;
    Ok(Json(consents(&state, &community, &person).await?))
}

/// A person's consents (staff, the person, their family).
#[utoipa::path(get, path = "/api/v1/communities/{community}/people/{person}/consents", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path)),
    responses((status = 200, body = Consents), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn consents_of(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
) -> ApiResult<Json<Consents>> {
    check_decides(&state, &principal, &community, &person).await?;
    Ok(Json(consents(&state, &community, &person).await?))
}

/// Gives or withdraws a person's consent to one purpose; it takes effect
/// before the answer: from then on plugins receive (or no longer receive)
/// their readings of that purpose.
#[utoipa::path(put, path = "/api/v1/communities/{community}/people/{person}/consents/{purpose}", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path), ("purpose" = String, Path)),
    request_body = ConsentDecision,
    responses((status = 200, body = ConsentState), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn decide_consent(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person, purpose)): Path<(CommunityId, PersonId, String)>,
    Json(decision): Json<ConsentDecision>,
) -> ApiResult<Json<ConsentState>> {
    let purpose = Purpose::parse(&purpose).ok_or_else(|| {
        Invalid::new(
            "purpose",
            format!(
                "unknown purpose {purpose:?}; the purposes are {}",
                Purpose::ALL.map(Purpose::as_str).join(", ")
            ),
        )
    })?;
    check_decides(&state, &principal, &community, &person).await?;
    if decision.text.trim().is_empty() || decision.text.chars().count() > MAX_TEXT {
        return Err(Invalid::new(
            "text",
            format!("the text the person was shown, 1-{MAX_TEXT} characters"),
        )
        .into());
    }
    let given_by =
        match (principal.role, decision.given_by) {
            (Role::Resident, given_by) => {
                let caller: PersonId = principal
                    .person
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| ApiError::forbidden("this token belongs to no person"))?;
                if given_by.as_ref().is_some_and(|g| g != &caller) {
                    return Err(Invalid::new("given_by", "residents decide as themselves").into());
                }
                caller
            }
            (_, Some(given_by)) => {
                if !speaks_for(&state, &community, &given_by, &person).await? {
                    return Err(Invalid::new(
                        "given_by",
                        format!("{given_by} is neither {person} nor family of them on the map"),
                    )
                    .into());
                }
                given_by
            }
            (_, None) => return Err(Invalid::new(
                "given_by",
                "staff record someone's decision: name the person or the family member who signed",
            )
            .into()),
        };
    let record = ConsentRecord {
        person: person.clone(),
        purpose,
        given: decision.given,
        given_by: given_by.to_string(),
        recorded_by: principal.subject.clone(),
        text: decision.text,
        at: state.services.clock.now(),
    };
    // The store first, then the map's copy, as every change of the map.
    let map = state.services.map.get(&community).await?;
    let mut tx = crate::db::begin(&state.services.db).await?;
    let mut map = map.write().await;
    consent::record(&mut tx, &community, &record).await?;
    tx.commit().await?;
    map.consents_mut().apply(&person, purpose, record.given);
    drop(map);
    tracing::info!(%community, %person, purpose = purpose.as_str(), given = record.given, by = %given_by, "consent recorded");
    Ok(Json(ConsentState {
        purpose,
        given: record.given,
        record: Some(record),
    }))
}

/// Who read the caller's personal data, newest first.
#[utoipa::path(get, path = "/api/v1/me/access-log", tag = "privacy",
    responses((status = 200, body = Vec<AccessEntry>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn my_access_log(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<AccessEntry>>> {
    let (community, person) = super::notify::me(&principal)?;
    Ok(Json(
        access::about(&state.services.db, &community, &person).await?,
    ))
}

/// Who read a person's data (community admins, answering the person).
#[utoipa::path(get, path = "/api/v1/communities/{community}/people/{person}/access-log", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path)),
    responses((status = 200, body = Vec<AccessEntry>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn access_log_of(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
) -> ApiResult<Json<Vec<AccessEntry>>> {
    principal.require_community_admin(&community)?;
    Ok(Json(
        access::about(&state.services.db, &community, &person).await?,
    ))
}

impl From<ExportError> for ApiError {
    fn from(error: ExportError) -> Self {
        match error {
            ExportError::NotFound(_) => ApiError::not_found(error.to_string()),
            ExportError::Store(e) => e.into(),
            ExportError::Ledger(e) => ApiError::internal(e),
        }
    }
}

/// The archive as a download.
fn archive(data: PersonalData) -> ApiResult<impl IntoResponse> {
    let file = format!(
        "attachment; filename=\"linli-{}-{}.json\"",
        data.community, data.person
    );
    let body = serde_json::to_vec_pretty(&data).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    ))
}

/// Everything the host holds about the caller, as one JSON archive.
#[utoipa::path(get, path = "/api/v1/me/data", tag = "privacy",
    responses((status = 200, body = PersonalData), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn my_data(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<impl IntoResponse> {
    let (community, person) = super::notify::me(&principal)?;
    let services = &state.services;
    let data = export::collect(
        &services.db,
        &services.map,
        &community,
        &person,
        services.clock.now(),
    )
    .await?;
    archive(data)
}

/// A person's archive, for community admins answering a request made on
/// paper (a person without a token); the read is logged with its reason.
#[utoipa::path(get, path = "/api/v1/communities/{community}/people/{person}/data", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path), ReasonQuery),
    responses((status = 200, body = PersonalData), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn data_of(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
    Query(q): Query<ReasonQuery>,
) -> ApiResult<impl IntoResponse> {
    principal.require_community_admin(&community)?;
    let reason = access::check_reason(q.reason.as_deref())?;
    let services = &state.services;
    let now = services.clock.now();
    let data = export::collect(&services.db, &services.map, &community, &person, now).await?;
    let resource = format!("/api/v1/communities/{community}/people/{person}/data");
    let shown: Vec<Category> = std::iter::once(Category::Contact)
        .chain(
            privacy::sensitivities(&data.readings)
                .into_iter()
                .map(Category::from),
        )
        .collect();
    let person = std::slice::from_ref(&person);
    log_read(
        &state, &principal, &community, &reason, &shown, person, &resource,
    )
    .await?;
    archive(data)
}

/// Why a person is erased: their request, as the admin records it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequest {
    pub reason: String,
}

impl From<EraseError> for ApiError {
    fn from(error: EraseError) -> Self {
        match error {
            EraseError::NotFound(_) => ApiError::not_found(error.to_string()),
            EraseError::AlreadyErased(_) => ApiError::conflict(error.to_string()),
            EraseError::Store(e) => e.into(),
        }
    }
}

/// Erases a person at their request. Answers 202: the host's part is done
/// at once; the erasure is complete when every installation has handled
/// `person-erased` (`GET` the same path).
#[utoipa::path(post, path = "/api/v1/communities/{community}/people/{person}/erasure", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path)), request_body = ErasureRequest,
    responses((status = 202, body = Erasure), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn erase_person(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
    Json(request): Json<ErasureRequest>,
) -> ApiResult<(StatusCode, Json<Erasure>)> {
    principal.require_community_admin(&community)?;
    let reason = access::check_reason(Some(&request.reason))?;
    let services = &state.services;
    let request = EraseRequest {
        person: &person,
        by: &principal.subject,
        reason: &reason,
        at: services.clock.now(),
    };
    let erasure = erasure::erase(
        &services.db,
        &services.map,
        &services.feed,
        &community,
        &request,
    )
    .await?;
    // Erasure retired their devices: gateways may no longer send for them.
    state.ingest.devices_changed(&community);
    Ok((StatusCode::ACCEPTED, Json(erasure)))
}

/// How far a person's erasure has got.
#[utoipa::path(get, path = "/api/v1/communities/{community}/people/{person}/erasure", tag = "privacy",
    params(("community" = String, Path), ("person" = String, Path)),
    responses((status = 200, body = Erasure), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn erasure_of(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, person)): Path<(CommunityId, PersonId)>,
) -> ApiResult<Json<Erasure>> {
    principal.require_community_admin(&community)?;
    erasure::status(&state.services.db, &community, &person)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("{person} was not erased")))
}
