-- public.data_coverage (written by the extract, contract "Coverage of local days"): the complete
-- local days per entity and how far the data are loaded. Run only when the table exists.
SELECT entity, complete_from, complete_to, loaded_through
FROM public.data_coverage
WHERE tenant_id = :tenant
