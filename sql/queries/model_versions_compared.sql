-- Model versions side by side on settled predictions: accuracy, log loss, Brier and
-- calibration error overall and by surface.
SELECT model_version, dimension, value, n,
       round(accuracy, 3) AS accuracy, round(log_loss, 4) AS log_loss,
       round(brier, 4) AS brier, round(calibration_error, 4) AS calibration_error
FROM model_performance
WHERE dimension IN ('all', 'surface')
ORDER BY dimension, value, model_version;
