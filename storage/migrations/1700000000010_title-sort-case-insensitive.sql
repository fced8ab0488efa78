-- Up Migration
-- The task list's `sort_by=title` compares titles case-insensitively (`alpha` before `Bravo`), as
-- the tag list does; the index follows the sort key, so a write still updates one title index.
-- Ordered by code point whatever the database's collation (the services order the same way).
create index tasks_user_title_ci on tasks (user_id, (lower(title) collate "C"), id);
drop index tasks_user_title;

-- Down Migration
create index tasks_user_title on tasks (user_id, title, id);
drop index tasks_user_title_ci;
