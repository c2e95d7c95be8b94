//! Who may see a profile: the one place where that is decided (SPEC §3).
//!
//! Every read — REST by id or username, GraphQL `user`, `userByUsername`, `users`, `viewer`,
//! list nodes — turns a [`FoundProfile`] into a [`VisibleProfile`] through [`check`], and the
//! adapters can only render a `VisibleProfile`. A path that skipped the check would not compile.

use std::sync::Arc;

use super::model::{FollowCounts, FollowStatus, User};
use super::view::RenderedView;
use crate::error::AppError;
use crate::identity::Viewer;

/// The relations between the viewer and a profile's owner, read in the same statement as the
/// user: what the privacy decision needs, and the viewer-relative fields GraphQL shows. All
/// empty for an anonymous viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    /// The owner has blocked the viewer.
    pub blocked_by_owner: bool,
    /// The viewer has blocked the owner.
    pub blocked_by_viewer: bool,
    /// The viewer's follow of the owner, if any.
    pub viewer_follow: Option<FollowStatus>,
    /// The owner's follow of the viewer, if any.
    pub owner_follow: Option<FollowStatus>,
}

/// A profile as a read finds it, before the privacy decision: the stored user, its counts, and
/// the viewer's relations with it.
#[derive(Debug, Clone)]
pub struct FoundProfile {
    /// The stored user (shared: the same profile serves many viewers).
    pub user: Arc<User>,
    /// Its follower and following counts.
    pub counts: FollowCounts,
    /// The viewer's relations with the user (all empty for an anonymous viewer).
    pub relation: Relation,
    /// Where the public view of this user and counts is kept once rendered, shared by every
    /// read of the same cache entry (`None` for a profile read from the database).
    pub rendered: Option<Arc<RenderedView>>,
}

/// A profile the viewer may see, with its counts.
#[derive(Debug, Clone)]
pub struct VisibleProfile {
    user: Arc<User>,
    counts: FollowCounts,
    shows_birth_date: bool,
    relation: Option<Relation>,
    rendered: Option<Arc<RenderedView>>,
}

impl VisibleProfile {
    /// The stored user.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The user's follower and following counts.
    pub fn counts(&self) -> FollowCounts {
        self.counts
    }

    /// Whether the viewer is the owner or an admin, who also see the birth date.
    pub fn shows_birth_date(&self) -> bool {
        self.shows_birth_date
    }

    /// The viewer's relations with the owner; `None` for an anonymous viewer.
    pub fn relation(&self) -> Option<&Relation> {
        self.relation.as_ref()
    }

    /// The memo of this profile's rendered public view, when it came from the cache.
    pub fn rendered_view(&self) -> Option<&RenderedView> {
        self.rendered.as_deref()
    }
}

/// Decides whether `viewer` may see `user`. In order: a deactivated user does not exist (404);
/// the owner always sees their own profile; a user who blocked the viewer refuses them (403,
/// admins included: a block is personal); a private profile shows only to accepted followers,
/// admins, and the users it has asked to follow — they must see who asks before they approve
/// (403 for everyone else).
pub fn check(viewer: &Viewer, found: FoundProfile) -> Result<VisibleProfile, AppError> {
    let FoundProfile {
        user,
        counts,
        relation,
        rendered,
    } = found;
    if user.is_deactivated() {
        return Err(AppError::NotFound);
    }
    let is_owner = viewer.user_id() == Some(&user.id);
    if !is_owner {
        if relation.blocked_by_owner {
            return Err(AppError::Blocked);
        }
        let accepted_follower = relation.viewer_follow == Some(FollowStatus::Accepted);
        let asked_to_follow_viewer = relation.owner_follow == Some(FollowStatus::Pending);
        if user.is_private && !accepted_follower && !asked_to_follow_viewer && !viewer.is_admin() {
            return Err(AppError::Private);
        }
    }
    Ok(VisibleProfile {
        shows_birth_date: is_owner || viewer.is_admin(),
        relation: viewer.user_id().map(|_| relation),
        counts,
        user,
        rendered,
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::profiles::ids::ObjectId;

    fn id(n: u8) -> ObjectId {
        ObjectId::parse(&format!("{n:024x}")).expect("valid id")
    }

    fn user(is_private: bool) -> User {
        User {
            is_private,
            ..User::example(1, "ab_c")
        }
    }

    fn viewer(n: u8, admin: bool) -> Viewer {
        Viewer::User { id: id(n), admin }
    }

    fn found(user: User, relation: Relation) -> FoundProfile {
        FoundProfile {
            rendered: None,
            user: Arc::new(user),
            counts: FollowCounts::default(),
            relation,
        }
    }

    fn outcome(viewer: &Viewer, user: User, relation: Relation) -> &'static str {
        match check(viewer, found(user, relation)) {
            Ok(_) => "ok",
            Err(AppError::NotFound) => "404",
            Err(AppError::Blocked) => "403 blocked",
            Err(AppError::Private) => "403 private",
            Err(_) => "other",
        }
    }

    #[test]
    fn the_matrix() {
        let none = Relation::default();
        let accepted = Relation {
            viewer_follow: Some(FollowStatus::Accepted),
            ..none
        };
        let pending = Relation {
            viewer_follow: Some(FollowStatus::Pending),
            ..none
        };
        let blocked = Relation {
            blocked_by_owner: true,
            ..accepted
        };
        let anonymous = Viewer::Anonymous;
        let owner = viewer(1, false);
        let other = viewer(2, false);
        let admin = viewer(3, true);

        assert_eq!(outcome(&anonymous, user(false), none), "ok");
        assert_eq!(outcome(&anonymous, user(true), none), "403 private");
        assert_eq!(outcome(&owner, user(true), none), "ok");
        assert_eq!(outcome(&other, user(true), accepted), "ok");
        assert_eq!(outcome(&other, user(true), pending), "403 private");
        assert_eq!(outcome(&admin, user(true), none), "ok");
        assert_eq!(outcome(&other, user(false), blocked), "403 blocked");
        assert_eq!(outcome(&other, user(true), blocked), "403 blocked");
        let requester = Relation {
            owner_follow: Some(FollowStatus::Pending),
            ..none
        };
        assert_eq!(
            outcome(&other, user(true), requester),
            "ok",
            "a private requester shows to whom it asked"
        );
        assert_eq!(outcome(&admin, user(false), blocked), "403 blocked");

        let mut gone = user(false);
        gone.deactivated_at = Some(Utc::now());
        assert_eq!(outcome(&owner, gone.clone(), none), "404");
        assert_eq!(outcome(&admin, gone, none), "404");
    }

    #[test]
    fn birth_date_shows_to_owner_and_admin_only() {
        let shows = |v: &Viewer| {
            check(v, found(user(false), Relation::default()))
                .map(|p| p.shows_birth_date())
                .unwrap_or_default()
        };
        assert!(shows(&viewer(1, false)));
        assert!(shows(&viewer(3, true)));
        assert!(!shows(&viewer(2, false)));
        assert!(!shows(&Viewer::Anonymous));
    }
}
