// @generated automatically by Diesel CLI.

diesel::table! {
    blocks (blocker_id, blocked_id) {
        blocker_id -> Text,
        blocked_id -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    follow_counters (user_id) {
        user_id -> Text,
        followers_count -> Int4,
        following_count -> Int4,
    }
}

diesel::table! {
    follows (follower_id, followee_id) {
        follower_id -> Text,
        followee_id -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    import_checkpoints (pass) {
        pass -> Text,
        source -> Text,
        file_size -> Int8,
        byte_offset -> Int8,
        line -> Int8,
        done -> Bool,
        inserted -> Int8,
        updated -> Int8,
        skipped -> Int8,
        warnings -> Int8,
        saved_at -> Timestamptz,
    }
}

diesel::table! {
    import_follows (line) {
        line -> Int8,
        superseded_by -> Nullable<Int8>,
        follower_id -> Text,
        followee_id -> Text,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    media (id) {
        id -> Text,
        owner_id -> Text,
        url -> Text,
        #[sql_name = "type"]
        type_ -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        surname -> Text,
        username -> Text,
        username_key -> Text,
        availability_status -> Text,
        profile_photo_id -> Nullable<Text>,
        interests -> Array<Nullable<Text>>,
        expertise -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        minute_price_in_live_stream -> Int4,
        bio -> Nullable<Text>,
        instagram -> Nullable<Text>,
        snapchat -> Nullable<Text>,
        x -> Nullable<Text>,
        tiktok -> Nullable<Text>,
        facebook -> Nullable<Text>,
        is_private -> Bool,
        deactivated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(follow_counters -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    blocks,
    follow_counters,
    follows,
    import_checkpoints,
    import_follows,
    media,
    users,
);
