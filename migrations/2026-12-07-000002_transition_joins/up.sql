-- The change-stream triggers of `users` and `media` pair each row's old and new version by id
-- (`new_rows JOIN old_rows USING (id)`). The planner has no statistics for transition tables and
-- guesses one row each, so it chose a nested loop: harmless for the API's one-row updates, but
-- quadratic for a bulk statement — 570 ms of a 2,000-user batch of the import's photo pass went
-- to comparing every new row with every old one. Without nested loops inside these two
-- functions the pairing is a hash or merge join, linear in the statement's rows.
ALTER FUNCTION users_changes_notify() SET enable_nestloop = off;
ALTER FUNCTION media_changes_notify() SET enable_nestloop = off;
