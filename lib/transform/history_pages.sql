-- The v2 history pages of the batch (ids only; the text is read one page at a time).
SELECT r.id
FROM raw.raw_chat_stats r
WHERE r.tenant_id = :tenant AND r.endpoint = '/v1/chat/history/csv'
  AND r.id > :lo_0 AND r.id <= :hi_0
  AND r.source_data ->> 'version' = '2'
ORDER BY r.id
