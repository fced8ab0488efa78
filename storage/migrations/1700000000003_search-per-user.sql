-- Up Migration
-- Search at 100,000 tasks for one user (issue 14): the full-text and trigram indexes lead with
-- user_id (btree_gin), so a search scans only the user's matches, not every user's; the list query
-- (storage/queries/tasks.ts) collects a search's matches through them before sorting. The
-- single-column GIN indexes they replace served no query (every list is per user) and cost every
-- write an update of two more GIN indexes.
create extension if not exists btree_gin;
create index tasks_user_search on tasks using gin (user_id, search);
create index tasks_user_title_trgm on tasks using gin (user_id, title gin_trgm_ops);
drop index tasks_search;
drop index tasks_title_trgm;

-- Down Migration
create index tasks_search on tasks using gin (search);
create index tasks_title_trgm on tasks using gin (title gin_trgm_ops);
drop index tasks_user_title_trgm;
drop index tasks_user_search;
