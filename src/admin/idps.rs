//! Enterprise identity providers trusted for ID-JAGs (the jwt-bearer grant's
//! Enterprise-Managed Authorization profile): add, list, remove.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::admin::{AdminError, change_event, conflict_on_duplicate, key_source};
use crate::domain::{Actor, AuditEvent, AuditKind, EmailRule};
use crate::store::Store;
use crate::store::idps::IdJagIssuerRow;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewIdJagIssuer)]
pub struct NewIdp {
    /// The IdP's issuer: the ID-JAG's iss (https).
    pub issuer: String,
    /// Where its keys are (https; fetched through the SSRF-safe fetcher).
    pub jwks_uri: String,
    /// Default ES256 and RS256.
    #[serde(default)]
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    /// What an unlinked sub with a verified email becomes: linked to the user with that
    /// username, a new user, or refused (the default).
    #[schema(value_type = Option<EmailRule>)]
    pub email_rule: Option<String>,
    /// An accepted ID-JAG also buys a refresh token, for a client with the refresh_token
    /// grant (default false: the IdP decides again at each access token). Deleting the IdP
    /// revokes the grants its ID-JAGs made.
    #[serde(default)]
    #[schema(default = false)]
    pub refresh_tokens: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = IdJagIssuer)]
pub struct IdpView {
    pub id: String,
    pub issuer: String,
    pub jwks_uri: String,
    #[schema(schema_with = key_source::algorithms_schema)]
    pub algorithms: Vec<String>,
    #[schema(value_type = EmailRule)]
    pub email_rule: &'static str,
    pub refresh_tokens: bool,
    /// Unix time, seconds.
    pub created_at: i64,
}

impl From<IdJagIssuerRow> for IdpView {
    fn from(r: IdJagIssuerRow) -> IdpView {
        IdpView {
            id: r.id,
            issuer: r.issuer,
            jwks_uri: r.jwks_uri,
            algorithms: r.algorithms.split(' ').map(str::to_owned).collect(),
            email_rule: r.email_rule.as_str(),
            refresh_tokens: r.refresh_tokens,
            created_at: r.created_at,
        }
    }
}

pub async fn add(
    store: &Store,
    input: NewIdp,
    now: i64,
    actor: &Actor,
) -> Result<IdpView, AdminError> {
    key_source::https_url("issuer", &input.issuer)?;
    key_source::https_url("jwks_uri", &input.jwks_uri)?;
    let algorithms = match input.algorithms.is_empty() {
        true => vec!["ES256".to_owned(), "RS256".to_owned()],
        false => input.algorithms,
    };
    key_source::algorithms(&algorithms)?;
    let email_rule = match input.email_rule.as_deref() {
        None => EmailRule::Refuse,
        Some(rule) => rule
            .parse()
            .map_err(|_| AdminError::invalid("email_rule", "must be link, create or refuse"))?,
    };
    let row = IdJagIssuerRow {
        id: uuid::Uuid::now_v7().to_string(),
        issuer: input.issuer,
        jwks_uri: input.jwks_uri,
        algorithms: algorithms.join(" "),
        email_rule,
        refresh_tokens: input.refresh_tokens,
        created_at: now,
    };
    let event = change_event(
        AuditKind::IdJagIssuerCreated,
        actor,
        now,
        Value::Null,
        IdpView::from(row.clone()),
    );
    store
        .insert_id_jag_issuer(&row, &event)
        .await
        .map_err(|e| conflict_on_duplicate(e, format!("{} is already trusted", row.issuer)))?;
    Ok(IdpView::from(row))
}

pub async fn list(store: &Store) -> Result<Vec<IdpView>, AdminError> {
    Ok(store
        .id_jag_issuers()
        .await?
        .into_iter()
        .map(IdpView::from)
        .collect())
}

pub async fn remove(store: &Store, id: &str, now: i64, actor: &Actor) -> Result<(), AdminError> {
    let before = store
        .id_jag_issuers()
        .await?
        .into_iter()
        .find(|t| t.id == id);
    let event = change_event(
        AuditKind::IdJagIssuerDeleted,
        actor,
        now,
        before.map(IdpView::from),
        Value::Null,
    )
    .detail("id", id);
    let revoked = AuditEvent::new(AuditKind::GrantRevoked, actor.clone(), now)
        .detail("via", "id_jag_issuer_deleted");
    if !store.delete_id_jag_issuer(id, &event, &revoked).await? {
        return Err(AdminError::NotFound(format!(
            "no ID-JAG identity provider {id}"
        )));
    }
    Ok(())
}

/// A link an admin makes from an IdP's `sub` to a Warden user: for IdPs whose users are not
/// matched by a verified email (or Warden users who have none).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewIdJagLink)]
pub struct NewLink {
    /// The IdP's `sub`, as its ID-JAGs carry it.
    #[schema(max_length = 255)]
    pub subject: String,
    /// The Warden user it becomes.
    pub username: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = IdJagLink)]
pub struct LinkView {
    pub idp_id: String,
    pub subject: String,
    pub user_id: String,
    pub username: String,
    /// Unix time, seconds.
    pub created_at: i64,
}

/// The longest `sub` we link (RFC 7519 sets no limit; IdPs use far less).
const MAX_SUBJECT_LEN: usize = 255;

pub async fn link(
    store: &Store,
    idp_id: &str,
    input: NewLink,
    now: i64,
    actor: &Actor,
) -> Result<LinkView, AdminError> {
    let Some(idp) = store
        .id_jag_issuers()
        .await?
        .into_iter()
        .find(|t| t.id == idp_id)
    else {
        return Err(AdminError::NotFound(format!(
            "no ID-JAG identity provider {idp_id}"
        )));
    };
    let subject = input.subject;
    if subject.is_empty()
        || subject.len() > MAX_SUBJECT_LEN
        || subject.chars().any(char::is_control)
    {
        return Err(AdminError::invalid(
            "subject",
            format!("must be 1 to {MAX_SUBJECT_LEN} characters, none of them a control character"),
        ));
    }
    let Some(user) = store.user_by_name(&input.username).await? else {
        return Err(AdminError::invalid("username", "no such user"));
    };
    let view = LinkView {
        idp_id: idp.id,
        subject,
        user_id: user.id,
        username: user.username,
        created_at: now,
    };
    let event = AuditEvent::new(AuditKind::IdJagSubjectLinked, actor.clone(), now)
        .subject(&view.user_id)
        .details(serde_json::json!({"idp": idp.issuer, "idp_subject": view.subject}));
    if !store
        .link_id_jag_subject(&view.idp_id, &view.subject, &view.user_id, now, &event)
        .await?
    {
        return Err(AdminError::Conflict(format!(
            "subject {} of {} is linked already",
            crate::domain::excerpt(&view.subject),
            idp.issuer
        )));
    }
    Ok(view)
}
