-- Two scratch tables shaped like segflow.customer_features: the features from the aggregates and the full
-- recompute from every line, for `segflow rebuild --check`.
create temp table features_from_aggregates (like segflow.customer_features) on commit drop;
create temp table features_from_lines (like segflow.customer_features) on commit drop
