-- segflow_bi.drift_reports: one row per published run and reference it was compared with, with plain columns (the
-- per-feature details stay as JSON in segflow.drift_reports).
create or replace view segflow_bi.drift_reports as
with published as (
    select run_id, as_of, attempt_id
    from segflow.run_attempts
    where status = 'published'
),

final as (
    select
        d.run_id,
        p.as_of,
        d.reference,
        d.reference_run as reference_run_id,
        k.as_of as reference_as_of,
        d.reference_model_version,
        d.compared_under_model,
        d.dataset_drift,
        d.drift_share,
        d.segment_psi,
        d.segment_js,
        d.html_path,
        d.created_at
    from segflow.drift_reports as d
    inner join published as p on p.run_id = d.run_id
    left join segflow.run_keys as k on k.run_id = d.reference_run
)

select * from final;
