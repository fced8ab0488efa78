-- Up Migration
-- The scheduler's intake (a transactional outbox of schedule changes): the processors upsert, in
-- the transaction that applies the events, one row per task holding its latest desired schedule;
-- the scheduler makes BullMQ match each row and deletes it if nothing newer arrived meanwhile
-- (storage/queries/schedule-changes.ts). `scope` is the deployment's TOPIC_PREFIX, so deployments
-- sharing one database (the test stack) each take only their own rows, as each had its own topic.
create sequence schedule_changes_revision;
create table schedule_changes (
  scope      text        not null default '',
  task_id    uuid        not null,
  user_id    text        not null,
  -- the task's version when recorded: an older change never overwrites a newer one
  version    integer     not null,
  -- null: the task needs no jobs (deleted, completed without a series, nothing pending)
  schedule   jsonb,
  -- bumped by every upsert: the scheduler deletes a row only if it still has the revision it took
  revision   bigint      not null default nextval('schedule_changes_revision'),
  changed_at timestamptz not null default now(),
  primary key (scope, task_id)
);
alter sequence schedule_changes_revision owned by schedule_changes.revision;
create index schedule_changes_order on schedule_changes (scope, revision);

-- Down Migration
drop table schedule_changes;
