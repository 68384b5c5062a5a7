-- Least-privilege PostgreSQL roles for Skewless: the gateway and the materializer may read and write what
-- their work needs, and PostgreSQL refuses everything else. docs/database-roles.md explains each grant;
-- test/integration/database-roles.test.ts runs this file as it is, then does each role's work as that role
-- and checks that PostgreSQL itself refuses the writes a role must not make.
--
-- Run it with psql, as the owner of schema skewless (the login that created its tables), once the tables
-- exist, and again after every schema change that adds a view or a source: it grants on the tables present
-- when it runs. Running it again changes nothing else. No password is set here: give each role one (or
-- another authentication method) yourself.

-- Two login roles with no attribute beyond LOGIN: no superuser, no CREATEDB, no CREATEROLE, no
-- replication, no row-level-security bypass, and no inherited membership in any other role.
do $$
begin
  if not exists (select from pg_roles where rolname = 'skewless_gateway') then
    create role skewless_gateway login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'skewless_materializer') then
    create role skewless_materializer login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls;
  end if;
end $$;

-- Only owners create objects in schema public (PostgreSQL 15's default; older servers let anyone).
revoke create on schema public from public;

grant usage on schema skewless to skewless_gateway, skewless_materializer;

-- Table privileges by table name, for the tables skewless holds now. A sequence gets USAGE for each role
-- that may insert into the table it numbers (history_<view>__seq_seq, parity_samples_id_seq, …).
do $$
declare
  rel record;
  g record;
begin
  for rel in
    select c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'skewless' and c.relkind in ('r', 'p', 'S')
  loop
    for g in
      select * from (values
        -- table (LIKE pattern)  gateway                           materializer
        ('history\_%',           'select, insert',                 'select, insert'),
        ('events\_%',            'select',                         'select, insert'),
        ('archive\_marks',       'select',                         'select, insert, update'),
        ('tiles\_%',             'select',                         'select, insert, update, delete'),
        ('slices\_%',            'select',                         'select, insert, update, delete'),
        ('heads\_%',             'select',                         'select, insert, delete'),
        ('consumer\_offsets',    '',                               'select, insert, update'),
        ('dead\_letters',        '',                               'insert'),
        ('online\_owed',         '',                               'select, insert, delete'),
        ('online\_outbox',       '',                               'select, insert, update, delete'),
        ('parity\_samples%',     'select, insert, update, delete', ''),
        ('parity\_results',      'select, insert',                 ''),
        ('quality\_references%', 'select, insert',                 ''),
        -- Which schema version was applied: a start with the same one runs no DDL.
        ('schema\_applied',     'select',                         'select')
      ) as t(pattern, gateway, materializer)
      where rel.relname like t.pattern
      limit 1
    loop
      if rel.relkind = 'S' then
        if g.gateway like '%insert%' then execute format('grant usage on sequence skewless.%I to skewless_gateway', rel.relname); end if;
        if g.materializer like '%insert%' then execute format('grant usage on sequence skewless.%I to skewless_materializer', rel.relname); end if;
      else
        if g.gateway <> '' then execute format('grant %s on skewless.%I to skewless_gateway', g.gateway, rel.relname); end if;
        if g.materializer <> '' then execute format('grant %s on skewless.%I to skewless_materializer', g.materializer, rel.relname); end if;
      end if;
    end loop;
  end loop;
end $$;

-- The tables training jobs name in entitySql are yours to grant, for reading only, to the gateway alone:
--   grant usage on schema <schema> to skewless_gateway;
--   grant select on <schema>.<labels table> to skewless_gateway;
