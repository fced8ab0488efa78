-- Up Migration
-- The projection (users, tasks, tags, reminders), the immutable event store and the activity feed.
-- Events are the source of truth; every other table can be rebuilt from them (bin: replay).

create extension if not exists pg_trgm;

create table users (
  id          text primary key,
  timezone    text        not null default 'UTC',
  -- last per-user event sequence number handed out; events.seq values are 1..seq with no gap
  seq         bigint      not null default 0,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);

create table tasks (
  id              uuid primary key,
  user_id         text        not null references users (id),
  title           text        not null check (char_length(title) between 1 and 500),
  description     text,
  status          text        not null default 'pending' check (status in ('pending', 'completed')),
  priority        text        not null default 'medium' check (priority in ('low', 'medium', 'high', 'urgent')),
  priority_rank   smallint generated always as (
                    case priority when 'low' then 0 when 'medium' then 1 when 'high' then 2 else 3 end) stored,
  due_date        timestamptz,
  timezone        text        not null,
  recurrence_rule text,
  next_occurrence timestamptz,
  -- no foreign key: spawned instances outlive a deleted parent
  parent_task_id  uuid,
  version         integer     not null,
  created_at      timestamptz not null,
  updated_at      timestamptz not null,
  completed_at    timestamptz,
  search          tsvector generated always as (
                    to_tsvector('simple', title || ' ' || coalesce(description, ''))) stored
);
create index tasks_user_created  on tasks (user_id, created_at desc, id desc);
create index tasks_user_due      on tasks (user_id, coalesce(due_date, 'infinity'::timestamptz), id);
create index tasks_user_priority on tasks (user_id, priority_rank, id);
create index tasks_user_title    on tasks (user_id, title, id);
create index tasks_search        on tasks using gin (search);
create index tasks_title_trgm    on tasks using gin (title gin_trgm_ops);
create index tasks_recurring     on tasks (next_occurrence) where next_occurrence is not null;

create table tags (
  id         uuid primary key,
  user_id    text        not null references users (id),
  name       text        not null check (char_length(name) between 1 and 64),
  color      text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create unique index tags_user_name on tags (user_id, lower(name));

create table task_tags (
  task_id uuid not null references tasks (id) on delete cascade,
  tag_id  uuid not null references tags (id) on delete cascade,
  primary key (task_id, tag_id)
);
create index task_tags_tag on task_tags (tag_id);

create table reminders (
  id          uuid primary key,
  task_id     uuid        not null references tasks (id) on delete cascade,
  user_id     text        not null references users (id),
  before      text,
  at          timestamptz,
  remind_at   timestamptz not null,
  -- the idempotency check of reminder.triggered: a reminder notifies once
  notified    boolean     not null default false,
  notified_at timestamptz,
  created_at  timestamptz not null,
  check ((before is null) <> (at is null))
);
create index reminders_task    on reminders (task_id);
create index reminders_pending on reminders (user_id, remind_at) where not notified;

create table events (
  event_id       uuid primary key,
  user_id        text        not null,
  seq            bigint      not null,
  aggregate_id   text        not null,
  version        integer     not null,
  event_type     text        not null,
  schema_version text        not null,
  "timestamp"    timestamptz not null,
  correlation_id uuid        not null,
  data           jsonb       not null,
  applied_at     timestamptz not null default now(),
  unique (user_id, seq)
);
create index events_aggregate on events (aggregate_id, version);

-- Append-only, enforced by the database: a correction is a new event.
create function events_are_immutable() returns trigger language plpgsql as $$
begin
  raise exception 'events are immutable (% refused)', tg_op using errcode = 'restrict_violation';
end $$;
create trigger events_no_update before update or delete on events
  for each row execute function events_are_immutable();
create trigger events_no_truncate before truncate on events
  for each statement execute function events_are_immutable();

create table activity_logs (
  id         bigserial primary key,
  user_id    text        not null,
  event_id   uuid        not null unique references events (event_id),
  seq        bigint      not null,
  task_id    text,
  action     text        not null,
  summary    text        not null,
  created_at timestamptz not null
);
create index activity_logs_user on activity_logs (user_id, seq desc);

-- Down Migration
drop table activity_logs;
drop trigger events_no_truncate on events;
drop trigger events_no_update on events;
drop table events;
drop function events_are_immutable();
drop table reminders;
drop table task_tags;
drop table tags;
drop table tasks;
drop table users;
