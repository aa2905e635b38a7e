-- Whether public.data_coverage exists here (it is optional: the dashboards fall back without it).
SELECT to_regclass('public.data_coverage') IS NOT NULL AS present
