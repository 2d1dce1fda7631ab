-- Roles: newsmon_app (the pipeline: reads and writes the raw tables) and newsmon_analyst
-- (reads the analytics schema only).
--
-- Roles are cluster-wide while migrations run per database, and every test database is
-- cloned from a template in the same cluster: each role is created only when missing, and a
-- concurrent upgrade of another database that wins the race is not an error.
-- No password is written here. Both roles start NOLOGIN; `newsmon db upgrade` gives a role
-- LOGIN and a password when NEWSMON_APP_PASSWORD / NEWSMON_ANALYST_PASSWORD is set
-- (pipeline/roles.py). The grants themselves live in sql/views/999_grants.sql because the
-- analytics schema is dropped and rebuilt on every upgrade.

DO $roles$
DECLARE
    role_name text;
    may_create boolean;
BEGIN
    SELECT rolsuper OR rolcreaterole INTO may_create FROM pg_roles WHERE rolname = current_user;
    FOREACH role_name IN ARRAY ARRAY['newsmon_app', 'newsmon_analyst'] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name);
        IF NOT may_create THEN
            -- A managed database whose owner may not create roles: the pipeline still works
            -- as that owner; an administrator can create the roles and re-run the upgrade.
            RAISE WARNING 'newsmon: % cannot create role %; create it (NOLOGIN) and run newsmon db upgrade again',
                current_user, role_name;
            CONTINUE;
        END IF;
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by an upgrade of another database in this cluster
        END;
    END LOOP;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newsmon_analyst') THEN
        -- Long ad-hoc queries are cancelled instead of holding the pipeline's locks, and every
        -- analyst transaction is read-only (a second fence behind the missing grants).
        BEGIN
            ALTER ROLE newsmon_analyst SET statement_timeout = '60s';
            ALTER ROLE newsmon_analyst SET idle_in_transaction_session_timeout = '10min';
            ALTER ROLE newsmon_analyst SET default_transaction_read_only = on;
            ALTER ROLE newsmon_analyst SET search_path = analytics, public;
            ALTER ROLE newsmon_analyst CONNECTION LIMIT 20;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'newsmon: % may not alter role newsmon_analyst; set its statement_timeout (60s) and default_transaction_read_only (on) as an administrator',
                current_user;
        END;
    END IF;
END
$roles$;
