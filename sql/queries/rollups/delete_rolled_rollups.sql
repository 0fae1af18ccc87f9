-- The rolling customers' rows, recomputed next: looked up one by one in the primary key (a few percent of the rows;
-- a join hashes the rolling customers and reads every row instead).
delete from segflow.customer_window_rollups as r
where r.customer_id = any(array(select c.customer_id from rolling_customers as c))
