-- Up Migration
-- The processors load a batch's state without locking and write its changes in one statement,
-- which ends by checking that no other batch changed the same users in between (their seq moved
-- on). When one did, this raises a serialization failure: the statement (and with it every write
-- of the batch) is undone, and the processors apply the batch again under the users' row locks.
create function batch_guard(unchanged boolean) returns void language plpgsql as $$
begin
  if not unchanged then
    raise exception 'another batch changed these users since this batch read them' using errcode = 'serialization_failure';
  end if;
end $$;

-- Down Migration
drop function batch_guard(boolean);
