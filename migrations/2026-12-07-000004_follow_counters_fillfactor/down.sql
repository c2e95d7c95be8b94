ALTER TABLE follow_counters RESET (fillfactor);
