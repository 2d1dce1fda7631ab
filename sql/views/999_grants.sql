-- Grants, re-issued after every upgrade: the analytics schema was just dropped and rebuilt,
-- and migrations may have added tables. Runs last (999). Roles come from
-- sql/migrations/0006_roles.sql; a role that is missing (an owner without CREATEROLE) is skipped.
--
-- newsmon_analyst: USAGE on analytics, SELECT on its views, EXECUTE on its functions. Nothing
--   in public: the views and SECURITY DEFINER functions read the raw tables with their
--   owner's rights, so the analyst never needs (or gets) a grant on a raw table.
-- newsmon_app: what the pipeline needs: read/write on the raw tables, the sequences, and
--   reads of analytics (the digest); schema_migrations is read-only to it (upgrades are run
--   by the schema owner).
DO $grants$
BEGIN
    REVOKE ALL ON SCHEMA analytics FROM PUBLIC;
    REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics FROM PUBLIC;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newsmon_analyst') THEN
        GRANT USAGE ON SCHEMA analytics TO newsmon_analyst;
        GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO newsmon_analyst;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO newsmon_analyst;
    END IF;

    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newsmon_app') THEN
        GRANT USAGE ON SCHEMA public, analytics TO newsmon_app;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO newsmon_app;
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO newsmon_app;
        IF to_regclass('public.schema_migrations') IS NOT NULL THEN
            REVOKE INSERT, UPDATE, DELETE ON public.schema_migrations FROM newsmon_app;
        END IF;
        GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO newsmon_app;
        GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO newsmon_app;
    END IF;
END
$grants$;
