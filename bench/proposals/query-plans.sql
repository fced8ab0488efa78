-- EXPLAIN ANALYZE of the slow list queries of the query suite, as listTasks() builds them today
-- and as proposed, on the seeded bench database (bench/seed-tasks.sh: 1M tasks, 100k for q-big).
--   psql "$DATABASE_URL" -f bench/proposals/query-plans.sql
\timing on
set jit = off;

\echo '=== due range (today): the bound is on due_date, the index is on coalesce(due_date, infinity)'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and t.due_date >= now() + interval '40 days' and t.due_date <= now() + interval '47 days'
order by coalesce(t.due_date, 'infinity'::timestamptz) asc, t.id asc limit 51;

\echo '=== due range (proposed): the same bounds on the indexed expression'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and t.due_date is not null
  and coalesce(t.due_date, 'infinity'::timestamptz) >= now() + interval '40 days'
  and coalesce(t.due_date, 'infinity'::timestamptz) <= now() + interval '47 days'
order by coalesce(t.due_date, 'infinity'::timestamptz) asc, t.id asc limit 51;

\echo '=== tag filter (today): EXISTS per task in created_at order'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and exists (select 1 from task_tags tt join tags g on g.id = tt.tag_id
  where tt.task_id = t.id and lower(g.name) = any('{tag6}'::text[]))
order by t.created_at desc, t.id desc limit 51;

\echo '=== tag filter (proposed): tag ids first, then task_tags(tag_id) drives, top-N sort'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and t.id in (select tt.task_id from task_tags tt where tt.tag_id = any(array(
  select g.id from tags g where g.user_id = 'q-big' and lower(g.name) = any('{tag6}'::text[]))))
order by t.created_at desc, t.id desc limit 51;

\echo '=== two words (today): full-text OR title substring'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and (t.search @@ websearch_to_tsquery('simple', 'report meeting') or t.title ilike '%report meeting%')
order by t.created_at desc, t.id desc limit 51;

\echo '=== substring (today)'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and (t.search @@ websearch_to_tsquery('simple', 'epor') or t.title ilike '%epor%')
order by t.created_at desc, t.id desc limit 51;

\echo '=== proposed: user-scoped GIN indexes (btree_gin), so the user filter is inside the text index'
create extension if not exists btree_gin;
create index if not exists tasks_user_search on tasks using gin (user_id, search);
create index if not exists tasks_user_title_trgm on tasks using gin (user_id, title gin_trgm_ops);
analyze tasks;

\echo '=== two words (with user-scoped GIN)'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and (t.search @@ websearch_to_tsquery('simple', 'report meeting') or t.title ilike '%report meeting%')
order by t.created_at desc, t.id desc limit 51;

\echo '=== substring (with user-scoped GIN)'
explain (analyze, buffers, costs off) select t.id from tasks t
where t.user_id = 'q-big' and (t.search @@ websearch_to_tsquery('simple', 'epor') or t.title ilike '%epor%')
order by t.created_at desc, t.id desc limit 51;
