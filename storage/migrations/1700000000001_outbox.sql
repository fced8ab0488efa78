-- Up Migration
-- The fallback queue: events ingest accepted while the broker could not take them. The relay
-- (ingest/outbox-relay.ts) sends them oldest first and deletes each row only after the broker
-- acknowledged it; while a user has rows here, that user's new events queue behind them.
create table outbox (
  id          bigserial primary key,
  user_id     text        not null,
  event_id    uuid        not null unique,
  payload     bytea       not null,
  created_at  timestamptz not null default now()
);
create index outbox_user on outbox (user_id);

-- Down Migration
drop table outbox;
