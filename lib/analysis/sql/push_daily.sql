-- Push counts per day and platform (rates are recomputed as Σ/Σ by the reader).
SELECT
    p.date,
    coalesce(p.platform, '(sin plataforma)') AS platform,
    sum(p.sent) AS sent,
    sum(p.delivered) AS delivered,
    sum(p.opened) AS opened,
    sum(p.clicks) AS clicks
FROM analytics.mart_push_daily AS p
WHERE p.date BETWEEN :date_from AND :date_to
GROUP BY 1, 2
ORDER BY 1, 2
