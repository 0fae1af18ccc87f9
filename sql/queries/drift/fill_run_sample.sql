-- An attempt's sample (segflow.run_samples), replacing what an earlier scoring of it left: its customers with the
-- smallest hash of (customer_id, seed), %(rows)s of them (all when fewer), with their features and segment as the
-- attempt's model scored them. The hash is md5's first 60 bits as a bigint (non-negative, in md5's own order), so
-- the same customers are chosen every night while they are customers. Every customer is hashed, and a top-N heap
-- keeps only %(rows)s rows in memory: nothing sorts the run.
delete from segflow.run_samples
where attempt_id = %(attempt_id)s;

with assignments as (
    select
        customer_id, segment_key, segment_name, model_version,
        ('x' || substr(md5(customer_id || %(seed)s), 1, 15))::bit(60)::bigint as sample_hash
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

chosen as (
    select customer_id, segment_key, segment_name, model_version, sample_hash
    from assignments
    order by sample_hash, customer_id
    limit %(rows)s
),

final as (
    select
        %(attempt_id)s::bigint as attempt_id, c.customer_id, c.sample_hash, c.segment_key, c.segment_name,
        c.model_version, f.recency_days, f.frequency, f.monetary, f.tenure_days, f.avg_order_value, f.return_rate,
        f.attributes
    from chosen as c
    -- One primary-key lookup per sampled customer, whatever the run's size (the limit keeps the planner from
    -- reading and hashing all the run's features instead).
    left join lateral (
        select recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate, attributes
        from segflow.customer_features
        where attempt_id = %(attempt_id)s and customer_id = c.customer_id
        limit 1
    ) as f on true
)

insert into segflow.run_samples (
    attempt_id, customer_id, sample_hash, segment_key, segment_name, model_version, recency_days, frequency,
    monetary, tenure_days, avg_order_value, return_rate, attributes
)
select
    attempt_id, customer_id, sample_hash, segment_key, segment_name, model_version, recency_days, frequency,
    monetary, tenure_days, avg_order_value, return_rate, attributes
from final
