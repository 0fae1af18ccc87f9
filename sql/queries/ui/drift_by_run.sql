-- Every published run, newest first, with its drift reports (one row per reference; none: nulls): the inactive
-- share then and now and whether its rise was a verdict (null for reports stored before inactive counted, or
-- against a model with no training run), and the customers new since the reference.
with published as (
    select run_id, as_of, attempt_id, model_version, customers_known, published_at
    from segflow.runs
    where status = 'published'
),

final as (
    select
        p.run_id,
        p.as_of,
        p.model_version,
        p.customers_known,
        d.reference,
        d.reference_run,
        d.reference_model_version,
        d.dataset_drift,
        d.drift_share,
        d.segment_psi,
        d.html_path,
        (d.details -> 'inactive' ->> 'share_then')::double precision as inactive_then,
        (d.details -> 'inactive' ->> 'share_now')::double precision as inactive_now,
        (d.details -> 'inactive' ->> 'risen')::boolean as inactive_risen,
        (d.details ->> 'new_since_reference')::bigint as new_since_reference,
        (d.details ->> 'customers_now')::bigint as customers_now
    from published as p
    left join segflow.drift_reports as d on d.run_id = p.run_id
)

select * from final
order by as_of desc, run_id desc, reference
