//! The follow graph: relations, blocks and the counters the triggers keep.

use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use crate::error::AppResult;

/// A counter row that did not match the follow table.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct CounterDrift {
    /// The user.
    #[diesel(sql_type = Text)]
    pub user_id: String,
    /// Followers counter before the repair.
    #[diesel(sql_type = Integer)]
    pub followers_was: i32,
    /// Following counter before the repair.
    #[diesel(sql_type = Integer)]
    pub following_was: i32,
    /// Followers, counted.
    #[diesel(sql_type = Integer)]
    pub followers: i32,
    /// Following, counted.
    #[diesel(sql_type = Integer)]
    pub following: i32,
}

impl std::fmt::Display for CounterDrift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: followers {} -> {}, following {} -> {}",
            self.user_id, self.followers_was, self.followers, self.following_was, self.following
        )
    }
}

/// Counts the accepted follows of every user and repairs the counters that differ, creating
/// missing counter rows. Writes to `follows` wait meanwhile, so the counts are exact.
pub async fn recount(conn: &mut AsyncPgConnection) -> AppResult<Vec<CounterDrift>> {
    let drift = conn
        .transaction(async |conn| {
            conn.batch_execute("LOCK TABLE follows IN SHARE MODE").await?;
            diesel::sql_query(
                "INSERT INTO follow_counters (user_id) SELECT id FROM users u \
                 WHERE NOT EXISTS (SELECT 1 FROM follow_counters c WHERE c.user_id = u.id)",
            )
            .execute(conn)
            .await?;
            diesel::sql_query(
                "WITH truth AS ( \
                    SELECT u.id AS user_id, \
                           coalesce(fr.n, 0)::integer AS followers, \
                           coalesce(fg.n, 0)::integer AS following \
                      FROM users u \
                      LEFT JOIN (SELECT followee_id, count(*) AS n FROM follows WHERE status = 'accepted' GROUP BY 1) fr \
                             ON fr.followee_id = u.id \
                      LEFT JOIN (SELECT follower_id, count(*) AS n FROM follows WHERE status = 'accepted' GROUP BY 1) fg \
                             ON fg.follower_id = u.id), \
                 drift AS ( \
                    SELECT t.user_id, c.followers_count AS followers_was, c.following_count AS following_was, \
                           t.followers, t.following \
                      FROM truth t JOIN follow_counters c USING (user_id) \
                     WHERE c.followers_count <> t.followers OR c.following_count <> t.following) \
                 UPDATE follow_counters c \
                    SET followers_count = d.followers, following_count = d.following \
                   FROM drift d WHERE c.user_id = d.user_id \
                 RETURNING d.user_id, d.followers_was, d.following_was, d.followers, d.following",
            )
            .load::<CounterDrift>(conn)
            .await
        })
        .await?;
    Ok(drift)
}
