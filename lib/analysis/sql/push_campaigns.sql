-- Campaigns running in the window (or without dates), with their totals and league position.
SELECT
    c.campaign_id,
    c.campaign_name,
    c.channel,
    c.status,
    c.start_date,
    c.end_date,
    c.sent,
    c.delivered,
    c.opened,
    c.clicks,
    c.in_league,
    c.league_rank
FROM analytics.mart_campaign_performance AS c
WHERE (c.start_date IS NULL OR c.start_date <= :date_to)
  AND (c.end_date IS NULL OR c.end_date >= :date_from)
ORDER BY c.league_rank NULLS LAST, c.sent DESC NULLS LAST
