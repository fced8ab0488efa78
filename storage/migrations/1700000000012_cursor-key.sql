-- Up Migration
-- The key list cursors are signed with when tokens come from a JWKS server (no secret of the
-- deployment's own to derive it from): random, made once, shared by every ingest replica.
create table cursor_key (
  id smallint primary key default 1 check (id = 1),
  key text not null
);
insert into cursor_key (key) values (gen_random_uuid()::text || gen_random_uuid()::text);

-- Down Migration
drop table cursor_key;
