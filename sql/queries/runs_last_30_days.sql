-- Operators: scoring runs of the last 30 days, failures first, with their errors.
SELECT status, started_at, seconds, model_version, fixtures_seen, predictions_written,
       error
FROM run_history
WHERE started_at >= now() - INTERVAL 30 DAY
ORDER BY status = 'succeeded', started_at DESC;
