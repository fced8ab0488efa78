-- Up Migration
-- Whether a recurring task moves when its user's timezone changes: true when it was created
-- without a timezone of its own, false when it was created with one (the task.created event's
-- timezone_defaulted). Null for tasks created before this was recorded: those in the user's
-- timezone move, as before. A nullable column without a default: no table rewrite.
alter table tasks add column follows_user_timezone boolean;

-- Down Migration
alter table tasks drop column follows_user_timezone;
