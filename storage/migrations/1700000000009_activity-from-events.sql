-- Up Migration
-- The activity feed was a second copy of every applied event: the same event id, user, seq, type
-- and time, plus two values the apply computes, the task it touched and a one-line summary. Those
-- two now go in the event's own row (beside seq and version, also assigned when it is applied) and
-- the feed is a view of the events, read through their (user_id, seq) index: per applied event one
-- heap tuple, three index entries and a foreign-key check fewer (bench/README-bench.md, stop 32).
alter table events add column task_id text, add column summary text;
alter table events disable trigger events_no_update;
update events e set task_id = a.task_id, summary = a.summary from activity_logs a where a.event_id = e.event_id;
alter table events enable trigger events_no_update;
drop table activity_logs;
create view activity_logs as
  select user_id, event_id, seq, task_id, event_type as action, summary, "timestamp" as created_at from events;

-- Down Migration
drop view activity_logs;
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
insert into activity_logs (user_id, event_id, seq, task_id, action, summary, created_at)
  select user_id, event_id, seq, task_id, event_type, summary, "timestamp" from events where summary is not null order by user_id, seq;
create index activity_logs_user on activity_logs (user_id, seq desc);
alter table events drop column summary, drop column task_id;
