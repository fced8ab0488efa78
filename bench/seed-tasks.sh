#!/usr/bin/env bash
# Seeds the projection for the query suite straight into PostgreSQL (the API would take hours at
# 1M tasks): SEED_USER_TASKS tasks for the user `q-big`, and the rest of SEED_TOTAL_TASKS spread
# over users `q-u<n>` of 100 tasks each. Titles and descriptions are drawn from a fixed word list
# (so full-text and substring searches hit realistic fractions), ~30% completed, priorities
# uniform, ~80% with a due date within +-180 days, created over the past year, 20 tags for q-big
# with 0-2 tags per task.
#
# Only the projection tables (users, tasks, tags, task_tags) are written: no events, so history
# and the event log are empty for these tasks. Seeding drops the secondary indexes of `tasks`,
# bulk-inserts, and recreates them from their own saved definitions (faster than maintaining
# two GIN indexes row by row), then VACUUM ANALYZEs (as autovacuum would have long since done on a real table).
#
# usage: bench/seed-tasks.sh [<results dir>]   (needs DATABASE_URL; writes seed.log there)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-.}"
USER_TASKS="${SEED_USER_TASKS:-100000}"
TOTAL="${SEED_TOTAL_TASKS:-1000000}"
OTHERS=$(((TOTAL - USER_TASKS + 99) / 100))
PSQL="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
[ -x "$PSQL" ] || PSQL=psql
: "${DATABASE_URL:?DATABASE_URL is not set}"

start=$(date +%s)
"$PSQL" "$DATABASE_URL" -v ON_ERROR_STOP=1 -q <<SQL 2>&1 | tee "$OUT/seed.log" >&2
\timing on
set synchronous_commit = off;
set maintenance_work_mem = '256MB';
create temporary table saved_indexes as
  select indexname, indexdef from pg_indexes
  where schemaname = current_schema() and tablename = 'tasks' and indexname <> 'tasks_pkey';
do \$\$ declare r record; begin
  for r in select indexname from saved_indexes loop execute format('drop index %I', r.indexname); end loop;
end \$\$;

create temporary table words as
  select row_number() over () as n, w from unnest(string_to_array(
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango '
  'uniform victor whiskey xray yankee zulu report invoice meeting review deploy release budget design draft email call lunch '
  'groceries dentist doctor gym laundry rent taxes garden paint fix order book flight hotel visa passport renew update backup '
  'server database migrate refactor test benchmark kafka redis postgres socket latency throughput scale cluster helm chart '
  'onboarding interview hiring payroll quarterly planning roadmap sprint retro standup demo customer support ticket escalate '
  'invoice contract legal compliance audit security patch upgrade monitor alert dashboard metric trace log profile optimize '
  'birthday anniversary gift party dinner movie concert museum travel train bus car insurance bank loan mortgage savings '
  'homework exam study course lecture thesis paper research experiment lab sample analysis summary slides present publish',
  ' ')) as w;
create temporary table wl as select array_agg(w order by n) as a, count(*)::int as wc from words;

insert into users (id, created_at, updated_at)
  select 'q-big', now(), now()
  union all select 'q-u' || g, now(), now() from generate_series(1, $OTHERS) g
  on conflict (id) do nothing;

insert into tags (id, user_id, name, color, created_at, updated_at)
  select gen_random_uuid(), 'q-big', 'tag' || g, null, now(), now() from generate_series(1, 20) g
  on conflict do nothing;

-- q-big first, then the others in chunks of 100 per user.
insert into tasks (id, user_id, title, description, status, priority, due_date, timezone, recurrence_rule,
                   next_occurrence, parent_task_id, version, created_at, updated_at, completed_at)
select gen_random_uuid(), u,
       wl.a[1 + (random() * (wl.wc - 1))::int] || ' ' || wl.a[1 + (random() * (wl.wc - 1))::int] || ' '
         || wl.a[1 + (random() * (wl.wc - 1))::int] || ' #' || g,
       case when random() < 0.5 then wl.a[1 + (random() * (wl.wc - 1))::int] || ' ' || wl.a[1 + (random() * (wl.wc - 1))::int]
            || ' ' || wl.a[1 + (random() * (wl.wc - 1))::int] || ' ' || wl.a[1 + (random() * (wl.wc - 1))::int] end,
       st, (array['low','medium','high','urgent'])[1 + (random() * 3)::int],
       case when random() < 0.8 then now() + (random() * 360 - 180) * interval '1 day' end,
       'UTC', null, null, null, 1, c, c, case when st = 'completed' then c + interval '1 day' end
from (
  select g, case when g <= $USER_TASKS then 'q-big' else 'q-u' || (1 + (g - $USER_TASKS - 1) / 100) end as u,
         case when random() < 0.3 then 'completed' else 'pending' end as st,
         now() - random() * interval '365 days' as c
  from generate_series(1, $TOTAL) g
) s, wl;

insert into task_tags (task_id, tag_id)
select t.id, g.id from tasks t
join tags g on g.user_id = 'q-big' and g.name = 'tag' || (1 + abs(hashtext(t.id::text)) % 20)
where t.user_id = 'q-big' and abs(hashtext(t.id::text || 'a')) % 3 <> 0
union
select t.id, g.id from tasks t
join tags g on g.user_id = 'q-big' and g.name = 'tag' || (1 + abs(hashtext(t.id::text || 'b')) % 20)
where t.user_id = 'q-big' and abs(hashtext(t.id::text || 'c')) % 3 = 0
on conflict do nothing;

do \$\$ declare r record; begin
  for r in select indexdef from saved_indexes loop execute r.indexdef; end loop;
end \$\$;
vacuum analyze users; vacuum analyze tasks; vacuum analyze tags; vacuum analyze task_tags;
select user_id = 'q-big' as big, count(*) from tasks group by 1;
SQL
echo "seeded $TOTAL tasks ($USER_TASKS for q-big) in $(($(date +%s) - start)) s" | tee -a "$OUT/seed.log" >&2
