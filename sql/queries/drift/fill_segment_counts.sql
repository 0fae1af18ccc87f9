-- An attempt's exact customers per population (segflow.run_segment_counts), over ALL its customers, replacing what
-- an earlier scoring of it left: every segment key its customers carry, rule segments ('inactive', 'unscored')
-- included.
delete from segflow.run_segment_counts
where attempt_id = %(attempt_id)s;

with assignments as (
    select segment_key, model_version
    from segflow.segment_assignments
    where attempt_id = %(attempt_id)s
),

final as (
    select %(attempt_id)s::bigint as attempt_id, segment_key, max(model_version) as model_version, count(*) as customers
    from assignments
    group by segment_key
)

insert into segflow.run_segment_counts (attempt_id, segment_key, model_version, customers)
select attempt_id, segment_key, model_version, customers from final
