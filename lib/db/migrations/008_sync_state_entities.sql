-- sync_state.entity is the table an endpoint feeds, else its raw table's subject. Rows written under
-- the earlier per-endpoint names are folded in: device stats keep their cursor as push_stats; the
-- others were snapshots or parts of sms_stats, whose next run writes the merged row again.
UPDATE public.sync_state AS s
SET entity = 'push_stats', updated_at = now()
WHERE s.entity = 'device_stats'
  AND NOT EXISTS (
      SELECT 1 FROM public.sync_state p WHERE p.tenant_id = s.tenant_id AND p.entity = 'push_stats'
  );
DELETE FROM public.sync_state
WHERE entity IN ('device_stats', 'chat_agent_status', 'chat_config', 'chat_topics', 'chat_integrations',
                 'sms_campaigns', 'sms_sends');
