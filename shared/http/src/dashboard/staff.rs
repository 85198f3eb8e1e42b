//! Staff management (owners): who can sign in, invite links, removal (their sessions end).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use vouch_domain::Error;
use vouch_domain::model::staff::{Actor, StaffMember};

use super::{Posted, Shell, Staffer, problem, unless_owner};
use crate::extract::request_origin;
use crate::state::AppState;

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: String,
    pub is_you: bool,
}

pub struct NewInvite {
    pub name: String,
    pub url: String,
}

#[derive(Default)]
pub struct StaffForm {
    pub name: String,
    pub email: String,
    pub role: String,
    pub errors: BTreeMap<String, String>,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    shell: Shell,
    members: Vec<MemberRow>,
    invite: Option<NewInvite>,
    form: StaffForm,
}

/// An invite link on this site.
pub fn invite_url(headers: &HeaderMap, token: &str) -> String {
    format!(
        "{}/admin/invite/{token}",
        request_origin(headers).unwrap_or_default()
    )
}

/// A member's state as the list shows it.
pub fn status_of(member: &StaffMember) -> String {
    match (&member.password, &member.invite) {
        (Some(_), _) => "can sign in".into(),
        (None, Some(invite)) => format!(
            "invited, link valid until {} UTC",
            invite.expires_at.format("%b %-d, %H:%M")
        ),
        (None, None) => "no password".into(),
    }
}

async fn render_page(
    state: &AppState,
    actor: &Actor,
    status: StatusCode,
    invite: Option<NewInvite>,
    form: StaffForm,
) -> Response {
    let members = match state.vouch.staff_list(&actor.business_id).await {
        Ok(members) => members,
        Err(err) => return problem(err),
    };
    let page = StaffPage {
        shell: Shell::of(actor, "staff"),
        members: members
            .iter()
            .map(|m| MemberRow {
                id: m.id.to_string(),
                name: m.name.as_str().to_owned(),
                email: m.email.as_str().to_owned(),
                role: m.role.as_str(),
                status: status_of(m),
                is_you: m.id == actor.staff_id,
            })
            .collect(),
        invite,
        form,
    };
    super::show(&page, status)
}

/// `GET /admin/staff`.
pub async fn page(State(state): State<AppState>, Staffer(actor): Staffer) -> Response {
    if let Some(refused) = unless_owner(&actor) {
        return refused;
    }
    render_page(&state, &actor, StatusCode::OK, None, StaffForm::default()).await
}

/// `POST /admin/staff`: name, email, role → the page with the new invite link shown once.
pub async fn add(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    if let Some(refused) = unless_owner(&posted.actor) {
        return refused;
    }
    let mut form = StaffForm {
        name: posted.field("name").to_owned(),
        email: posted.field("email").to_owned(),
        role: posted.field("role").to_owned(),
        errors: BTreeMap::new(),
    };
    let added = state
        .vouch
        .add_staff(
            &posted.actor.business_id,
            &posted.actor.label(),
            &form.email,
            &form.name,
            &form.role,
        )
        .await;
    match added {
        Ok(invited) => {
            let invite = NewInvite {
                name: invited.member.name.as_str().to_owned(),
                url: invite_url(&headers, &invited.token),
            };
            let status = StatusCode::CREATED;
            render_page(
                &state,
                &posted.actor,
                status,
                Some(invite),
                StaffForm::default(),
            )
            .await
        }
        Err(Error::Validation(errors)) => {
            form.errors = errors;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_page(&state, &posted.actor, status, None, form).await
        }
        Err(Error::Conflict {
            code: "email_taken",
            ..
        }) => {
            form.errors
                .insert("email".into(), "already has a sign-in".into());
            render_page(&state, &posted.actor, StatusCode::CONFLICT, None, form).await
        }
        Err(err) => problem(err),
    }
}

/// `POST /admin/staff/{id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    if let Some(refused) = unless_owner(&posted.actor) {
        return refused;
    }
    match state
        .vouch
        .remove_staff(&posted.actor.business_id, &id, Some(&posted.actor))
        .await
    {
        Ok(()) => Redirect::to("/admin/staff").into_response(),
        Err(err) => problem(err),
    }
}
