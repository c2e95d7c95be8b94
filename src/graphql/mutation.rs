//! `Mutation`: changing one's own profile.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use chrono::Utc;
use serde_json::{Map, Value};

use super::error::{GqlResult, raise, request_context};
use super::follows::RelationshipMutations;
use super::scalars::Date;
use super::types::{AvailabilityStatus, User};
use crate::identity::Viewer;
use crate::profiles::service::{self, UpdateOptions};
use crate::state::AppState;

/// Changes to one's own profile, with JSON Merge Patch semantics: a field left out is not
/// touched, `null` clears a nullable field (and is an error for a required one), strings are
/// trimmed, an empty string clears a nullable field, `interests` replaces the whole list.
#[derive(InputObject, Default)]
pub struct UpdateProfileInput {
    #[doc = concat!("Given name, 1–", crate::profile_limit!(NAME_MAX), " characters after trimming.")]
    name: MaybeUndefined<String>,
    #[doc = concat!("Family name, 1–", crate::profile_limit!(NAME_MAX), " characters after trimming.")]
    surname: MaybeUndefined<String>,
    #[doc = concat!(crate::profile_limit!(USERNAME_MIN), "–", crate::profile_limit!(USERNAME_MAX), " letters, digits, `_` or `.`; must not be taken, ignoring case.")]
    username: MaybeUndefined<String>,
    /// Current availability.
    availability_status: MaybeUndefined<AvailabilityStatus>,
    #[doc = concat!("Up to ", crate::profile_limit!(INTERESTS_MAX), " interests, each 1–", crate::profile_limit!(INTEREST_MAX), " characters, no duplicates ignoring case.")]
    interests: MaybeUndefined<Vec<String>>,
    #[doc = concat!("At most ", crate::profile_limit!(EXPERTISE_MAX), " characters; null or empty clears it.")]
    expertise: MaybeUndefined<String>,
    #[doc = concat!("At most ", crate::profile_limit!(BIO_MAX), " characters; null or empty clears it.")]
    bio: MaybeUndefined<String>,
    #[doc = concat!("Credits per live-stream minute, 0–", crate::profile_limit!(PRICE_MAX), ".")]
    minute_price_in_live_stream: MaybeUndefined<i32>,
    /// Instagram username, with or without `@`, or an instagram.com profile link.
    instagram: MaybeUndefined<String>,
    /// Snapchat username, with or without `@`, or a snapchat.com profile link.
    snapchat: MaybeUndefined<String>,
    /// X username, with or without `@`, or an x.com / twitter.com profile link.
    x: MaybeUndefined<String>,
    /// TikTok username, with or without `@`, or a tiktok.com profile link.
    tiktok: MaybeUndefined<String>,
    /// Facebook username or a facebook.com profile link.
    facebook: MaybeUndefined<String>,
    #[doc = concat!("`YYYY-MM-DD`, an age of ", crate::profile_limit!(AGE_MIN), "–", crate::profile_limit!(AGE_MAX), " in the request's timezone.")]
    birth_date: MaybeUndefined<Date>,
    /// Whether only approved followers may see the profile.
    is_private: MaybeUndefined<bool>,
    /// The id of a media item you own, to show as your profile photo.
    profile_photo_id: MaybeUndefined<ID>,
}

fn put(patch: &mut Map<String, Value>, field: &str, value: MaybeUndefined<Value>) {
    match value {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => {
            patch.insert(field.to_owned(), Value::Null);
        }
        MaybeUndefined::Value(v) => {
            patch.insert(field.to_owned(), v);
        }
    }
}

impl UpdateProfileInput {
    /// The same merge-patch object a REST client would send.
    fn into_patch(self) -> Map<String, Value> {
        let mut patch = Map::new();
        let text = |v: MaybeUndefined<String>| v.map_value(Value::String);
        put(&mut patch, "name", text(self.name));
        put(&mut patch, "surname", text(self.surname));
        put(&mut patch, "username", text(self.username));
        put(
            &mut patch,
            "availabilityStatus",
            self.availability_status.map_value(|s| {
                Value::String(
                    crate::profiles::AvailabilityStatus::from(s)
                        .as_str()
                        .to_owned(),
                )
            }),
        );
        put(
            &mut patch,
            "interests",
            self.interests
                .map_value(|list| Value::Array(list.into_iter().map(Value::String).collect())),
        );
        put(&mut patch, "expertise", text(self.expertise));
        put(&mut patch, "bio", text(self.bio));
        put(
            &mut patch,
            "minutePriceInLiveStream",
            self.minute_price_in_live_stream.map_value(Value::from),
        );
        put(&mut patch, "instagram", text(self.instagram));
        put(&mut patch, "snapchat", text(self.snapchat));
        put(&mut patch, "x", text(self.x));
        put(&mut patch, "tiktok", text(self.tiktok));
        put(&mut patch, "facebook", text(self.facebook));
        put(
            &mut patch,
            "birthDate",
            self.birth_date.map_value(|d| Value::String(d.0)),
        );
        put(
            &mut patch,
            "isPrivate",
            self.is_private.map_value(Value::Bool),
        );
        put(
            &mut patch,
            "profilePhotoId",
            self.profile_photo_id.map_value(|id| Value::String(id.0)),
        );
        patch
    }
}

/// Changing one's own profile and relations. Every mutation needs `Authorization: Bearer <JWT>`.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(ProfileMutations, RelationshipMutations);

/// Changing one's own profile.
#[derive(Default)]
pub struct ProfileMutations;

#[Object]
impl ProfileMutations {
    /// Updates the authenticated user's profile (the same rules as `PATCH
    /// /api/v1/users/profile`). Every problem of the input is reported at once, one error per
    /// field with `extensions.field`. `ifMatch` (the profile's `etag`) makes the update
    /// conditional: `PRECONDITION_FAILED` if the profile changed since. `dryRun` validates and
    /// returns the result without writing.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change.")] input: UpdateProfileInput,
        #[graphql(desc = "The `etag` the profile must still have (the REST `If-Match`).")] if_match: Option<String>,
        #[graphql(desc = "Validate and return the result without writing (default false).")]
        dry_run: Option<bool>,
    ) -> GqlResult<User> {
        let state = ctx.data_unchecked::<AppState>();
        let request = request_context(ctx)?;
        let viewer = ctx.data_unchecked::<Viewer>().clone();
        let options = UpdateOptions {
            if_match: if_match.as_deref(),
            dry_run: dry_run.unwrap_or(false),
            today: request.timezone.date_at(Utc::now()),
        };
        match service::update_profile(state.db(), Ok(viewer), &input.into_patch(), options).await {
            Ok(profile) => Ok(User::from(profile)),
            Err(error) => Err(raise(ctx, &error)),
        }
    }
}
