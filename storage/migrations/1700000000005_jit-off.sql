-- Up Migration
-- taskstream's statements are short and run thousands of times a second; PostgreSQL's JIT compiles
-- any plan whose estimate passes jit_above_cost, which costs tens of milliseconds of CPU per
-- execution and saves nothing here (a profile at 1,000 writes/s spent a quarter of PostgreSQL's
-- CPU in LLVM). Off for this database's new sessions; a role that may not alter the database
-- leaves it as it is (then set `jit = off` for the database or the role yourself).
do $$
begin
  execute format('alter database %I set jit = off', current_database());
exception when insufficient_privilege then
  raise notice 'jit left as it is: this role may not alter database %', current_database();
end $$;

-- Down Migration
do $$
begin
  execute format('alter database %I reset jit', current_database());
exception when insufficient_privilege then
  null;
end $$;
