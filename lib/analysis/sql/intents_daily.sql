-- Daily fallback numerator and denominator (fallback rate = Σfallback ÷ Σinbound answered by the bot).
SELECT
    k.date,
    coalesce(k.channel, '(sin canal)') AS channel,
    sum(k.fallback_count) AS fallback_count,
    sum(k.bot_answered_inbound) AS bot_answered_inbound,
    sum(k.inbound_messages) AS inbound_messages
FROM analytics.mart_daily_kpis AS k
WHERE k.date BETWEEN :date_from AND :date_to
  AND (CAST(:channel AS text) = 'all' OR k.channel = CAST(:channel AS text))
GROUP BY 1, 2
ORDER BY 1, 2
