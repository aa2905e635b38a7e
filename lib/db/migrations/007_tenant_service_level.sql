-- kpis.md: service level = sessions with wait <= T / (...), "T per tenant, default 60 s".
ALTER TABLE public.tenants
    ADD COLUMN IF NOT EXISTS service_level_seconds INTEGER NOT NULL DEFAULT 60;
DO $$
BEGIN
    ALTER TABLE public.tenants
        ADD CONSTRAINT ck_tenants_service_level_positive CHECK (service_level_seconds > 0);
EXCEPTION WHEN duplicate_object THEN
    NULL;
END
$$;
