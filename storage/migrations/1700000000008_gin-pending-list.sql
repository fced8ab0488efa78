-- Up Migration
-- A GIN index collects new entries in a pending list and merges them into its tree in bulk, inside
-- whichever write pushes the list past gin_pending_list_limit (4 MB by default). At 1,000 task
-- creations a second the processors' lag showed 100-250 ms spikes every ~15-20 s; with 512 kB
-- they were gone (bench/README-bench.md, stop 28), and a search scans a shorter pending list. No
-- pending list at all (fastupdate = off) cost PostgreSQL 70 % more CPU per write.
alter index tasks_user_search set (gin_pending_list_limit = 512);
alter index tasks_user_title_trgm set (gin_pending_list_limit = 512);

-- Down Migration
alter index tasks_user_search reset (gin_pending_list_limit);
alter index tasks_user_title_trgm reset (gin_pending_list_limit);
