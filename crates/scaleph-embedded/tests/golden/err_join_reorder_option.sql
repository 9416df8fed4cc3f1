SET 'table.optimizer.join-reorder-enabled' = 'maybe';
SELECT 1;
-- ---- expected ----
-- error: 1:1: 'table.optimizer.join-reorder-enabled' must be true or false, found 'maybe'
