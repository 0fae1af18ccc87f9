-- The planner's row count for the roll's customers (a temporary table has no statistics until analyzed).
analyze rolling_customers
