ALTER FUNCTION media_changes_notify() RESET enable_nestloop;
ALTER FUNCTION users_changes_notify() RESET enable_nestloop;
