-- A run's segments: size, share and mean R/F/M, most valuable first, rule segments last.
with assignments as (
    select a.segment_key, a.segment_name, f.recency_days, f.frequency, f.monetary
    from segflow.segment_assignments as a
    left join segflow.customer_features as f on f.attempt_id = a.attempt_id and f.customer_id = a.customer_id
    where a.attempt_id = %(attempt_id)s
),

final as (
    select
        segment_key,
        segment_name,
        count(*) as customers,
        count(*)::double precision / sum(count(*)) over () as share,
        avg(recency_days)::double precision as mean_recency_days,
        avg(frequency)::double precision as mean_frequency,
        avg(monetary)::double precision as mean_monetary
    from assignments
    group by segment_key, segment_name
)

select * from final
order by segment_key !~ '^S[0-9]+$', length(segment_key), segment_key
