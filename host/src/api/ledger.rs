//! The ledger over HTTP: the host's public key, checkpoints, consistency
//! proofs, accounts, entries, inclusion proofs and receipts. Admins and
//! operators see the whole community ledger; residents see their own
//! accounts (an account is a person's when its last `/` segment is their
//! person id), the entries that touch them, and the records a scene
//! publishes to the community (its ledger grant's `public-records`: an
//! owners' vote's ballots and tally, so that anyone can recount it).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, ErrorBody, Json, Path, Query};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::caps::ledger::checkpoint::SignedCheckpoint;
use crate::caps::ledger::log::{self, AccountRow, LedgerError, Receipt, StoredEntry};
use crate::caps::ledger::merkle::{ConsistencyProof, InclusionProof};
use crate::caps::ledger::note;
use crate::ids::{CommunityId, PluginId};
use crate::runtime::installation;

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        match error {
            LedgerError::Proof(e) => ApiError::invalid(e.to_string()),
            other => ApiError::internal(other),
        }
    }
}

/// The key that verifies this host's checkpoints.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicKey {
    /// Ed25519 public key, hex.
    pub public_key: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct EntryPage {
    /// Only entries moving this account.
    pub account: Option<String>,
    /// Only entries after this index.
    pub after: Option<u64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AccountQuery {
    /// The account's full name, e.g. `timebank/wang-li`.
    pub name: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ProofQuery {
    /// Tree size to prove against; the latest checkpoint's when absent.
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsistencyQuery {
    pub from: u64,
    pub to: u64,
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_key))
        .routes(routes!(checkpoint))
        .routes(routes!(checkpoint_note))
        .routes(routes!(verifier_key))
        .routes(routes!(consistency))
        .routes(routes!(list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(list_entries))
        .routes(routes!(get_entry))
        .routes(routes!(entry_proof))
        .routes(routes!(entry_receipt))
        .routes(routes!(my_accounts))
}

/// Whether the caller sees the whole community ledger (not only their own accounts).
fn sees_everything(principal: &Principal, community: &CommunityId) -> ApiResult<bool> {
    principal.require_member(community)?;
    Ok(principal.role != Role::Resident)
}

/// Whether `account` belongs to the caller.
fn owns(principal: &Principal, account: &str) -> bool {
    principal
        .person
        .as_deref()
        .is_some_and(|person| account.rsplit('/').next() == Some(person))
}

async fn check_entry_visible(
    state: &AppState,
    principal: &Principal,
    community: &CommunityId,
    entry: &StoredEntry,
) -> ApiResult<()> {
    if sees_everything(principal, community)?
        || crate::caps::ledger::entry_namespaces(&entry.body)
            .iter()
            .any(|a| owns(principal, a))
        || is_public_record(state, community, entry).await?
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "residents see the entries of their own accounts and the records scenes publish",
        ))
    }
}

/// Whether `entry` is a record of a kind that the community's installation
/// of the plugin that wrote it was granted to publish. The grant is read
/// as it is now: a community that stops publishing a kind, or removes the
/// scene, takes its records back from residents' view.
async fn is_public_record(
    state: &AppState,
    community: &CommunityId,
    entry: &StoredEntry,
) -> ApiResult<bool> {
    if entry.kind != "record" {
        return Ok(false);
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&entry.body) else {
        return Ok(false);
    };
    let (Some(kind), Some(plugin)) = (
        body["record-kind"].as_str(),
        body["plugin"]
            .as_str()
            .and_then(|p| p.parse::<PluginId>().ok()),
    ) else {
        return Ok(false);
    };
    let found = installation::find(&state.services.db, community, &plugin).await?;
    Ok(found
        .and_then(|i| i.grants.ledger)
        .is_some_and(|ledger| ledger.is_public(kind)))
}

async fn load_entry(
    state: &AppState,
    community: &CommunityId,
    index: u64,
) -> ApiResult<StoredEntry> {
    log::entry(&state.services.db, community, index)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!("the ledger of {community} has no entry {index}"))
        })
}

/// The Ed25519 public key that verifies this host's checkpoints (no token needed).
#[utoipa::path(get, path = "/api/v1/ledger/public-key", tag = "ledger", responses((status = 200, body = PublicKey)))]
async fn public_key(State(state): State<AppState>) -> Json<PublicKey> {
    Json(PublicKey {
        public_key: state.services.ledger.public_key_hex(),
    })
}

/// The latest signed checkpoint of the community's ledger; before its first entry, the empty log's (size 0).
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/checkpoint", tag = "ledger",
    params(("community" = String, Path)),
    responses((status = 200, body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn checkpoint(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<SignedCheckpoint>> {
    principal.require_member(&community)?;
    if let Some(latest) = log::latest_checkpoint(&state.services.db, &community).await? {
        return Ok(Json(latest));
    }
    let created = super::communities::load(&state, &community).await?;
    Ok(Json(
        state
            .services
            .ledger
            .empty_checkpoint(&community, created.created_at)?,
    ))
}

/// The latest checkpoint as a C2SP signed note (`text/plain`), for standard transparency-log tools.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/checkpoint/note", tag = "ledger",
    params(("community" = String, Path)),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn checkpoint_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<impl IntoResponse> {
    let Json(signed) = checkpoint(State(state.clone()), principal, Path(community)).await?;
    let note = note::checkpoint_note(&signed, &state.services.ledger.verifying_key())
        .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note))
}

/// The verifier key (`vkey`, `text/plain`) that signed-note tools check this community's checkpoints with.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/vkey", tag = "ledger",
    params(("community" = String, Path)),
    responses((status = 200, body = String, content_type = "text/plain")), security(("bearer" = [])))]
async fn verifier_key(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<impl IntoResponse> {
    principal.require_member(&community)?;
    let vkey = note::verifier_key(
        &log::origin(&community),
        &state.services.ledger.verifying_key(),
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], vkey))
}

/// Proof that the log at size `from` is a prefix of the log at size `to`.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/consistency", tag = "ledger",
    params(("community" = String, Path), ConsistencyQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn consistency(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProof>> {
    principal.require_member(&community)?;
    let size = log::size(&state.services.db, &community).await?;
    if q.to > size {
        return Err(ApiError::invalid(format!(
            "to: the log holds {size} entries"
        )));
    }
    Ok(Json(
        state
            .services
            .ledger
            .consistency_proof(&state.services.db, &community, q.from, q.to)
            .await?,
    ))
}

/// Every account of the community (admins and operators).
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/accounts", tag = "ledger",
    params(("community" = String, Path)), responses((status = 200, body = Vec<AccountRow>)), security(("bearer" = [])))]
async fn list_accounts(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
) -> ApiResult<Json<Vec<AccountRow>>> {
    if !sees_everything(&principal, &community)? {
        return Err(ApiError::forbidden(
            "residents read their own accounts with ledger/account?name=",
        ));
    }
    Ok(Json(log::accounts(&state.services.db, &community).await?))
}

/// The caller's own accounts in their community: those whose last `/`
/// segment is their person id (a resident cannot list the others to find them).
#[utoipa::path(get, path = "/api/v1/me/ledger/accounts", tag = "ledger",
    responses((status = 200, body = Vec<AccountRow>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn my_accounts(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<AccountRow>>> {
    let Some(community) = principal
        .community
        .clone()
        .filter(|_| principal.person.is_some())
    else {
        return Err(ApiError::forbidden(
            "this token belongs to no person of a community; accounts are found by their person",
        ));
    };
    let mut accounts = log::accounts(&state.services.db, &community).await?;
    accounts.retain(|a| owns(&principal, &a.name));
    Ok(Json(accounts))
}

/// One account's balance: any account for admins and operators, their own for residents.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/account", tag = "ledger",
    params(("community" = String, Path), AccountQuery),
    responses((status = 200, body = AccountRow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(q): Query<AccountQuery>,
) -> ApiResult<Json<AccountRow>> {
    if !sees_everything(&principal, &community)? && !owns(&principal, &q.name) {
        return Err(ApiError::forbidden(
            "residents read only their own accounts",
        ));
    }
    log::account(&state.services.db, &community, &q.name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no account {:?} in {community}", q.name)))
}

/// Entries, oldest first: all for admins and operators; residents must name an account of their own.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/entries", tag = "ledger",
    params(("community" = String, Path), EntryPage),
    responses((status = 200, body = Vec<StoredEntry>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_entries(
    State(state): State<AppState>,
    principal: Principal,
    Path(community): Path<CommunityId>,
    Query(page): Query<EntryPage>,
) -> ApiResult<Json<Vec<StoredEntry>>> {
    if !sees_everything(&principal, &community)?
        && !page.account.as_deref().is_some_and(|a| owns(&principal, a))
    {
        return Err(ApiError::forbidden(
            "residents list entries of their own accounts (?account=)",
        ));
    }
    let limit = page.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(
        log::entries(
            &state.services.db,
            &community,
            page.account.as_deref(),
            page.after,
            limit,
        )
        .await?,
    ))
}

/// One entry: any for admins and operators; for residents, one that touches their own accounts or a record a scene publishes.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/entries/{index}", tag = "ledger",
    params(("community" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = StoredEntry), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_entry(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, index)): Path<(CommunityId, u64)>,
) -> ApiResult<Json<StoredEntry>> {
    let entry = load_entry(&state, &community, index).await?;
    check_entry_visible(&state, &principal, &community, &entry).await?;
    Ok(Json(entry))
}

/// The inclusion proof of one entry.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/entries/{index}/proof", tag = "ledger",
    params(("community" = String, Path), ("index" = u64, Path), ProofQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn entry_proof(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, index)): Path<(CommunityId, u64)>,
    Query(q): Query<ProofQuery>,
) -> ApiResult<Json<InclusionProof>> {
    let entry = load_entry(&state, &community, index).await?;
    check_entry_visible(&state, &principal, &community, &entry).await?;
    let size = match q.size {
        Some(size) => size,
        None => log::latest_checkpoint(&state.services.db, &community)
            .await?
            .map_or(index + 1, |c| c.checkpoint.size),
    };
    let log_size = log::size(&state.services.db, &community).await?;
    if size > log_size {
        return Err(ApiError::invalid(format!(
            "size: the log holds {log_size} entries"
        )));
    }
    Ok(Json(
        state
            .services
            .ledger
            .inclusion_proof(&state.services.db, &community, index, size)
            .await?,
    ))
}

/// One entry's receipt: the entry, its inclusion proof and the signed checkpoint it leads to, verifiable offline with `linli ledger verify`.
#[utoipa::path(get, path = "/api/v1/communities/{community}/ledger/entries/{index}/receipt", tag = "ledger",
    params(("community" = String, Path), ("index" = u64, Path)),
    responses((status = 200, body = Receipt), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn entry_receipt(
    State(state): State<AppState>,
    principal: Principal,
    Path((community, index)): Path<(CommunityId, u64)>,
) -> ApiResult<Json<Receipt>> {
    let entry = load_entry(&state, &community, index).await?;
    check_entry_visible(&state, &principal, &community, &entry).await?;
    state
        .services
        .ledger
        .receipt(&state.services.db, &community, index)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("entry {index} has no checkpoint yet")))
}
