-- Calibration by probability bucket: of the matches given 60-70% to the favourite, did
-- the favourite win 60-70% of them? Settled predictions of the active model.
SELECT
    floor(favourite_prob * 10) / 10 AS bucket_from,
    floor(favourite_prob * 10) / 10 + 0.1 AS bucket_to,
    count(*) AS matches,
    round(avg(favourite_prob), 3) AS predicted,
    round(avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), 3) AS observed
FROM (
    SELECT o.*, greatest(o.p1_win_prob, 1 - o.p1_win_prob) AS favourite_prob
    FROM prediction_outcomes o
    JOIN models m ON m.model_version = o.model_version AND m.is_active
    WHERE o.settled
)
GROUP BY ALL
ORDER BY bucket_from;
