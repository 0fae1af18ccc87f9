-- Hash aggregation over every transaction line is far faster than sorting; the limit is per operation
-- and lasts for this transaction only.
set local work_mem = '256MB'
