//! Staff sign-in over the fakes: invites, passwords, sessions, limits and removal.

use std::net::IpAddr;

use chrono::Duration;

use crate::app::{SIGN_IN_FAILURES_PER_ACCOUNT, SIGN_IN_FAILURES_PER_ADDRESS};
use crate::model::staff::Role;
use crate::testing::World;
use crate::values::error::Error;

const PASSWORD: &str = "a long enough password";

async fn owner(world: &World, email: &str) -> crate::app::SignedIn {
    let invited = world
        .vouch
        .add_staff(&world.business, "admin key", email, "Olivia Owens", "owner")
        .await
        .unwrap();
    world
        .vouch
        .accept_invite(&invited.token, PASSWORD)
        .await
        .unwrap()
}

fn ip(raw: &str) -> Option<IpAddr> {
    Some(raw.parse().unwrap())
}

#[tokio::test]
async fn an_invite_sets_the_password_once_and_signs_the_person_in() {
    let world = World::new().await;
    let invited = world
        .vouch
        .add_staff(
            &world.business,
            "admin key",
            "Olivia@Example.com",
            "Olivia",
            "owner",
        )
        .await
        .unwrap();
    assert_eq!(invited.member.email.as_str(), "olivia@example.com");
    assert_eq!(
        world.vouch.invitation(&invited.token).await.unwrap().id,
        invited.member.id
    );
    let short = world.vouch.accept_invite(&invited.token, "too short").await;
    assert!(matches!(short, Err(Error::Validation(f)) if f.contains_key("password")));

    let signed = world
        .vouch
        .accept_invite(&invited.token, PASSWORD)
        .await
        .unwrap();
    assert_eq!(signed.actor.role, Role::Owner);
    assert_eq!(signed.actor.label(), "Olivia (owner)");
    let actor = world
        .vouch
        .actor(&signed.cookie.value())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(actor.staff_id, invited.member.id);
    assert!(!actor.csrf.is_empty());

    let again = world.vouch.accept_invite(&invited.token, PASSWORD).await;
    assert!(matches!(again, Err(Error::NotFound("invite"))), "{again:?}");
    let member = world
        .vouch
        .staff_list(&world.business)
        .await
        .unwrap()
        .remove(0);
    assert!(member.invite.is_none() && member.password.is_some());
}

#[tokio::test]
async fn an_invite_expires_after_72_hours() {
    let world = World::new().await;
    let invited = world
        .vouch
        .add_staff(
            &world.business,
            "admin key",
            "sam@example.com",
            "Sam",
            "staff",
        )
        .await
        .unwrap();
    world.clock.advance(Duration::hours(72));
    let late = world.vouch.accept_invite(&invited.token, PASSWORD).await;
    assert!(matches!(late, Err(Error::NotFound("invite"))), "{late:?}");
    assert!(world.vouch.invitation("no-such-token").await.is_err());
}

#[tokio::test]
async fn bad_fields_are_named_and_an_email_has_one_sign_in() {
    let world = World::new().await;
    let bad = world
        .vouch
        .add_staff(&world.business, "admin key", "not-an-email", " ", "boss")
        .await;
    let Err(Error::Validation(fields)) = bad else {
        panic!("{bad:?}")
    };
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["email", "name", "role"]);
    owner(&world, "olivia@example.com").await;
    let twice = world
        .vouch
        .add_staff(
            &world.business,
            "admin key",
            "OLIVIA@example.com",
            "O",
            "staff",
        )
        .await;
    assert!(matches!(
        twice,
        Err(Error::Conflict {
            code: "email_taken",
            ..
        })
    ));
}

#[tokio::test]
async fn signing_in_needs_the_right_password_and_failures_are_limited_per_account() {
    let world = World::new().await;
    owner(&world, "olivia@example.com").await;
    let ok = world
        .vouch
        .sign_in("olivia@example.com", PASSWORD, ip("203.0.113.1"))
        .await
        .unwrap();
    assert!(
        world
            .vouch
            .actor(&ok.cookie.value())
            .await
            .unwrap()
            .is_some()
    );
    for _ in 0..SIGN_IN_FAILURES_PER_ACCOUNT {
        let wrong = world
            .vouch
            .sign_in("olivia@example.com", "wrong password!", ip("203.0.113.2"))
            .await;
        assert!(matches!(wrong, Err(Error::Unauthenticated)), "{wrong:?}");
    }
    // Even the right password waits for the window to end, from any address.
    let limited = world
        .vouch
        .sign_in("olivia@example.com", PASSWORD, ip("198.51.100.9"))
        .await;
    assert!(
        matches!(limited, Err(Error::RateLimited { retry_after_secs }) if retry_after_secs > 0)
    );
    world.clock.advance(Duration::minutes(15));
    assert!(
        world
            .vouch
            .sign_in("olivia@example.com", PASSWORD, ip("198.51.100.9"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn failures_are_limited_per_address_across_accounts_and_unknown_emails_look_the_same() {
    let world = World::new().await;
    owner(&world, "olivia@example.com").await;
    for i in 0..SIGN_IN_FAILURES_PER_ADDRESS {
        let wrong = world
            .vouch
            .sign_in(
                &format!("guess{i}@example.com"),
                PASSWORD,
                ip("203.0.113.7"),
            )
            .await;
        assert!(matches!(wrong, Err(Error::Unauthenticated)), "{wrong:?}");
    }
    let limited = world
        .vouch
        .sign_in("olivia@example.com", PASSWORD, ip("203.0.113.7"))
        .await;
    assert!(
        matches!(limited, Err(Error::RateLimited { .. })),
        "{limited:?}"
    );
    assert!(
        world
            .vouch
            .sign_in("olivia@example.com", PASSWORD, ip("203.0.113.8"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_session_idles_out_after_12_hours_and_use_keeps_it_alive() {
    let world = World::new().await;
    let signed = owner(&world, "olivia@example.com").await;
    let cookie = signed.cookie.value();
    world.clock.advance(Duration::hours(11));
    assert!(world.vouch.actor(&cookie).await.unwrap().is_some());
    world.clock.advance(Duration::hours(11));
    assert!(
        world.vouch.actor(&cookie).await.unwrap().is_some(),
        "used 11 h ago"
    );
    world.clock.advance(Duration::hours(12));
    assert!(world.vouch.actor(&cookie).await.unwrap().is_none());
}

#[tokio::test]
async fn removing_a_member_ends_their_sessions_at_once_and_signing_out_ends_one() {
    let world = World::new().await;
    let boss = owner(&world, "olivia@example.com").await;
    let invited = world
        .vouch
        .add_staff(
            &world.business,
            &boss.actor.label(),
            "sam@example.com",
            "Sam",
            "staff",
        )
        .await
        .unwrap();
    assert_eq!(invited.member.added_by, "Olivia Owens (owner)");
    let sam = world
        .vouch
        .accept_invite(&invited.token, PASSWORD)
        .await
        .unwrap();
    let refused = world
        .vouch
        .remove_staff(
            &world.business,
            &boss.actor.staff_id.to_string(),
            Some(&boss.actor),
        )
        .await;
    assert!(matches!(
        refused,
        Err(Error::Conflict {
            code: "own_account",
            ..
        })
    ));

    world
        .vouch
        .remove_staff(
            &world.business,
            &sam.actor.staff_id.to_string(),
            Some(&boss.actor),
        )
        .await
        .unwrap();
    assert!(
        world
            .vouch
            .actor(&sam.cookie.value())
            .await
            .unwrap()
            .is_none()
    );
    let gone = world.vouch.sign_in("sam@example.com", PASSWORD, None).await;
    assert!(matches!(gone, Err(Error::Unauthenticated)));

    world.vouch.sign_out(&boss.cookie.value()).await.unwrap();
    assert!(
        world
            .vouch
            .actor(&boss.cookie.value())
            .await
            .unwrap()
            .is_none()
    );
    // Another business's id in a cookie finds nothing.
    let mut forged = boss.cookie.clone();
    forged.business_id = crate::values::ids::BusinessId::parse("other-biz").unwrap();
    assert!(world.vouch.actor(&forged.value()).await.unwrap().is_none());
}
