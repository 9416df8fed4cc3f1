-- Nexmark Q12
CREATE VIEW bidp AS SELECT *, PROCTIME() AS p_time FROM bid;
SELECT B.bidder, count(*) AS bid_count, window_start AS starttime, window_end AS endtime
FROM TABLE(TUMBLE(TABLE bidp, DESCRIPTOR(p_time), INTERVAL '10' SECOND)) B
GROUP BY B.bidder, window_start, window_end;
