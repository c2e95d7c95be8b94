DROP TABLE import_follows;
