-- One player's prediction record: every settled prediction involving them, how often
-- AceBet picked the right winner and its log loss. Set the player first:
--   SET VARIABLE player = 'Jannik Sinner';
SELECT
    count(*) AS matches,
    sum(CASE WHEN winner_id = pid THEN 1 ELSE 0 END) AS won,
    round(avg(CASE WHEN correct THEN 1.0 ELSE 0.0 END), 3) AS acebet_accuracy,
    round(avg(log_loss), 4) AS acebet_log_loss,
    round(avg(CASE WHEN p1_id = pid THEN p1_win_prob ELSE 1 - p1_win_prob END), 3)
        AS mean_win_prob_given
FROM (
    SELECT o.*, CASE WHEN o.p1_name = getvariable('player') THEN o.p1_id ELSE o.p2_id END
        AS pid
    FROM prediction_outcomes o
    WHERE o.settled AND getvariable('player') IN (o.p1_name, o.p2_name)
);
