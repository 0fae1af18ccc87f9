-- What drift and the reports need of a run once its per-customer rows may be gone (issue 25): a fixed-size,
-- seeded sample of its customers with their features and segment, and exact counts per segment. Both are filled
-- once per scoring of an attempt (segflow.monitoring.run_sample, from score.finish) and pruned with the run's report
-- files (segflow.monitoring.retention), so they outlive the run's segment_assignments and customer_features.

-- The sample: the run's customers with the smallest sample_hash, the first 60 bits of md5(customer_id || seed), up
-- to SEGFLOW_DRIFT_SAMPLE of them. The same seed picks the same customers every night while they are customers
-- (a bottom-k sample), so 'previous' compares mostly the same people. The feature columns are customer_features'
-- own (a query written for that table reads this one); segment columns as the run's own model scored them.
-- No foreign key, like the other per-customer tables (010): only segflow writes these rows.
create table segflow.run_samples (
    attempt_id bigint not null,
    customer_id text not null,
    sample_hash bigint not null,
    segment_key text not null,
    segment_name text not null,
    model_version integer,
    recency_days integer,
    frequency integer,
    monetary numeric,
    tenure_days integer,
    avg_order_value numeric,
    return_rate numeric,
    attributes jsonb,
    primary key (attempt_id, customer_id)
);

-- Exact customers per population (segment key, rule segments included) of an attempt, over ALL its customers,
-- counted in the same pass: the shares drift compares, the 'inactive' count among them.
create table segflow.run_segment_counts (
    attempt_id bigint not null references segflow.run_attempts (attempt_id),
    segment_key text not null,
    model_version integer,
    customers bigint not null,
    primary key (attempt_id, segment_key)
);
