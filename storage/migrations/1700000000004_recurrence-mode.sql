-- Up Migration
-- How a series makes its instances (CONTRACT.md "Recurring series"): `schedule` by the clock, or
-- `after_completion` (the next instance when the current one is completed). Existing rows are
-- `schedule`, as they behaved.
alter table tasks add column recurrence_mode text not null default 'schedule'
  check (recurrence_mode in ('schedule', 'after_completion'));
-- A series' instances (deleting a series takes its pending instances' reminders).
create index tasks_parent on tasks (parent_task_id) where parent_task_id is not null;

-- Down Migration
drop index tasks_parent;
alter table tasks drop column recurrence_mode;
