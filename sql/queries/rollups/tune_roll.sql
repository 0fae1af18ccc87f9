-- For the rest of a roll's transaction: the rolling customers are a few percent of all, and their rows are found
-- through the customer indexes; with the default random_page_cost (4, a spinning disk's) the planner reads every
-- row of the window and of the rollups instead (measured at 100k customers: 372 -> 186 ms). Room to aggregate in
-- memory too.
set local random_page_cost = 1.1;
set local work_mem = '64MB'
