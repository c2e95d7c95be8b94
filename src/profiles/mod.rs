//! The profile domain: the model, identifiers, the privacy decision, update rules and the
//! use cases the REST and GraphQL adapters call. Nothing here knows about HTTP or GraphQL.

pub mod follows;
pub mod ids;
pub mod live;
pub mod model;
pub mod privacy;
pub mod rules;
pub mod service;
pub mod update;
pub mod view;

pub use ids::{ObjectId, ProfileKeys, UsernameKey};
pub use model::{AvailabilityStatus, FollowCounts, FollowStatus, MediaType, ProfilePhoto, User};
pub use privacy::{FoundProfile, Relation, VisibleProfile};
