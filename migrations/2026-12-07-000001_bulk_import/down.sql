DROP TABLE import_checkpoints;
DROP TRIGGER blocks_end_follows_update ON blocks;
DROP TRIGGER blocks_end_follows_insert ON blocks;
DROP FUNCTION blocks_end_follows();
